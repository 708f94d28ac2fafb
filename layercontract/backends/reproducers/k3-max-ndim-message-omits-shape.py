"""Finding k3-max-ndim-message-omits-shape (design: one message's wording; unreported).

Keras 3 keras/src/layers/input_spec.py assert_input_compatibility builds the max_ndim error as
"expected max_ndim=2, found ndim=3" without "Full shape received: ...", unlike its ndim, min_ndim,
axes and shape errors.

Clause:   INPUT.ERROR_FULL_SHAPE (SHOULD)
Backends: keras-tensorflow, keras-jax, keras-torch, keras-numpy, keras-openvino (KERAS_BACKEND)
Holds:    every Keras 3 release and keras-nightly 3.16.0.dev2026102704 (no `when`)
Exit:     1 while the finding holds, 0 once fixed, 2 if it cannot run here.
"""

import os
import sys

import numpy as np

FINDING = "k3-max-ndim-message-omits-shape"


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


class Spec(keras.layers.Layer):
    def __init__(self, **kwargs):
        super().__init__()
        self.input_spec = keras.layers.InputSpec(**kwargs)

    def call(self, x):
        return x


messages = {}
for kind, spec, shape in [("ndim", {"ndim": 2}, (2, 3, 1)), ("max_ndim", {"max_ndim": 2}, (2, 3, 4))]:
    try:
        Spec(**spec)(np.ones(shape, dtype="float32"))
        messages[kind] = (shape, "no error")
    except ValueError as e:
        messages[kind] = (shape, str(e))
shape, message = messages["max_ndim"]
holds = str(shape) not in message
_verdict(
    "INPUT.ERROR_FULL_SHAPE (SHOULD)",
    "The ValueError also shows the full received shape, for every kind of InputSpec violation.",
    [f"{kind} violation on {s}: {m!r}" for kind, (s, m) in messages.items()],
    holds,
)
