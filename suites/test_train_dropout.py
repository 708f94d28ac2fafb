"""TRAIN (Dropout): identity in inference; in training each element dropped with probability
`rate`, survivors scaled by exactly 1/(1-rate). Statistical checks use exact binomial bounds
with false-failure probability <= 1e-9 per check and fixed seeds."""
import numpy as np
import pytest

from spec.harness import clause
from suites._helpers import assert_binomial

SHAPE = (200, 100)  # n = 20000 Bernoulli trials per call


def _x():
    # Strictly positive inputs: an output zero can only come from the mask.
    return np.random.default_rng(7).uniform(1.0, 2.0, SHAPE).astype("float32")


@clause("TRAIN.DROPOUT_INFERENCE_IDENTITY")
@pytest.mark.parametrize("training", [False, None, "omitted"])
def test_dropout_is_identity_when_not_training(K, backend, training):
    layer = K.layers.Dropout(0.5, seed=1)
    x = _x()
    out = layer(x) if training == "omitted" else layer(x, training=training)
    np.testing.assert_array_equal(backend.to_numpy(out), x)


@clause("TRAIN.DROPOUT_RATE")
@pytest.mark.parametrize("rate", [0.1, 0.3, 0.75])
def test_dropout_zeroes_elements_at_rate(K, backend, rate):
    backend.set_seed(1234)
    layer = K.layers.Dropout(rate, seed=99)
    out = backend.to_numpy(layer(_x(), training=True))
    assert_binomial(int((out == 0).sum()), out.size, rate, f"zeros at rate={rate}")


@clause("TRAIN.DROPOUT_SCALE")
@pytest.mark.parametrize("rate", [0.1, 0.3, 0.75])
def test_dropout_scales_kept_elements_by_inverse_keep_probability(K, backend, rate):
    backend.set_seed(4321)
    x = _x()
    out = backend.to_numpy(K.layers.Dropout(rate, seed=5)(x, training=True))
    kept = out != 0
    assert kept.any()
    np.testing.assert_allclose(out[kept], x[kept] / (1.0 - rate), rtol=1e-6, atol=0)


@clause("TRAIN.DROPOUT_FRESH_MASK")
def test_dropout_draws_a_new_mask_on_each_training_call(K, backend):
    backend.set_seed(77)
    layer = K.layers.Dropout(0.5, seed=11)
    x = _x()
    first = backend.to_numpy(layer(x, training=True)) == 0
    second = backend.to_numpy(layer(x, training=True)) == 0
    # Two independent masks agree at a position with probability 0.5, so the number of
    # disagreeing positions is Binomial(n, 0.5); a frozen mask gives 0.
    assert_binomial(int((first != second).sum()), first.size, 0.5, "positions whose mask changed")


@clause("TRAIN.DROPOUT_RATE_ZERO")
def test_dropout_with_rate_zero_is_identity_in_training(K, backend):
    x = _x()
    np.testing.assert_array_equal(backend.to_numpy(K.layers.Dropout(0.0)(x, training=True)), x)


@clause("TRAIN.DROPOUT_INVALID_RATE")
@pytest.mark.parametrize("rate", [-0.1, 1.5])
def test_dropout_rejects_rate_outside_unit_interval_at_construction(K, rate):
    with pytest.raises(ValueError):
        K.layers.Dropout(rate)
