"""Finding k3-tf-dropout-rate-one-rejected (upstream-bug, fixed in 3.14.0 by keras-team/keras#22312).

Keras < 3.14 on tensorflow: Dropout(1.0) called with training=True raises ValueError "`rate` must be a
scalar tensor or a float in the range [0, 1). Received: rate=1.0": keras/src/backend/tensorflow/random.py
dropout hands the rate to tf.nn.experimental.stateless_dropout, which rejects 1. The other backends
compute the mask themselves and return zeros. keras-team/keras#22312 (merged 2026-03-03, first in
3.14.0) returns zeros for rate 1 (and the input for rate 0) before calling TensorFlow.

Clause:   TRAIN.DROPOUT_RATE_ONE.K3 (MUST)
Backends: keras-tensorflow (KERAS_BACKEND)
Holds:    keras < 3.14.0.dev2026030404
Exit:     1 while the finding holds, 0 once fixed, 2 if it cannot run here.
"""

import os
import sys

import numpy as np

FINDING = "k3-tf-dropout-rate-one-rejected"


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

x = np.ones((4, 5), dtype="float32")
try:
    out = keras.ops.convert_to_numpy(keras.layers.Dropout(1.0)(x, training=True))
    observed = f"Dropout(1.0)(x, training=True) returned {int(np.count_nonzero(out))} non-zeros of {out.size}"
    holds = bool(np.count_nonzero(out)) or bool(np.isnan(out).any())
except ValueError as e:
    observed = f"Dropout(1.0)(x, training=True) raised ValueError: {' '.join(str(e).split())[:200]}"
    holds = True

_verdict(
    "TRAIN.DROPOUT_RATE_ONE.K3 (MUST)",
    "In Keras 3, Dropout(1.0) returns all zeros with training=True (no NaN, no error).",
    [observed],
    holds,
)
