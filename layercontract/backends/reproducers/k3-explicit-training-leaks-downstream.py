"""Finding k3-explicit-training-leaks-downstream (design).

An explicit `training=` given to one node of a functional graph is written into the call context
shared by the whole call (keras/src/layers/layer.py Layer._resolve_and_populate_arg:
call_context.set_value, never restored), so under `model(x)` (no outer value) a BatchNormalization
after `Dropout(0.5)(x, training=True)` receives True and updates its moving statistics. Keras 3's
deliberate eager propagation of explicit values (TRAIN.INNER_EXPLICIT_SCOPE.K3, kept by
keras-team/keras#23166) reaching a functional graph; tf-keras keeps it local.

Clause:   TRAIN.FUNCTIONAL_PINNED_IS_LOCAL (SHOULD)
Backends: keras-tensorflow, keras-jax, keras-torch, keras-numpy, keras-openvino (KERAS_BACKEND)
Holds:    every Keras 3 release and keras-nightly 3.16.0.dev2026102704 (no `when`)
Exit:     1 while the finding holds, 0 once fixed, 2 if it cannot run here.
"""

import os
import sys

import numpy as np

FINDING = "k3-explicit-training-leaks-downstream"


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
keras.utils.set_random_seed(3)
inputs = keras.Input((3,))
bn = keras.layers.BatchNormalization()
model = keras.Model(inputs, bn(keras.layers.Dropout(0.5)(inputs, training=True)))
shifted = (np.random.default_rng(0).standard_normal((16, 3)) + 3.0).astype("float32")
model(shifted)  # no training value
moving_mean = keras.ops.convert_to_numpy(bn.moving_mean)
holds = bool(np.any(moving_mean != 0))
_verdict(
    "TRAIN.FUNCTIONAL_PINNED_IS_LOCAL (SHOULD)",
    "A construction-time `training=` affects only the layer it was given to: downstream layers of "
    "the graph called without `training` receive the outer call's value (None when omitted), so "
    "`predict` and `evaluate` of a model with a pinned `Dropout(training=True)` still run a later "
    "BatchNormalization in inference.",
    [
        f"Input -> Dropout(0.5)(x, training=True) -> BatchNormalization, model(x): BatchNormalization "
        f"moving mean {np.round(moving_mean, 4).tolist()} (expected [0, 0, 0])"
        f"{' -> the pinned True reached the downstream layer' if holds else ''}"
    ],
    holds,
)
