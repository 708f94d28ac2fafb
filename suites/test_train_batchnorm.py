"""TRAIN (BatchNormalization): batch statistics and moving-average updates in training,
moving statistics in inference, inference whenever trainable=False."""
import numpy as np
import pytest

from spec.harness import clause
from suites._helpers import close, tolerance

EPS, MOMENTUM = 1e-3, 0.99


def _x(shape=(4, 3), seed=0):
    return (np.random.default_rng(seed).standard_normal(shape) * 3 + 2).astype("float32")


def _reduce_axes(x):
    return tuple(range(x.ndim - 1))


def _set_moving(bn, backend, mean, variance):
    gamma, beta, _, _ = (backend.to_numpy(w) for w in bn.weights)
    bn.set_weights([gamma, beta, np.asarray(mean, "float32"), np.asarray(variance, "float32")])


def _stats(bn, backend):
    return backend.to_numpy(bn.moving_mean), backend.to_numpy(bn.moving_variance)


@clause("TRAIN.BN_DEFAULTS")
def test_batchnorm_defaults(K, backend):
    bn = K.layers.BatchNormalization()
    assert bn.momentum == pytest.approx(MOMENTUM)
    assert bn.epsilon == pytest.approx(EPS)
    assert bn.axis in (-1, [-1])
    bn(_x())
    mean, variance = _stats(bn, backend)
    np.testing.assert_array_equal(mean, 0)
    np.testing.assert_array_equal(variance, 1)


@clause("TRAIN.BN_TRAINING_BATCH_STATS")
@pytest.mark.parametrize("shape", [(4, 3), (2, 3, 5, 3)], ids=["rank2", "rank4"])
def test_batchnorm_training_normalizes_with_batch_mean_and_biased_variance(K, backend, shape):
    bn = K.layers.BatchNormalization()
    x = _x(shape)
    y = backend.to_numpy(bn(x, training=True))
    axes = _reduce_axes(x)
    expected = (x - x.mean(axes)) / np.sqrt(x.var(axes) + EPS)
    close(y, expected, **tolerance("TRAIN.BN_TRAINING_BATCH_STATS"))


@clause("TRAIN.BN_MOVING_UPDATE")
@pytest.mark.parametrize("shape", [(4, 3), (2, 3, 5, 3)], ids=["rank2", "rank4"])
def test_batchnorm_training_updates_moving_statistics_by_momentum(K, backend, shape):
    bn = K.layers.BatchNormalization()
    mean, variance = np.zeros(shape[-1]), np.ones(shape[-1])
    for step in range(3):
        x = _x(shape, seed=step)
        bn(x, training=True)
        axes = _reduce_axes(x)
        mean = MOMENTUM * mean + (1 - MOMENTUM) * x.mean(axes)
        variance = MOMENTUM * variance + (1 - MOMENTUM) * x.var(axes)  # biased batch variance
    got_mean, got_variance = _stats(bn, backend)
    close(got_mean, mean, **tolerance("TRAIN.BN_MOVING_UPDATE"), what="moving_mean")
    close(got_variance, variance, **tolerance("TRAIN.BN_MOVING_UPDATE"), what="moving_variance")


@clause("TRAIN.BN_INFERENCE")
@pytest.mark.parametrize("training", [False, "omitted"])
def test_batchnorm_inference_uses_moving_statistics_and_updates_nothing(K, backend, training):
    bn = K.layers.BatchNormalization()
    bn(_x())  # build
    _set_moving(bn, backend, [1.0, -2.0, 0.5], [4.0, 0.25, 9.0])
    x = _x(seed=3)
    y = backend.to_numpy(bn(x) if training == "omitted" else bn(x, training=False))
    expected = (x - np.array([1.0, -2.0, 0.5])) / np.sqrt(np.array([4.0, 0.25, 9.0]) + EPS)
    close(y, expected, **tolerance("TRAIN.BN_INFERENCE"))
    mean, variance = _stats(bn, backend)
    np.testing.assert_array_equal(mean, np.float32([1.0, -2.0, 0.5]))
    np.testing.assert_array_equal(variance, np.float32([4.0, 0.25, 9.0]))


@clause("TRAIN.BN_FROZEN_IS_INFERENCE")
def test_batchnorm_with_trainable_false_runs_in_inference_even_with_training_true(K, backend):
    bn = K.layers.BatchNormalization()
    bn(_x())
    _set_moving(bn, backend, [1.0, -2.0, 0.5], [4.0, 0.25, 9.0])
    bn.trainable = False
    x = _x(seed=5)
    y = backend.to_numpy(bn(x, training=True))
    expected = (x - np.array([1.0, -2.0, 0.5])) / np.sqrt(np.array([4.0, 0.25, 9.0]) + EPS)
    close(y, expected, **tolerance("TRAIN.BN_INFERENCE"))
    mean, variance = _stats(bn, backend)
    np.testing.assert_array_equal(mean, np.float32([1.0, -2.0, 0.5]))
    np.testing.assert_array_equal(variance, np.float32([4.0, 0.25, 9.0]))
    assert bn.trainable_weights == []
    assert len(bn.non_trainable_weights) == 4
