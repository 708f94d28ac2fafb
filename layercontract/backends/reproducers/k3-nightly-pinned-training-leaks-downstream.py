"""Finding k3-nightly-pinned-training-leaks-downstream (regression, exposed by keras-team/keras#23364).

keras-nightly 3.16.0.dev: keras-team/keras#23364 removed Functional's operation_fn, which re-injected
the outer `training` into every op; an explicit value passed to one node is written into the call
context shared by the whole call (keras/src/layers/layer.py Layer._resolve_and_populate_arg:
call_context.set_value, never restored) and now reaches every later node of the graph, whatever the
outer call says. The keras.io transfer-learning head (`base(inputs, training=False) -> Dropout -> Dense`)
no longer trains its Dropout under `fit` / `model(x, training=True)`, and `predict` of an MC-dropout
model updates a later BatchNormalization's statistics. Keras 3.15.1 and tf-keras 2.21.0 pass.

Clauses:  TRAIN.TRANSFER_HEAD_TRAINS (MUST), TRAIN.FUNCTIONAL_PINNED_IS_LOCAL (SHOULD)
Backends: keras-tensorflow, keras-jax, keras-torch, keras-numpy (KERAS_BACKEND)
Holds:    keras >= 3.16.0.dev0 (3.15.1 passes)
Exit:     1 while the finding holds, 0 once fixed, 2 if it cannot run here.
"""

import os
import sys

import numpy as np

FINDING = "k3-nightly-pinned-training-leaks-downstream"


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
keras.utils.set_random_seed(4)
observations, holds = [], False


class Head(keras.layers.Layer):
    """Identity layer that records the `training` value of each eager call."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.seen = []

    def call(self, x, training=None):
        if not isinstance(x, keras.KerasTensor):
            self.seen.append(training)
        return x


# 1. Transfer learning: base(inputs, training=False) -> head, model(x, training=True).
base_in = keras.Input((3,))
base = keras.Model(base_in, keras.layers.BatchNormalization()(keras.layers.Dense(3)(base_in)))
inputs = keras.Input((3,))
head = Head()
model = keras.Model(inputs, keras.layers.Dense(1)(head(base(inputs, training=False))))
x = (np.random.default_rng(1).standard_normal((64, 3)) + 3.0).astype("float32")
model(x, training=True)
head_not_training = head.seen[-1] is not True
holds |= head_not_training
observations.append(
    f"head after base(inputs, training=False), model(x, training=True): head received "
    f"{head.seen[-1]!r} (expected True){' -> the head Dropout would not train' if head_not_training else ''}"
)

# 2. MC dropout then BatchNormalization, model(x, training=False).
inputs = keras.Input((3,))
bn = keras.layers.BatchNormalization()
mc = keras.Model(inputs, bn(keras.layers.Dropout(0.5)(inputs, training=True)))
mc(x, training=False)
moving_mean = keras.ops.convert_to_numpy(bn.moving_mean)
bn_trained = bool(np.any(moving_mean != 0))
holds |= bn_trained
observations.append(
    f"Dropout(0.5)(x, training=True) -> BatchNormalization, model(x, training=False): "
    f"moving mean {np.round(moving_mean, 4).tolist()} (expected [0, 0, 0])"
    f"{' -> the pinned True leaked downstream over the outer False' if bn_trained else ''}"
)

_verdict(
    "TRAIN.TRANSFER_HEAD_TRAINS (MUST)",
    "Layers downstream of `base(inputs, training=False)` that were called without `training` run in "
    "training mode under `fit` and `model(x, training=True)`: the head's Dropout is active. "
    "[and TRAIN.FUNCTIONAL_PINNED_IS_LOCAL (SHOULD): downstream layers called without `training` "
    "receive the outer call's value]",
    observations,
    holds,
)
