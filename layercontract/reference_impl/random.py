"""Seeding: one global generator (`utils.set_random_seed`), per-layer generators when seeded."""

import numpy as np

_global = np.random.default_rng(1337)


def set_random_seed(seed):
    global _global
    _global = np.random.default_rng(seed)


def global_generator():
    return _global
