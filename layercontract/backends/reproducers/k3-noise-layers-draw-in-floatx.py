"""Finding k3-noise-layers-draw-in-floatx (upstream-bug, keras-team/keras#19437, fixed in 3.2.0).

Before Keras 3.2.0, GaussianDropout.call and GaussianNoise.call (keras/src/layers/regularization/)
called backend.random.normal without `dtype`, so the noise was drawn in floatx (float32) whatever the
layer's compute dtype: under mixed_bfloat16 or mixed_float16 a training call multiplies (adds) a
bfloat16 / float16 input and float32 noise, which the tensorflow backend rejects
(InvalidArgumentError) and other backends promote to float32. 3.2.0 passes dtype=self.compute_dtype.

Clauses:  DTYPE.MIXED_NOISE (MUST)
Backends: keras-tensorflow, keras-torch, keras-numpy (KERAS_BACKEND)
Holds:    keras < 3.2
Exit:     1 while the finding holds, 0 once fixed, 2 if it cannot run here.
"""

import os
import sys

import numpy as np

FINDING = "k3-noise-layers-draw-in-floatx"


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


keras = _keras({"tensorflow", "torch", "numpy", "jax"})

x = np.full((4, 5), 2.0, dtype="float32")
observations, holds = [], False
for policy, compute in (("mixed_bfloat16", "bfloat16"), ("mixed_float16", "float16")):
    for layer in (keras.layers.GaussianDropout(0.3, dtype=policy), keras.layers.GaussianNoise(0.5, dtype=policy)):
        name = type(layer).__name__
        try:
            got = keras.backend.standardize_dtype(layer(x, training=True).dtype)
        except Exception as e:  # noqa: BLE001 - the reported failure is an exception
            got = f"{type(e).__name__}: {' '.join(str(e).split())[:160]}"
        observations.append(f"{name}(dtype={policy!r})(x, training=True): {got} (expected {compute})")
        holds = holds or got != compute
_verdict(
    "DTYPE.MIXED_NOISE (MUST)",
    "Under mixed_float16 and mixed_bfloat16, GaussianDropout and GaussianNoise draw their noise in the "
    "compute dtype and return it, in training and in inference, without error.",
    observations,
    holds,
)
