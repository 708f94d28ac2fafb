"""Finding k3-numpy-inputs-cast-to-compute-dtype (upstream-bug, fixed by keras-team/keras#19636 in 3.4.0).

Before Keras 3.4.0, DTypePolicy.convert_input (keras/src/dtype_policies/dtype_policy.py) converted
anything that is not a backend tensor but has __array__ with `ops.convert_to_tensor(x, dtype=<compute
dtype>)`: every numpy array, integer and boolean ones included, reached `call` in the layer's compute
dtype (float32, float16 under mixed_float16), alone or inside a tuple, list or dict of inputs, while a
backend tensor of the same dtype kept it. keras-numpy is not affected (a numpy array is its tensor).

Clauses:  CALL.AUTOCAST_PER_ELEMENT (MUST), CALL.INTEGER_NOT_CAST (MUST)
Backends: keras-tensorflow, keras-torch (KERAS_BACKEND)
Holds:    keras < 3.4
Exit:     1 while the finding holds, 0 once fixed, 2 if it cannot run here.
"""

import os
import sys

import numpy as np

FINDING = "k3-numpy-inputs-cast-to-compute-dtype"


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


keras = _keras({"tensorflow", "torch"})


class Elements(keras.layers.Layer):
    """Records the dtype of each element of the tuple its call receives."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.seen = None

    def call(self, inputs):
        self.seen = [keras.backend.standardize_dtype(x.dtype) for x in inputs]
        return inputs[0]


observations, holds = [], False
for policy, compute in (("float32", "float32"), ("mixed_float16", "float16")):
    layer = Elements(dtype=policy)
    layer((np.ones((2, 3), dtype="float64"), np.arange(6, dtype="int32").reshape(2, 3)))
    observations.append(
        f"dtype={policy!r}, a (float64, int32) tuple of numpy arrays reaches call as {tuple(layer.seen)} "
        f"(expected ({compute!r}, 'int32'))"
    )
    holds = holds or layer.seen[1] != "int32"
_verdict(
    "CALL.AUTOCAST_PER_ELEMENT (MUST)",
    "A tuple, list or dict of inputs is autocast element by element: each floating element reaches `call` "
    "in the layer's compute dtype and each integer or boolean element stays integer or boolean.",
    observations,
    holds,
)
