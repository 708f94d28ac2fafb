"""Finding k3-stateless-call-bypasses-call-context (upstream-bug, fixed by keras-team/keras#23364).

Layer.stateless_call (keras/src/layers/layer.py, 3.15.1) calls self.call() directly instead of going
through __call__, so `training` never enters the call context: layers a model's call() invokes
without `training` receive None (BatchNormalization runs in inference and its returned statistics
are unchanged), and a model whose call() has no `training` parameter gets it anyway (TypeError).

Clauses:  TRAIN.STATELESS_CALL_PROPAGATES (MUST)
Backends: keras-tensorflow, keras-jax, keras-torch, keras-numpy, keras-openvino
Holds:    keras < 3.16.0.dev0 (fixed by keras-team/keras#23364 in keras-nightly 3.16.0.dev)
Exit:     1 while the finding holds, 0 once fixed, 2 if it cannot run here.
"""

import os
import sys

import numpy as np

FINDING = "k3-stateless-call-bypasses-call-context"


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


class Net(keras.Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.bn = keras.layers.BatchNormalization(momentum=0.5)

    def call(self, x, training=None):  # accepts training, does not forward it
        return self.bn(x)


class NoTraining(keras.Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.dense = keras.layers.Dense(2)

    def call(self, x):  # no training parameter
        return self.dense(x)


x = (np.random.default_rng(0).standard_normal((16, 3)) + 3.0).astype("float32")
model = Net()
model(x)
_, non_trainable = model.stateless_call(model.trainable_variables, model.non_trainable_variables, x, training=True)
moving_mean = keras.ops.convert_to_numpy(non_trainable[0])
nested_trained = not np.allclose(moving_mean, 0.0)
plain = NoTraining()
plain(x)
try:
    plain.stateless_call(plain.trainable_variables, plain.non_trainable_variables, x, training=True)
    no_param = "accepted"
except TypeError as e:
    no_param = f"TypeError: {e}"
_verdict(
    "TRAIN.STATELESS_CALL_PROPAGATES",
    "model.stateless_call(..., x, training=t) treats the training flag as model(x, training=t) does",
    [
        f"returned BatchNormalization moving mean after training=True: {np.round(moving_mean, 3).tolist()}"
        f" ({'updated' if nested_trained else 'not updated: the nested layer ran in inference'})",
        f"a model whose call() has no training parameter: {no_param}",
    ],
    holds=not nested_trained or no_param != "accepted",
)
