"""Generated cases (hypothesis) for the numeric and shape clauses. The `ci` profile is
derandomized: the same examples on every run and every backend."""
import numpy as np
import pytest
from hypothesis import given

from spec.harness import clause
from suites import strategies
from suites._helpers import clean_message, close, mentions_shape, tolerance


@clause("CALL.MODEL_SEQUENTIAL", "BUILD.DENSE_WEIGHT_SHAPES")
@given(case=strategies.dense_cases())
def test_dense_computes_x_kernel_plus_bias_for_generated_shapes(K, backend, case):
    x, kernel, bias = case
    dense = K.layers.Dense(kernel.shape[1])
    dense(x)
    dense.set_weights([kernel, bias])
    close(backend.to_numpy(dense(x)), x @ kernel + bias, **tolerance("CALL.MODEL_SEQUENTIAL"))


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
    close(backend.to_numpy(bn.moving_variance), momentum + (1 - momentum) * var,
          **tolerance("TRAIN.BN_MOVING_UPDATE"))


@clause("MULTI.CONCAT_BUILD")
@given(case=strategies.concat_shapes(compatible=True))
def test_concatenate_output_for_generated_compatible_shapes(K, backend, case):
    axis, shapes = case
    arrays = [np.full(s, i + 1, dtype="float32") for i, s in enumerate(shapes)]
    out = backend.to_numpy(K.layers.Concatenate(axis=axis)(arrays))
    np.testing.assert_array_equal(out, np.concatenate(arrays, axis=axis))


@clause("MULTI.CONCAT_SHAPE_MISMATCH")
@given(case=strategies.concat_shapes(compatible=False))
def test_concatenate_rejects_generated_incompatible_shapes(K, case):
    axis, shapes = case
    with pytest.raises(ValueError) as info:
        K.layers.Concatenate(axis=axis)([np.ones(s, dtype="float32") for s in shapes])
    message = clean_message(info.value)
    assert all(mentions_shape(message, s) for s in shapes), message
