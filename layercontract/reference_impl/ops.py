"""The ops custom layers need. Eager inputs are float32 numpy arrays; symbolic inputs
propagate shapes only. Differentiable ops record themselves on the autodiff tape."""

import numpy as np

from layercontract.reference_impl import autodiff
from layercontract.reference_impl.symbolic import SymbolicTensor, is_symbolic
from layercontract.reference_impl.variables import Variable


def _value(x):
    return x.value if isinstance(x, Variable) else x


def _broadcast_shape(a, b):
    """numpy broadcasting of two shapes in which `None` (unknown) may appear."""
    a = a.shape if is_symbolic(a) else np.shape(_value(a))
    b = b.shape if is_symbolic(b) else np.shape(_value(b))
    rank = max(len(a), len(b))
    a, b = (1,) * (rank - len(a)) + tuple(a), (1,) * (rank - len(b)) + tuple(b)
    out = []
    for da, db in zip(a, b):
        if da == 1:
            out.append(db)
        elif db == 1 or db is None or da == db:
            out.append(da)
        elif da is None:
            out.append(db)
        else:
            raise ValueError(f"Cannot broadcast shapes {a} and {b}")
    return tuple(out)


def is_tensor(x):
    return isinstance(x, np.ndarray)


def matmul(a, b):
    if is_symbolic(a) or is_symbolic(b):
        return SymbolicTensor(tuple(a.shape[:-1]) + tuple(b.shape[-1:]))
    av, bv = _value(a), _value(b)
    out = np.matmul(av, bv)
    out = out.astype(np.result_type(av, bv), copy=False)  # numpy's bfloat16 matmul returns float32
    return autodiff.record(
        out,
        [a, b],
        lambda g: [
            np.matmul(g, np.swapaxes(bv, -1, -2)),
            np.matmul(av.reshape(-1, av.shape[-1]).T, g.reshape(-1, g.shape[-1])),
        ],
    )


def add(a, b):
    if is_symbolic(a) or is_symbolic(b):
        return SymbolicTensor(_broadcast_shape(a, b))
    av, bv = np.asarray(_value(a)), np.asarray(_value(b))
    out = av + bv
    return autodiff.record(
        out, [a, b], lambda g: [autodiff.unbroadcast(g, av.shape), autodiff.unbroadcast(g, bv.shape)]
    )


def multiply(a, b):
    if is_symbolic(a) or is_symbolic(b):
        return SymbolicTensor(_broadcast_shape(a, b))
    av, bv = np.asarray(_value(a)), np.asarray(_value(b))
    out = av * bv
    return autodiff.record(
        out,
        [a, b],
        lambda g: [autodiff.unbroadcast(g * bv, av.shape), autodiff.unbroadcast(g * av, bv.shape)],
    )


def relu(x):
    if is_symbolic(x):
        return SymbolicTensor(x.shape, x.dtype)
    xv = _value(x)
    out = np.maximum(xv, 0).astype(xv.dtype)
    return autodiff.record(out, [x], lambda g: [g * (xv > 0)])


def concatenate(xs, axis=-1):
    if any(is_symbolic(x) for x in xs):
        ref = list(xs[0].shape)
        sizes = [x.shape[axis] for x in xs]
        ref[axis] = None if None in sizes else sum(sizes)
        return SymbolicTensor(tuple(ref))
    values = [np.asarray(_value(x)) for x in xs]
    out = np.concatenate(values, axis=axis)
    splits = np.cumsum([v.shape[axis] for v in values])[:-1]
    return autodiff.record(out, list(xs), lambda g: np.split(g, splits, axis=axis))
