"""Weight initializers (Keras names). Draws come from the global reference RNG."""

import numpy as np

from layercontract.reference_impl import random


def zeros(shape):
    return np.zeros(shape, dtype="float32")


def ones(shape):
    return np.ones(shape, dtype="float32")


def glorot_uniform(shape):
    fan_in, fan_out = (shape[-2], shape[-1]) if len(shape) >= 2 else (shape[0] if shape else 1,) * 2
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return random.global_generator().uniform(-limit, limit, size=shape).astype("float32")


def random_normal(shape):
    return (0.05 * random.global_generator().standard_normal(size=shape)).astype("float32")


_BY_NAME = {"zeros": zeros, "ones": ones, "glorot_uniform": glorot_uniform, "random_normal": random_normal}


def get(initializer):
    if callable(initializer):
        return initializer
    try:
        return _BY_NAME[initializer]
    except KeyError:
        raise ValueError(f"Unknown initializer {initializer!r}; known: {sorted(_BY_NAME)}") from None
