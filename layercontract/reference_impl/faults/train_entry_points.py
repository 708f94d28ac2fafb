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
