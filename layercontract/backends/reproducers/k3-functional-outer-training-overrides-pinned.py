"""Finding k3-functional-outer-training-overrides-pinned (upstream-bug, keras-team/keras#23364).

A `training=` given when a layer is called during functional construction is overridden by the
outer call's non-None `training`: Keras <= 3.15.1 Functional.call passes an operation_fn
(keras/src/models/functional.py) that re-injects the outer value into every op. MC dropout
(`Dropout(..)(x, training=True)`) is off under `model(x, training=False)`, `predict`, `evaluate`;
a `BatchNormalization(..)(x, training=False)` trains under `model(x, training=True)` and `fit`.

Clause:   TRAIN.FUNCTIONAL_PINNED_WINS (also explains TRAIN.TRANSFER_BASE_INFERENCE)
Backends: keras-tensorflow, keras-jax, keras-torch, keras-numpy, keras-openvino (KERAS_BACKEND)
Holds:    keras < 3.16.0.dev0 (fixed by keras-team/keras#23364 in keras-nightly 3.16.0.dev)
Exit:     1 while the finding holds, 0 once fixed, 2 if it cannot run here.
"""

import os
import sys

import numpy as np

FINDING = "k3-functional-outer-training-overrides-pinned"


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
observations, holds = [], False

# 1. MC dropout: Dropout(0.5)(x, training=True) at construction, model called with training=False.
inputs = keras.Input((100,))
mc = keras.Model(inputs, keras.layers.Dropout(0.5)(inputs, training=True))
ones = np.ones((200, 100), dtype="float32")
zeros = int(np.sum(keras.ops.convert_to_numpy(mc(ones, training=False)) == 0))
dropout_off = zeros == 0
holds |= dropout_off
observations.append(
    f"Dropout(0.5)(x, training=True) under model(x, training=False): {zeros} of "
    f"{ones.size} zeros (about half expected){' -> the pinned Dropout did not run' if dropout_off else ''}"
)

# 2. BatchNormalization(x, training=False) at construction, model called with training=True.
inputs = keras.Input((3,))
bn = keras.layers.BatchNormalization()
frozen = keras.Model(inputs, bn(inputs, training=False))
shifted = (np.random.default_rng(0).standard_normal((16, 3)) + 3.0).astype("float32")
frozen(shifted, training=True)
moving_mean = keras.ops.convert_to_numpy(bn.moving_mean)
bn_trained = bool(np.any(moving_mean != 0))
holds |= bn_trained
observations.append(
    f"BatchNormalization(x, training=False) under model(x, training=True): moving mean "
    f"{np.round(moving_mean, 4).tolist()} (expected [0, 0, 0])"
    f"{' -> the pinned BatchNormalization trained' if bn_trained else ''}"
)

_verdict(
    "TRAIN.FUNCTIONAL_PINNED_WINS (MUST)",
    "A `training=` given when a layer is called on a symbolic tensor during functional-model "
    "construction is used for that layer in every later execution of the model: `model(x)`, "
    "`model(x, training=...)`, `predict`, `evaluate`, `fit` and the `*_on_batch` methods, whatever "
    "value the outer call brings.",
    observations,
    holds,
)
