"""Symbolic tensors: a shape and a dtype, no data. `Input` makes one with a `None` batch."""

import numpy as np


class SymbolicTensor:
    # Make numpy defer to our reflected operators (`ndarray + SymbolicTensor`).
    __array_ufunc__ = None

    def __init__(self, shape, dtype="float32", name=None):
        self.shape = tuple(None if d is None else int(d) for d in shape)
        self.dtype = str(np.dtype(dtype))
        self.name = name
        self.node = None  # the Node (layer call) that produced it; None for an Input

    @property
    def ndim(self):
        return len(self.shape)

    def __repr__(self):
        return f"<SymbolicTensor shape={self.shape} dtype={self.dtype}>"

    # Operators delegate to ops so that custom layers can write `x + b` symbolically too.
    def __add__(self, other):
        from layercontract.reference_impl import ops

        return ops.add(self, other)

    __radd__ = __add__

    def __mul__(self, other):
        from layercontract.reference_impl import ops

        return ops.multiply(self, other)

    __rmul__ = __mul__


def is_symbolic(x):
    return isinstance(x, SymbolicTensor)


def Input(shape, batch_size=None, dtype="float32", name=None):
    """A symbolic model input; the batch dimension is `None` unless `batch_size` is given."""
    return SymbolicTensor((batch_size, *shape), dtype=dtype, name=name)


class Node:
    """One layer call on symbolic tensors, recorded for functional models: the layer, its
    arguments (with the symbolic tensors in place), the `training` value given at construction
    (`pinned`, if any) and the symbolic outputs."""

    def __init__(self, layer, args, kwargs, pinned, outputs):
        self.layer, self.args, self.kwargs, self.pinned, self.outputs = layer, args, kwargs, pinned, outputs
