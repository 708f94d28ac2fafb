"""Weights: a named, mutable array with a stable object identity."""
import numpy as np


class Variable:
    """A layer weight. The object stays the same for the layer's lifetime; only its value changes."""

    def __init__(self, value, name, trainable=True):
        self._value = np.array(value, dtype="float32")
        self.name = name
        self.trainable = trainable

    @property
    def value(self):
        return self._value

    @property
    def shape(self):
        return self._value.shape

    @property
    def dtype(self):
        return str(self._value.dtype)

    def assign(self, value):
        value = np.asarray(value, dtype=self._value.dtype)
        if value.shape != self._value.shape:
            raise ValueError(
                f"Cannot assign a value of shape {value.shape} to variable '{self.name}' "
                f"of shape {self._value.shape}"
            )
        self._value = value.copy()

    def numpy(self):
        return self._value.copy()

    def __array__(self, dtype=None, copy=None):
        return self._value if dtype is None else self._value.astype(dtype)

    def __repr__(self):
        return f"<Variable {self.name} shape={self.shape} trainable={self.trainable}>"
