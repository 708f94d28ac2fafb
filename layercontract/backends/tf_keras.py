"""tf-keras: legacy Keras 2 on TensorFlow (edition keras2)."""

import os
import pathlib
from types import SimpleNamespace

import numpy as np

from layercontract.backends._versions import installed
from layercontract.spec.harness.adapter_contract import Backend


class TfKeras(Backend):
    name = "tf-keras"
    edition = "keras2"
    capabilities = frozenset({"fit", "inference", "symbolic", "functional", "compiled", "gradients"})
    expectations = pathlib.Path(__file__).parent / "expectations" / "tf-keras.toml"

    def load(self):
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        import tensorflow as tf
        import tf_keras

        self._tf, self._tf_keras = tf, tf_keras
        # Keras 2 has no `ops` namespace: the few ops the suites use, from TensorFlow.
        ops = SimpleNamespace(
            is_tensor=tf.is_tensor,
            matmul=tf.matmul,
            add=tf.add,
            multiply=tf.multiply,
            relu=tf.nn.relu,
            concatenate=lambda xs, axis=-1: tf.concat(list(xs), axis=axis),
        )
        return SimpleNamespace(
            Layer=tf_keras.layers.Layer,
            Model=tf_keras.Model,
            Sequential=tf_keras.Sequential,
            InputSpec=tf_keras.layers.InputSpec,
            Input=tf_keras.Input,
            layers=tf_keras.layers,
            optimizers=tf_keras.optimizers,
            utils=tf_keras.utils,
            ops=ops,
        )

    def to_numpy(self, x):
        # tf.Variable.__array__ lacks numpy 2's `copy` keyword; .numpy() avoids the deprecated path.
        return np.array(x.numpy() if hasattr(x, "numpy") else x)

    def is_symbolic(self, x):
        return self._tf_keras.backend.is_keras_tensor(x)

    def set_seed(self, seed):
        self._tf_keras.utils.set_random_seed(seed)

    def compiled_call(self, layer, x, training):
        return self.to_numpy(self._tf.function(lambda t: layer(t, training=training))(x))

    def recorded_call(self, model, x, training, output_gradient):
        return _tape_call(self._tf, self.to_numpy, model, x, training, output_gradient)

    def versions(self):
        return installed("tf-keras", "tensorflow-cpu", "tensorflow", "numpy")


def _tape_call(tf, to_numpy, model, x, training, output_gradient):
    """A custom training loop's step on TensorFlow: the call under tf.GradientTape, then the
    gradient of sum(output * output_gradient) for each trainable weight (zeros where unconnected)."""
    with tf.GradientTape() as tape:
        y = model(tf.convert_to_tensor(x), training=training)
    grads = tape.gradient(
        y,
        model.trainable_weights,
        output_gradients=tf.cast(output_gradient, y.dtype),
        unconnected_gradients=tf.UnconnectedGradients.ZERO,
    )
    return to_numpy(y), [to_numpy(g) for g in grads]
