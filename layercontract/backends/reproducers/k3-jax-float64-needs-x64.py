"""Finding k3-jax-float64-needs-x64 (limitation: JAX computes in float32 unless x64 is enabled).

JAX keeps 64-bit types off by default (jax_enable_x64): a float64 Keras layer on keras-jax holds and
computes float32 (the variable still reports float64); JAX warns that float64 is truncated.

Clauses:  DTYPE.LAYER_DTYPE_HONOURED (MUST), DTYPE.UNHONOURED_DTYPE_SAYS_SO (SHOULD)
Backends: keras-jax
Holds:    always, unless JAX_ENABLE_X64=1
Exit:     1 while the finding holds, 0 once fixed, 2 if it cannot run here.
"""

import os
import sys
import warnings

import numpy as np

FINDING = "k3-jax-float64-needs-x64"


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


keras = _keras({"jax"})

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
