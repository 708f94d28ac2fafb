"""MODE: compiled execution (tf.function, jax.jit of stateless_call) keeps the eager contract:
build once, and Dropout/BatchNormalization honour `training`."""

import numpy as np
import pytest

from layercontract.spec.harness import clause, requires
from layercontract.suites._helpers import assert_binomial, close, tolerance

EPS = 1e-3


def _counting_dense_class(K):
    class CountingDense(K.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.builds = 0

        def build(self, input_shape):
            self.builds += 1
            self.kernel = self.add_weight(shape=(int(input_shape[-1]), 2), initializer="random_normal", name="kernel")

        def call(self, x):
            return K.ops.matmul(x, self.kernel)

    return CountingDense


@clause("MODE.COMPILED_BUILD_ONCE")
@requires("compiled")
def test_compiled_calls_build_once_and_keep_weights(K, backend):
    layer = _counting_dense_class(K)()
    x = np.random.default_rng(0).standard_normal((4, 3)).astype("float32")
    first = backend.compiled_call(layer, x, training=None)
    kernel = layer.kernel
    for batch in (4, 1, 6):
        backend.compiled_call(layer, np.ones((batch, 3), dtype="float32"), training=None)
    assert layer.builds == 1
    assert layer.kernel is kernel and len(layer.weights) == 1
    close(first, x @ backend.to_numpy(kernel), **tolerance("MODE.COMPILED_BUILD_ONCE"))


@clause("MODE.COMPILED_DROPOUT")
@requires("compiled")
def test_compiled_dropout_is_identity_in_inference_and_drops_at_rate_in_training(K, backend):
    x = np.random.default_rng(1).uniform(1.0, 2.0, (200, 100)).astype("float32")
    layer = K.layers.Dropout(0.3, seed=4)
    np.testing.assert_array_equal(backend.compiled_call(layer, x, training=False), x)
    out = backend.compiled_call(layer, x, training=True)
    assert_binomial(int((out == 0).sum()), out.size, 0.3, "zeros in compiled training mode")
    kept = out != 0
    close(out[kept], x[kept] / 0.7, **tolerance("MODE.COMPILED_DROPOUT"))


@clause("MODE.COMPILED_BATCHNORM")
@requires("compiled")
@pytest.mark.parametrize("training", [True, False])
def test_compiled_batchnorm_matches_eager_semantics(K, backend, training):
    x = (np.random.default_rng(2).standard_normal((8, 3)) * 2 + 1).astype("float32")
    bn = K.layers.BatchNormalization()
    y = backend.compiled_call(bn, x, training=training)
    if training:
        expected = (x - x.mean(0)) / np.sqrt(x.var(0) + EPS)
        moving = 0.01 * x.mean(0)
    else:
        expected, moving = x / np.sqrt(1 + EPS), np.zeros(3)
    close(y, expected, **tolerance("TRAIN.BN_TRAINING_BATCH_STATS"))
    close(backend.to_numpy(bn.moving_mean), moving, **tolerance("TRAIN.BN_MOVING_UPDATE"))
