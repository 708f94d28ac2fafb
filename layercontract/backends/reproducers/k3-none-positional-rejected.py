"""Finding k3-none-positional-rejected (design, changed in 3.4.0).

Before Keras 3.4.0, Layer.__call__ (keras/src/layers/layer.py, step 2 'Enforce that only tensors can
be passed positionally') rejects every positional argument that is not a tensor, None included:
layer(x, None) raises ValueError 'Only input tensors may be passed as positional arguments ... None
(of type <class 'NoneType'>)'. Commit 7412791b70 'Add support for optional Functional inputs'
(first in 3.4.0) lets None through, so optional inputs can be passed as None.

Clause:   CALL.NON_TENSOR_POSITIONAL_REJECTED.K3 (MUST)
Backends: keras-numpy, keras-tensorflow, keras-torch (backend-independent; KERAS_BACKEND)
Holds:    keras < 3.4.0.dev0
Exit:     1 while the finding holds, 0 once fixed, 2 if it cannot run here.
"""

import os
import sys

import numpy as np

FINDING = "k3-none-positional-rejected"


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


class Recording(keras.layers.Layer):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.seen = []

    def call(self, x, value=None):
        self.seen.append(value)
        return x


layer = Recording()
try:
    layer(np.ones((2, 3), dtype="float32"), None)
    observed = f"layer(x, None) ran; call received {layer.seen!r}"
    holds = layer.seen != [None]
except ValueError as e:
    observed = f"layer(x, None) raised ValueError: {' '.join(str(e).split())[:200]}"
    holds = True

_verdict(
    "CALL.NON_TENSOR_POSITIONAL_REJECTED.K3 (MUST)",
    "A Python int, float, boolean, string or list passed positionally is rejected with ValueError; "
    "None is accepted positionally.",
    [observed],
    holds,
)
