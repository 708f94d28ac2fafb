"""The call context: how a `training` value reaches nested layers.

Keras 3 semantics (keras/src/layers/layer.py, `_resolve_and_populate_arg`, as of
keras-team/keras#23166), in priority:
1. `training` passed explicitly to this call (even `None`): written to the shared context;
2. else the value in the shared call context, if not `None`;
3. else the default of the `training` parameter in this layer's `call` signature, which stays
   local to this call (clause TRAIN.SIGNATURE_DEFAULT_LOCAL).
The shared context lives from the outermost `__call__` until it returns. Consequence (clause
TRAIN.INNER_EXPLICIT_SCOPE.K3): an explicit inner `training=` is inherited by layers called
after it within the same outer call. A functional model resets the context to its own value
before each node (model.py), so a construction-time value stays with its node
(TRAIN.FUNCTIONAL_PINNED_IS_LOCAL).
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


def current():
    """The shared context of the call in progress (None outside any call)."""
    return _current


def resolve_training(ctx, explicit_kwargs, signature_default):
    if "training" in explicit_kwargs:
        ctx.training = explicit_kwargs["training"]
        return ctx.training
    if ctx.training is not None:
        return ctx.training
    return signature_default
