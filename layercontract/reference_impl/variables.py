"""Weights: a named, mutable array with a stable object identity."""

import contextlib

import numpy as np


def numpy_dtype(name: str) -> np.dtype:
    """The numpy dtype of a Keras dtype name. numpy has no bfloat16 of its own (mixed_bfloat16):
    ml_dtypes registers it when imported, and only then, since importing it costs more than
    starting the reference backend without it."""
    try:
        return np.dtype(name)
    except TypeError:
        import ml_dtypes  # noqa: F401  registers bfloat16 with numpy

        return np.dtype(name)


def is_floating(dtype) -> bool:
    """A floating dtype, bfloat16 included (ml_dtypes' bfloat16 is no numpy floating subtype)."""
    dtype = np.dtype(dtype)
    return dtype.name == "bfloat16" or np.issubdtype(dtype, np.floating)


# The compute dtype a layer's `call` reads its autocast variables in (Keras 3's AutocastScope):
# set by Layer.__call__ under a mixed policy such as "mixed_float16" (DTYPE.MIXED_POLICY).
_autocast_dtype = None


@contextlib.contextmanager
def autocast_scope(dtype):
    global _autocast_dtype
    previous, _autocast_dtype = _autocast_dtype, dtype
    try:
        yield
    finally:
        _autocast_dtype = previous


class Variable:
    """A layer weight. The object stays the same for the layer's lifetime; only its value changes."""

    def __init__(self, value, name, trainable=True, dtype="float32", autocast=True):
        self._value = np.array(value, dtype=dtype)
        self.name = name
        self.trainable = trainable
        self.autocast = autocast

    @property
    def value(self):
        """The value; inside an autocast scope a floating autocast variable reads in its dtype."""
        if self.autocast and _autocast_dtype is not None and is_floating(self._value.dtype):
            return self._value.astype(_autocast_dtype)
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
                f"Cannot assign a value of shape {value.shape} to variable '{self.name}' of shape {self._value.shape}"
            )
        self._value = value.copy()

    def numpy(self):
        return self._value.copy()

    def __array__(self, dtype=None, copy=None):
        return self._value if dtype is None else self._value.astype(dtype)

    def __repr__(self):
        return f"<Variable {self.name} shape={self.shape} trainable={self.trainable}>"
