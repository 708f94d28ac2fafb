"""Finding k3-numpy-float64-weights-float32 (upstream-bug, unreported).

On the numpy backend a float64 layer's variables report float64 but hold float32 arrays, and Dense
returns float32: result_type maps float64 to float32 on every backend but tensorflow
(keras/src/backend/common/dtypes.py), and nothing warns.

Clauses:  DTYPE.LAYER_DTYPE_HONOURED (MUST), DTYPE.UNHONOURED_DTYPE_SAYS_SO (SHOULD)
Backends: keras-numpy
Holds:    always (3.15.1 and keras-nightly 3.16.0.dev2026102704)
Exit:     1 while the finding holds, 0 once fixed, 2 if it cannot run here.
"""

import os
import sys
import warnings

import numpy as np

FINDING = "k3-numpy-float64-weights-float32"


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


keras = _keras({"numpy"})

layer = keras.layers.Dense(1, use_bias=False, kernel_initializer="ones", dtype="float64")
x = np.array([[1.0 + 1e-12]], dtype="float64")
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    y = layer(x)
said = [str(w.message)[:120] for w in caught if "float64" in str(w.message)]
out_dtype = keras.backend.standardize_dtype(y.dtype)
value = float(keras.ops.convert_to_numpy(y)[0, 0])
held = str(keras.ops.convert_to_numpy(layer.kernel).dtype)
honoured = out_dtype == "float64" and held == "float64" and value == 1.0 + 1e-12
_verdict(
    "DTYPE.LAYER_DTYPE_HONOURED",
    "a layer constructed with dtype='float64' holds, computes and returns float64: "
    "Dense(1, dtype='float64') with kernel 1 maps 1 + 1e-12 to 1 + 1e-12",
    [
        f"kernel held as {held} (reported {layer.kernel.dtype}), output {out_dtype} {value!r}",
        f"warnings naming float64: {said or 'none'}",
    ],
    holds=not honoured,
)
