"""Finding k3-torch-mixed-batchnorm-statistics-lost (upstream-bug, fixed by keras-team/keras#19391 in 3.2.0).

Keras 3.1 on torch: a BatchNormalization(dtype="mixed_float16") called with training=True never
updates its moving statistics. Layer.__call__ runs call() in an AutocastScope (float16), in which
reading a float variable returns a float16 copy (keras/backend/common/variables.py
KerasVariable.value -> _maybe_autocast); the torch Variable's _direct_assign writes with
`self.value.copy_(value)` (keras/backend/torch/core.py), i.e. into that temporary copy, so
BatchNormalization.call's moving_mean.assign(...) is lost. keras-team/keras#19391 ('Reintroduce the
option for autocasting to individual weights', merged 2024-03-27, first in 3.2.0) creates
BatchNormalization's weights with autocast=False, so they are read and assigned in float32.

Clause:   DTYPE.MIXED_BATCHNORM (MUST)
Backends: keras-torch (KERAS_BACKEND)
Holds:    keras < 3.2.0.dev2024032903
Exit:     1 while the finding holds, 0 once fixed, 2 if it cannot run here.
"""

import os
import sys

import numpy as np

FINDING = "k3-torch-mixed-batchnorm-statistics-lost"


def _keras(backends):
    """Import Keras 3 on the backend KERAS_BACKEND names; exit 2 where this reproducer cannot run."""
    name = os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    if name not in backends:
        print(f"cannot run: KERAS_BACKEND={name!r}; this reproducer runs on {', '.join(sorted(backends))}")
        sys.exit(2)
    try:
        import keras

        if keras.backend.backend() != name:
            raise RuntimeError(f"keras loaded backend {keras.backend.backend()!r}")
    except Exception as e:  # noqa: BLE001 - any import failure means: cannot run here
        print(f"cannot run: keras does not load on {name}: {type(e).__name__}: {e}")
        sys.exit(2)
    print(f"keras {keras.__version__}, backend {name}")
    return keras


def _verdict(clause, statement, observations, holds):
    """Print the clause against what was observed; exit 1 while the finding holds, 0 once fixed."""
    print(f"clause {clause}: {statement}")
    for line in observations:
        print(f"  observed: {line}")
    print(f"finding {FINDING}: {'HOLDS' if holds else 'does not hold (fixed here)'}")
    sys.exit(1 if holds else 0)


keras = _keras({"tensorflow", "jax", "torch", "numpy", "openvino"})

MOMENTUM = 0.99
bn = keras.layers.BatchNormalization(momentum=MOMENTUM, dtype="mixed_float16")
x = (np.random.default_rng(0).standard_normal((64, 3)) * 3 + 2).astype("float32")
bn(x, training=True)
moving_mean = np.asarray(keras.ops.convert_to_numpy(bn.moving_mean), dtype="float64")
expected = (1 - MOMENTUM) * x.astype("float16").astype("float64").mean(axis=0)
_verdict(
    "DTYPE.MIXED_BATCHNORM (MUST)",
    "BatchNormalization under mixed_float16 keeps float32 statistics that a training call updates.",
    [
        f"moving mean after one training call: {np.round(moving_mean, 5).tolist()} "
        f"(expected {np.round(expected, 5).tolist()})"
    ],
    not np.allclose(moving_mean, expected, rtol=1e-3, atol=1e-4),
)
