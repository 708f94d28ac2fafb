"""Faults of the Propagation area (suites/test_train_propagation.py)."""

from __future__ import annotations

import contextlib

from layercontract.reference_impl.faults._machinery import R, _rewrite, _wrap, fault


@fault("TRAIN.PROPAGATES_TO_NESTED", "TRAIN.FIT_IS_TRAINING")
def training_not_propagated():
    """A layer called without `training` does not inherit the value of the enclosing call.

    Breaks: `model(x, training=True)` must reach nested Dropout/BN called without it
    (TRAIN.PROPAGATES_TO_NESTED, TRAIN.FIT_IS_TRAINING).
    """
    _rewrite(R.context, "resolve_training", ("if ctx.training is not None:", "if False:  # FAULT"))


@fault("TRAIN.PROPAGATES_TO_NESTED")
def training_dropped_by_call_without_param():
    """A `training` value given to a layer whose `call` has no `training` parameter is discarded.

    Breaks: the value must still reach the nested layers through the call context
    (TRAIN.PROPAGATES_TO_NESTED).
    """
    _rewrite(
        R.layer.Layer,
        "__call__",
        (
            "training = context.resolve_training(ctx, explicit, default)",
            "training = context.resolve_training(ctx, explicit if param is not None else {}, default)  # FAULT",
        ),
    )


@fault(
    "TRAIN.OMITTED_IS_NONE",
    "CALL.MODEL_CONDITIONAL_TRAINING",
    "TRAIN.DROPOUT_INFERENCE_IDENTITY",
    "TRAIN.BN_INFERENCE",
    upstream="torch.nn.Module starts in train mode",
)
def omitted_training_treated_as_true():
    """When `training` is omitted everywhere, layers run in training mode.

    Breaks: eager calls default to inference (TRAIN.OMITTED_IS_NONE,
    CALL.MODEL_CONDITIONAL_TRAINING, TRAIN.DROPOUT_INFERENCE_IDENTITY, TRAIN.BN_INFERENCE).
    """
    _rewrite(
        R.context,
        "resolve_training",
        ("return signature_default", "return True if signature_default is None else signature_default  # FAULT"),
    )


@fault("TRAIN.OMITTED_IS_NONE")
def omitted_training_becomes_false():
    """When `training` is omitted everywhere, nested layers receive False instead of None.

    Breaks: TRAIN.OMITTED_IS_NONE (code that tells 'not given' from 'inference' sees False).
    """
    _rewrite(
        R.context,
        "resolve_training",
        ("return signature_default", "return False if signature_default is None else signature_default  # FAULT"),
    )


@fault("TRAIN.OMITTED_IS_NONE")
def training_context_leaks_across_calls():
    """The call context is never cleared: a later top-level call inherits the last `training`.

    Like a global learning phase left set. Breaks: a top-level call without `training` must
    start from None (TRAIN.OMITTED_IS_NONE).
    """
    _rewrite(
        R.context,
        "call_context",
        ("if created:\n            _current = None", "pass  # FAULT: context kept"),
        decorate=contextlib.contextmanager,
    )


@fault("TRAIN.INNER_EXPLICIT_WINS", "TRAIN.INNER_EXPLICIT_SCOPE.K3")
def inner_explicit_training_overridden_by_outer():
    """An inner call's explicit `training=` is ignored when the enclosing call has a value.

    Breaks: the explicit value must win for that call (TRAIN.INNER_EXPLICIT_WINS).
    """
    _rewrite(
        R.context,
        "resolve_training",
        ('if "training" in explicit_kwargs:', 'if "training" in explicit_kwargs and ctx.training is None:  # FAULT'),
    )


@fault(
    "TRAIN.INNER_EXPLICIT_SCOPE.K3",
    upstream="tf-keras restores the call-context training value on exit (clause TRAIN.INNER_EXPLICIT_SCOPE.K2)",
)
def inner_explicit_training_scoped_to_call():
    """An inner explicit `training=` applies to that call only; later siblings get the outer value.

    The tf-keras behaviour. Breaks: Keras 3 writes it to the shared context, so later siblings
    inherit it (TRAIN.INNER_EXPLICIT_SCOPE.K3).
    """
    context = R.context

    def make(original):
        def __call__(self, *args, **kwargs):
            ctx = context._current
            if ctx is None or "training" not in kwargs:
                return original(self, *args, **kwargs)
            saved = ctx.training
            try:
                return original(self, *args, **kwargs)
            finally:
                ctx.training = saved  # FAULT: restored on exit

        return __call__

    _wrap(R.layer.Layer, "__call__", make)


@fault("TRAIN.SIGNATURE_DEFAULT")
def signature_default_overridden_by_none():
    """`__call__` ignores the `training` default of `call`'s signature and passes None explicitly.

    A port that resolves `training` without looking at the signature and always forwards it.
    Breaks: a layer declaring `training=True` (or False) must receive its own default when
    nothing is given (TRAIN.SIGNATURE_DEFAULT).
    """
    _rewrite(
        R.layer.Layer,
        "__call__",
        (
            "default = None if param is None or param.default is inspect.Parameter.empty else param.default",
            "default = None  # FAULT: signature default ignored",
        ),
        ("if param is not None and training is not None:", "if param is not None:  # FAULT"),
    )


@fault(
    "TRAIN.SIGNATURE_DEFAULT_LOCAL", upstream="keras 3.15.1 _resolve_and_populate_arg, fixed by keras-team/keras#23166"
)
def signature_default_written_to_context():
    """A layer's signature default is written to the shared call context, like an explicit value.

    The Keras 3.15.1 behaviour. Breaks: siblings called later without `training` must get their
    own default, not the first layer's (TRAIN.SIGNATURE_DEFAULT_LOCAL).
    """
    _rewrite(
        R.context,
        "resolve_training",
        ("    return signature_default", "    ctx.training = signature_default  # FAULT\n    return signature_default"),
    )
