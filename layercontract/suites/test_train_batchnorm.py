"""TRAIN (BatchNormalization): batch statistics and moving-average updates in training,
moving statistics in inference, inference whenever trainable=False."""

import numpy as np
import pytest
from hypothesis import given

from layercontract.spec.harness import clause
from layercontract.suites import strategies
from layercontract.suites._helpers import close, tolerance

EPS, MOMENTUM = 1e-3, 0.99
# (input shape, axis): features last, and channels-first on a rank-4 input
CASES = {"rank2": ((4, 3), -1), "rank4": ((2, 3, 5, 3), -1), "rank4-axis1": ((2, 3, 4, 5), 1)}
GAMMA, BETA = np.float32([1.5, 0.5, 2.0]), np.float32([0.25, -1.0, 3.0])
MOVING_MEAN, MOVING_VARIANCE = np.float32([1.0, -2.0, 0.5]), np.float32([4.0, 0.25, 9.0])


def _x(shape=(4, 3), seed=0):
    return (np.random.default_rng(seed).standard_normal(shape) * 3 + 2).astype("float32")


def _per_channel(v, ndim, axis):
    """Reshape a per-channel vector to broadcast against a rank-`ndim` input along `axis`."""
    shape = [1] * ndim
    shape[axis] = -1
    return np.reshape(v, shape)


def _batch_moments(x, axis):
    axes = tuple(a for a in range(x.ndim) if a != axis % x.ndim)
    return x.mean(axes), x.var(axes)  # biased variance


def _built(K, backend, x, axis=-1, mean=(0.0, 0.0, 0.0), variance=(1.0, 1.0, 1.0), **kwargs):
    """A BatchNormalization built on `x` (by an inference call, which updates nothing), with
    non-trivial gamma and beta: with gamma=1 and beta=0 a layer ignoring them would pass."""
    bn = K.layers.BatchNormalization(axis=axis, **kwargs)
    bn(x, training=False)
    bn.set_weights([GAMMA, BETA, np.float32(mean), np.float32(variance)])
    return bn


def _stats(bn, backend):
    return backend.to_numpy(bn.moving_mean), backend.to_numpy(bn.moving_variance)


def _normalized(x, mean, variance, axis=-1):
    c = lambda v: _per_channel(v, x.ndim, axis)  # noqa: E731
    return (x - c(mean)) / np.sqrt(c(variance) + EPS) * c(GAMMA) + c(BETA)


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
@pytest.mark.parametrize("case", list(CASES))
def test_batchnorm_training_normalizes_with_batch_mean_and_biased_variance(K, backend, case):
    shape, axis = CASES[case]
    x = _x(shape)
    bn = _built(K, backend, x, axis=axis)
    y = backend.to_numpy(bn(x, training=True))
    mean, variance = _batch_moments(x, axis)
    close(y, _normalized(x, mean, variance, axis), **tolerance("TRAIN.BN_TRAINING_BATCH_STATS"))


@clause("TRAIN.BN_MOVING_UPDATE")
@pytest.mark.parametrize("case", list(CASES))
def test_batchnorm_training_updates_moving_statistics_by_momentum(K, backend, case):
    shape, axis = CASES[case]
    bn = K.layers.BatchNormalization(axis=axis)
    mean, variance = np.zeros(3), np.ones(3)
    for step in range(3):
        x = _x(shape, seed=step)
        bn(x, training=True)
        batch_mean, batch_variance = _batch_moments(x, axis)
        mean = MOMENTUM * mean + (1 - MOMENTUM) * batch_mean
        variance = MOMENTUM * variance + (1 - MOMENTUM) * batch_variance
    got_mean, got_variance = _stats(bn, backend)
    close(got_mean, mean, **tolerance("TRAIN.BN_MOVING_UPDATE"), what="moving_mean")
    close(got_variance, variance, **tolerance("TRAIN.BN_MOVING_UPDATE"), what="moving_variance")


@clause("TRAIN.BN_INFERENCE")
@pytest.mark.parametrize("training", [False, "omitted"])
def test_batchnorm_inference_uses_moving_statistics_and_updates_nothing(K, backend, training):
    x = _x(seed=3)
    bn = _built(K, backend, x, mean=MOVING_MEAN, variance=MOVING_VARIANCE)
    y = backend.to_numpy(bn(x) if training == "omitted" else bn(x, training=False))
    close(y, _normalized(x, MOVING_MEAN, MOVING_VARIANCE), **tolerance("TRAIN.BN_INFERENCE"))
    mean, variance = _stats(bn, backend)
    np.testing.assert_array_equal(mean, MOVING_MEAN)
    np.testing.assert_array_equal(variance, MOVING_VARIANCE)


@clause("TRAIN.BN_FROZEN_IS_INFERENCE")
def test_batchnorm_with_trainable_false_runs_in_inference_even_with_training_true(K, backend):
    x = _x(seed=5)
    bn = _built(K, backend, x, mean=MOVING_MEAN, variance=MOVING_VARIANCE)
    bn.trainable = False
    y = backend.to_numpy(bn(x, training=True))
    close(y, _normalized(x, MOVING_MEAN, MOVING_VARIANCE), **tolerance("TRAIN.BN_INFERENCE"))
    mean, variance = _stats(bn, backend)
    np.testing.assert_array_equal(mean, MOVING_MEAN)
    np.testing.assert_array_equal(variance, MOVING_VARIANCE)
    assert bn.trainable_weights == []
    assert len(bn.non_trainable_weights) == 4


# ------------------------------------------------ generated cases (hypothesis, `ci` profile)
@clause("TRAIN.BN_TRAINING_BATCH_STATS", "TRAIN.BN_MOVING_UPDATE")
@given(case=strategies.batchnorm_cases())
def test_batchnorm_training_step_for_generated_inputs_and_hyperparameters(K, backend, case):
    x, momentum, epsilon = case
    bn = K.layers.BatchNormalization(momentum=momentum, epsilon=epsilon)
    y = backend.to_numpy(bn(x, training=True))
    axes = tuple(range(x.ndim - 1))
    mean, var = x.mean(axes), x.var(axes)
    close(y, (x - mean) / np.sqrt(var + epsilon), **tolerance("TRAIN.BN_TRAINING_BATCH_STATS"))
    close(backend.to_numpy(bn.moving_mean), (1 - momentum) * mean, **tolerance("TRAIN.BN_MOVING_UPDATE"))
    close(backend.to_numpy(bn.moving_variance), momentum + (1 - momentum) * var, **tolerance("TRAIN.BN_MOVING_UPDATE"))
