"""The call context: how a `training` value reaches nested layers.

Keras 3 semantics (keras/src/layers/layer.py, `_resolve_and_populate_arg`), in priority:
1. `training` passed explicitly to this call (even `None`);
2. else the value in the shared call context, if not `None`;
3. else the default of the `training` parameter in this layer's `call` signature.
The resolved value is written back into the shared context, which lives from the outermost
`__call__` until it returns. Consequence (observed in Keras 3.15.1, clause
TRAIN.INNER_EXPLICIT_SCOPE.K3): an explicit inner `training=` is inherited by layers called
after it within the same outer call.
"""
import contextlib


class CallContext:
    def __init__(self, entry_layer):
        self.entry_layer = entry_layer
        self.training = None


_current = None


@contextlib.contextmanager
def call_context(layer):
    """Enter the shared context, creating it if `layer` is the outermost call."""
    global _current
    created = _current is None
    if created:
        _current = CallContext(layer)
    try:
        yield _current
    finally:
        if created:
            _current = None


def resolve_training(ctx, explicit_kwargs, signature_default):
    if "training" in explicit_kwargs:
        value = explicit_kwargs["training"]
    elif ctx.training is not None:
        value = ctx.training
    else:
        value = signature_default
    ctx.training = value
    return value
