"""Finding k3-numpy-integer-input-cast-to-float (upstream-bug, fixed by keras-team/keras#19636 in 3.4.0).

Before Keras 3.4.0, DTypePolicy.convert_input (keras/src/dtype_policies/dtype_policy.py) converted
an argument that is not yet a backend tensor but has __array__ (a numpy array) with
ops.convert_to_tensor(x, dtype=<the layer's compute dtype>), so on backends whose tensors are not
numpy arrays (tensorflow, torch, jax) an int64 numpy input reached call() as float32, and the
InputSpec dtype check saw float32: an int array passes a float32 spec, an int array fails an int32
spec. keras-team/keras#19636 ('Ensure the same rule applies for np arrays in autocasting', merged
2024-04-29, first in 3.4.0) converts without a dtype and casts floats only. On the numpy backend a
numpy array is already a tensor and took the first branch: unaffected.

Clauses:  CALL.INTEGER_NOT_CAST (MUST); also INPUT.DTYPE, INPUT.SPEC_ACCEPTS_VALID, BUILD.CALL_SEQUENCES
Backends: keras-tensorflow, keras-torch (KERAS_BACKEND)
Holds:    keras < 3.4.0.dev0
Exit:     1 while the finding holds, 0 once fixed, 2 if it cannot run here.
"""

import os
import sys

import numpy as np

FINDING = "k3-numpy-integer-input-cast-to-float"


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


keras = _keras({"tensorflow", "jax", "torch"})


class Probe(keras.layers.Layer):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.seen = []

    def call(self, x):
        self.seen.append(keras.backend.standardize_dtype(x.dtype))
        return x


probe = Probe()
probe(np.ones((2, 3), dtype="int64"))
_verdict(
    "CALL.INTEGER_NOT_CAST (MUST)",
    "Integer inputs are not cast to a floating dtype by `__call__`.",
    [f"layer(np.ones((2, 3), dtype='int64')): call() received dtype {probe.seen[0]}"],
    not probe.seen[0].startswith(("int", "uint")),
)
