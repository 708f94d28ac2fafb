"""Finding k3-undeclared-training-dropped (upstream-bug, changed by keras-team/keras#21204 in 3.10.0).

Before Keras 3.10.0, CallSpec (keras/src/layers/layer.py) pops `training` from the arguments when the
layer's call() does not declare it, before the call context is populated, so a value given to an
outer layer or model whose call() lacks `training` never reaches the layers it calls.
keras-team/keras#21204 ('Adds Support For Custom Call-Context Arguments', first in 3.10.0) keeps it.

Clauses:  TRAIN.PROPAGATES_TO_NESTED (MUST); also TRAIN.INNER_EXPLICIT_WINS, TRAIN.SIGNATURE_DEFAULT
Backends: keras-numpy (recorded), keras-tensorflow, keras-torch (backend-independent; KERAS_BACKEND)
Holds:    keras < 3.10
Exit:     1 while the finding holds, 0 once fixed, 2 if it cannot run here.
"""

import os
import sys

import numpy as np

FINDING = "k3-undeclared-training-dropped"


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


class Inner(keras.layers.Layer):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.seen = []

    def call(self, x, training=None):
        self.seen.append(training)
        return x


class Outer(keras.layers.Layer):
    """No `training` parameter."""

    def __init__(self, inner, **kwargs):
        super().__init__(**kwargs)
        self.inner = inner

    def build(self, input_shape):
        pass

    def call(self, x):
        return self.inner(x)


inner = Inner()
Outer(inner)(np.ones((2, 3), dtype="float32"), training=True)
holds = inner.seen[-1] is not True
_verdict(
    "TRAIN.PROPAGATES_TO_NESTED (MUST)",
    "A `training` value given to an outer layer or model reaches nested layers called without one, "
    "at any depth, also when the outer `call` has no `training` parameter.",
    [
        f"outer(x, training=True), outer call() without `training`: nested layer received "
        f"{inner.seen[-1]!r} (expected True)"
    ],
    holds,
)
