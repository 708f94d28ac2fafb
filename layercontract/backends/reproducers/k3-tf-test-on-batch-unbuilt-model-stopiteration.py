"""Finding k3-tf-test-on-batch-unbuilt-model-stopiteration (upstream-bug, fixed in 3.7.0 by keras-team/keras#20396).

Keras < 3.7 on tensorflow: test_on_batch as the first call of a compiled subclassed model that is not
built yet raises StopIteration. TensorFlowTrainer.test_on_batch (keras/src/backend/tensorflow/trainer.py,
3.6.0) passes a one-element Python generator to the tf.function made by make_test_function, whose
one_step_on_iterator calls next(iterator); the first trace creates the model's variables, so
tf.function traces again, and the second trace's next() finds the generator exhausted. A built model,
and functional or Sequential models (built at construction), do not hit it. keras-team/keras#20396
('EpochIterator, TensorFlowTrainer: refactoring and fixes', merged 2024-10-22, first in 3.7.0) moved
the step into its own tf.function fed from outside the trace.

Clauses:  TRAIN.INFERENCE_METHODS (MUST), TRAIN.INFERENCE_METHODS_PASS_FALSE
Backends: keras-tensorflow (KERAS_BACKEND)
Holds:    keras < 3.7.0.dev2024102503
Exit:     1 while the finding holds, 0 once fixed, 2 if it cannot run here.
"""

import os
import sys

import numpy as np

FINDING = "k3-tf-test-on-batch-unbuilt-model-stopiteration"


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


keras = _keras({"tensorflow", "jax", "torch"})


class TwoLayers(keras.Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.dense = keras.layers.Dense(2)
        self.bn = keras.layers.BatchNormalization()

    def call(self, x, training=None):
        return self.bn(self.dense(x))


x, y = np.ones((8, 3), dtype="float32"), np.ones((8, 2), dtype="float32")
model = TwoLayers()
model.compile(optimizer="sgd", loss="mse")
try:
    loss = model.test_on_batch(x, y)
    observed, holds = f"test_on_batch on a compiled, unbuilt subclassed model returned loss {float(loss):.4g}", False
except StopIteration:
    observed, holds = "test_on_batch on a compiled, unbuilt subclassed model raised StopIteration", True

_verdict(
    "TRAIN.INFERENCE_METHODS (MUST)",
    "predict, evaluate, predict_on_batch and test_on_batch run the model and its layers in inference.",
    [observed],
    holds,
)
