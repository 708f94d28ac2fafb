"""Finding k3-jax-stateless-call-drops-training (upstream-bug, fixed by keras-team/keras#23364).

The JAX trainer runs Layer.stateless_call(..., training=...), which calls self.call() directly and
bypasses __call__ (keras/src/layers/layer.py Layer.stateless_call), so the value never enters the
call context: layers a subclassed model's call() invokes without `training` receive None under
fit / train_on_batch (BatchNormalization never updates its moving statistics) and under predict /
evaluate (None instead of False). Models that forward `training` by hand are unaffected.

Clauses:  TRAIN.FIT_IS_TRAINING (MUST), TRAIN.INFERENCE_METHODS_PASS_FALSE (MUST)
Backends: keras-jax (KERAS_BACKEND=jax)
Holds:    keras < 3.16.0.dev0 (3.10.0-3.15.1; fixed by keras-team/keras#23364 in keras-nightly 3.16.0.dev)
Exit:     1 while the finding holds, 0 once fixed, 2 if it cannot run here.
"""

import os
import sys

import numpy as np

FINDING = "k3-jax-stateless-call-drops-training"


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


keras = _keras({"jax"})


class Recorder(keras.layers.Layer):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.seen = []

    def call(self, x, training=None):
        self.seen.append(training)  # traced values: recorded once per trace, as Python objects
        return x


class Net(keras.Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.rec = Recorder()
        self.bn = keras.layers.BatchNormalization()
        self.dense = keras.layers.Dense(1)

    def call(self, x, training=None):  # accepts training, does not forward it
        return self.dense(self.bn(self.rec(x)))


shifted = (np.random.default_rng(0).standard_normal((16, 3)) + 3.0).astype("float32")
model = Net()
model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.0), loss="mse")
model.fit(shifted, np.zeros((16, 1), "float32"), batch_size=16, epochs=1, shuffle=False, verbose=0)
moving_mean = keras.ops.convert_to_numpy(model.bn.moving_mean)
fit_seen = list(model.rec.seen)
model.rec.seen.clear()
model.predict(shifted, verbose=0)
predict_seen = list(model.rec.seen)
not_training = bool(np.all(moving_mean == 0))
not_false = False not in predict_seen
_verdict(
    "TRAIN.FIT_IS_TRAINING (MUST)",
    "`fit` and `train_on_batch` call a model whose `call` has a `training` parameter (every "
    "functional model does) with `training=True`, so layers nested in it and called without "
    "`training` receive True and Dropout and BatchNormalization train. [and "
    "TRAIN.INFERENCE_METHODS_PASS_FALSE: `predict`, `evaluate`, ... layers nested in it called "
    "without `training` receive False]",
    [
        f"fit: nested layer received {fit_seen}; BatchNormalization moving mean "
        f"{np.round(moving_mean, 4).tolist()} (expected to move towards ~3)",
        f"predict: nested layer received {predict_seen} (expected False)",
    ],
    not_training or not_false,
)
