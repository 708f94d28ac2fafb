"""Faults of the training flag through other entry points (suites/test_train_entry_points.py):
Sequential, stateless_call, recompiling after a `trainable` change."""

from __future__ import annotations

from layercontract.reference_impl.faults._machinery import R, _rewrite, fault


@fault("TRAIN.SEQUENTIAL_FORWARDS_TRAINING")
def sequential_call_without_training():
    """`Sequential.call(self, inputs)` has no `training` parameter (its layers are called without it).

    Breaks: a Keras 3 train step calls a model whose call lacks `training` without it, so under
    `train_on_batch` the Sequential's Dropout and BatchNormalization run in inference
    (TRAIN.SEQUENTIAL_FORWARDS_TRAINING).
    """
    _rewrite(
        R.model.Sequential,
        "call",
        ("def call(self, inputs, training=None):", "def call(self, inputs):  # FAULT"),
        ("x = layer(x, training=training) if", "x = layer(x) if"),
    )


@fault("TRAIN.STATELESS_CALL_RETURNS_UPDATED_STATS")
def stateless_call_returns_given_state():
    """`stateless_call` returns the non-trainable values it was given, not the ones after the call.

    Breaks: a jax-style loop never sees BatchNormalization's updated moving statistics
    (TRAIN.STATELESS_CALL_RETURNS_UPDATED_STATS).
    """
    _rewrite(
        R.layer.Layer,
        "stateless_call",
        ("updated = [v.numpy() for v in non_trainable]", "updated = list(non_trainable_variables)  # FAULT"),
    )


@fault("TRAIN.STATELESS_CALL_PROPAGATES", upstream="keras-team/keras#23364 (Keras 3 before 3.16)")
def stateless_call_bypasses_call_context():
    """`stateless_call` runs `self.call(...)` directly instead of going through `__call__`.

    The Keras 3.15 bug. Breaks: nested layers get training=None (BatchNormalization does not
    update) and a model whose call lacks `training` raises TypeError (TRAIN.STATELESS_CALL_PROPAGATES).
    """
    _rewrite(
        R.layer.Layer,
        "stateless_call",
        ("outputs = self(*args, **kwargs)", "outputs = self.call(*args, **kwargs)  # FAULT"),
    )


@fault(
    "TRAIN.TRAINABLE_RECOMPILE",
    upstream="keras-tensorflow: the traced train step keeps the trainable variables of its first fit",
)
def compile_keeps_first_trainable_variables():
    """`compile` keeps the trainable variables the first `fit` used instead of taking them afresh.

    Breaks: after freezing a layer and recompiling, `fit` still updates it
    (TRAIN.TRAINABLE_RECOMPILE).
    """
    _rewrite(R.model.Model, "compile", ("self._train_variables = None", "pass  # FAULT"))


@fault("TRAIN.MODE_IS_PER_CALL", upstream="tensorflow/tensorflow#22555 (PyTorch-style train()/eval() asked for)")
def model_remembers_its_last_training_value():
    """The outermost layer keeps the last `training` value it was given and uses it for calls without one.

    A PyTorch-style `model.train()` / `model.eval()` state. Breaks: after `model(x, training=True)`
    or `fit`, `model(x)` keeps dropping and updating BatchNormalization (TRAIN.MODE_IS_PER_CALL).
    """
    _rewrite(
        R.layer.Layer,
        "__call__",
        (
            "training = context.resolve_training(ctx, explicit, default)\n",
            "if ctx.entry_layer is self and 'training' not in explicit:  # FAULT: a remembered mode\n"
            "            ctx.training = getattr(self, '_mode', None)\n"
            "        training = context.resolve_training(ctx, explicit, default)\n"
            "        if ctx.entry_layer is self and explicit.get('training') is not None:\n"
            "            self._mode = explicit['training']\n",
        ),
    )


@fault(
    "TRAIN.CUSTOM_LOOP_UPDATES_BATCHNORM",
    upstream="Keras 1 / TF 1 graph mode: BatchNormalization's updates were separate ops (model.updates, UPDATE_OPS)",
)
def batchnorm_updates_deferred_to_the_train_step():
    """While a gradient tape records, BatchNormalization queues its moving-statistics update on
    the tape instead of applying it, and only `train_on_batch` (so `fit`) applies the queue.

    Breaks: a custom training loop's recorded call with training=True leaves the moving
    statistics unchanged (TRAIN.CUSTOM_LOOP_UPDATES_BATCHNORM), while eager calls and `fit` still update them.
    """
    _rewrite(
        R.layers.BatchNormalization,
        "call",
        (
            "moving.assign(self.momentum * moving.value + (1.0 - self.momentum) * batch)",
            "update = self.momentum * moving.value + (1.0 - self.momentum) * batch\n"
            "            if autodiff._active_tape is not None:  # FAULT: deferred, as Keras 1's model.updates\n"
            "                vars(autodiff._active_tape).setdefault('updates', []).append((moving, update))\n"
            "            else:\n"
            "                moving.assign(update)",
        ),
    )
    _rewrite(
        R.model.Model,
        "train_on_batch",
        (
            "self.optimizer.apply(grads, variables)",
            "self.optimizer.apply(grads, variables)\n"
            "    for moving, update in vars(tape).get('updates', []):  # FAULT: the deferred updates\n"
            "        moving.assign(update)",
        ),
    )
