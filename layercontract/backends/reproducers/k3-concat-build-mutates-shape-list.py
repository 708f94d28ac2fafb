"""Finding k3-concat-build-mutates-shape-list (upstream-bug, keras-team/keras#20430, fixed in 3.7.0).

Keras 3.0.0-3.6.0 Concatenate.build() (keras/src/layers/merging/concatenate.py) deletes the axis
from reduced_inputs_shapes[i] while enumerating the same list, so compatible inputs whose other
axes are 1 (e.g. two (1, 1, 1, 1, 5) tensors) raise IndexError, and rank mismatches raise it instead
of the ValueError. Fixed by commit 3923400958 ('Fix 5D shape validation issues with concat layer'),
first released in 3.7.0.

Clauses:  MULTI.CONCAT_BUILD (MUST), MULTI.CONCAT_SHAPE_MISMATCH (MUST)
Backends: keras-numpy (recorded), keras-tensorflow, keras-torch (backend-independent; KERAS_BACKEND)
Holds:    keras < 3.7
Exit:     1 while the finding holds, 0 once fixed, 2 if it cannot run here.
"""

import os
import sys

import numpy as np

FINDING = "k3-concat-build-mutates-shape-list"


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
x = np.arange(5, dtype="float32").reshape(1, 1, 1, 1, 5)
try:
    out = keras.layers.Concatenate()([x, x])
    observed, holds = (
        f"output shape {tuple(out.shape)} (expected (1, 1, 1, 1, 10))",
        tuple(out.shape) != (1, 1, 1, 1, 10),
    )
except Exception as e:  # noqa: BLE001 - the finding: build raises
    observed, holds = f"{type(e).__name__}: {e}", True
_verdict(
    "MULTI.CONCAT_BUILD (MUST)",
    "Concatenate builds from the list of input shapes and joins the inputs on its axis.",
    [f"Concatenate()([x, x]) with x of shape (1, 1, 1, 1, 5): {observed}"],
    holds,
)
