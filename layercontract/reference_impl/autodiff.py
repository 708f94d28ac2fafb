"""A minimal reverse-mode tape, active only inside a training step.

Ops and built-in layers record `(output, inputs, vjp)`; `gradients` walks the records
backwards. Arrays are keyed by `id`: the tape holds every recorded array alive, so ids
cannot be reused while it is open. An op that returns its input object unchanged
(e.g. Dropout in inference) needs no record: the gradient flows through the same key.
"""

import contextlib

import numpy as np

from layercontract.reference_impl.variables import Variable

_active_tape = None


class Tape:
    def __init__(self):
        self.records = []

    def gradients(self, output, output_grad, variables):
        grads = {id(output): output_grad}
        for out, inputs, vjp in reversed(self.records):
            g = grads.pop(id(out), None)
            if g is None:
                continue
            for x, gx in zip(inputs, vjp(g)):
                if gx is None or not isinstance(x, (np.ndarray, Variable)):
                    continue
                key = id(x)
                grads[key] = grads[key] + gx if key in grads else gx
        return [grads.get(id(v), np.zeros(v.shape, dtype="float32")) for v in variables]


@contextlib.contextmanager
def tape():
    global _active_tape
    previous, _active_tape = _active_tape, Tape()
    try:
        yield _active_tape
    finally:
        _active_tape = previous


def record(output, inputs, vjp):
    if _active_tape is not None:
        _active_tape.records.append((output, inputs, vjp))
    return output


def unbroadcast(grad, shape):
    """Sum `grad` down to `shape`, undoing numpy broadcasting."""
    while grad.ndim > len(shape):
        grad = grad.sum(axis=0)
    for axis, size in enumerate(shape):
        if size == 1 and grad.shape[axis] != 1:
            grad = grad.sum(axis=axis, keepdims=True)
    return grad
