"""TRAIN (Dropout): identity in inference; in training each element dropped with probability
`rate`, survivors scaled by exactly 1/(1-rate), a fresh mask per call, every position at the
same rate; seeds reproduce masks. Statistical checks use exact binomial bounds with
false-failure probability <= 1e-9 per check (arithmetic and power: suites/_helpers.py) and
fixed seeds. No check compares one backend's masks with another backend's (or the
reference's): each backend is compared only with itself and with the binomial law."""

import re

import numpy as np
import pytest
from hypothesis import given

from layercontract.spec.harness import clause
from layercontract.suites import strategies
from layercontract.suites._helpers import (
    FALSE_FAILURE_PROBABILITY,
    assert_binomial,
    assert_binomial_each,
    binomial_acceptance,
    close,
    names_number,
    own_message,
    tolerance,
)

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
    close(out[kept], x[kept] / (1.0 - rate), **tolerance("TRAIN.DROPOUT_SCALE"))


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


# ------------------------------------------------------------- generated cases
@clause("TRAIN.DROPOUT_INFERENCE_IDENTITY")
@given(case=strategies.dropout_identity_cases())
def test_dropout_is_identity_when_not_training_for_generated_shapes_and_rates(K, backend, case):
    x, rate, training = case
    layer = K.layers.Dropout(rate)
    out = layer(x) if training == "omitted" else layer(x, training=training)
    np.testing.assert_array_equal(backend.to_numpy(out), x)


@clause("TRAIN.DROPOUT_RATE")
@given(rate=strategies.open_dropout_rates)
def test_dropout_zero_count_is_binomial_for_generated_rates(K, backend, rate):
    backend.set_seed(2468)
    out = backend.to_numpy(K.layers.Dropout(rate)(_x(), training=True))
    assert_binomial(int((out == 0).sum()), out.size, rate, f"zeros at rate={rate}")


# --------------------------------------------------------------- across calls
POSITIONS = (20, 50)  # 1000 positions, each a Binomial(calls, rate) count


@clause("TRAIN.DROPOUT_PER_POSITION_RATE")
@pytest.mark.parametrize(
    "rate,calls,seed", [(0.5, 50, None), (0.25, 100, None), (0.5, 50, 7)], ids=["rate0.5", "rate0.25", "rate0.5-seeded"]
)
def test_each_position_is_dropped_at_rate_across_training_calls(K, backend, rate, calls, seed):
    # With this many calls a position dropped never or always lies outside the per-position
    # interval, so a frozen or partly frozen mask cannot pass.
    lo, hi = binomial_acceptance(calls, rate, FALSE_FAILURE_PROBABILITY / np.prod(POSITIONS))
    assert 0 < lo and hi < calls
    backend.set_seed(97)
    layer = K.layers.Dropout(rate) if seed is None else K.layers.Dropout(rate, seed=seed)
    x = np.random.default_rng(3).uniform(1.0, 2.0, POSITIONS).astype("float32")
    drops = np.zeros(POSITIONS, dtype=int)
    for _ in range(calls):
        drops += backend.to_numpy(layer(x, training=True)) == 0
    assert_binomial(int(drops.sum()), calls * drops.size, rate, f"drops over {calls} calls")
    assert_binomial_each(drops, calls, rate, f"per-position drops over {calls} calls")


# ---------------------------------------------------------------------- seeds
RATE = 0.5
MASK_SHAPE = (100, 100)  # n = 10000; two independent masks differ at Binomial(n, 2p(1-p)) positions


def _masks(K, backend, global_seed, seed=None, calls=2, fresh_global=True):
    """The masks of `calls` training calls of a Dropout(RATE, seed) made after
    set_seed(global_seed), or (fresh_global=False) wherever the global state is now."""
    if fresh_global:
        backend.set_seed(global_seed)
    layer = K.layers.Dropout(RATE) if seed is None else K.layers.Dropout(RATE, seed=seed)
    x = np.ones(MASK_SHAPE, dtype="float32")
    return [backend.to_numpy(layer(x, training=True)) == 0 for _ in range(calls)]


def _assert_independent(a, b, what):
    assert_binomial(int((a != b).sum()), a.size, 2 * RATE * (1 - RATE), f"positions where {what} differ")


def _assert_dropout_mask(mask):
    """Equal masks mean something only if they are real masks (not all kept or all dropped)."""
    assert_binomial(int(mask.sum()), mask.size, RATE, "dropped positions of the mask")


@clause("TRAIN.DROPOUT_SEEDED")
def test_same_global_and_layer_seed_give_the_same_masks(K, backend):
    first, again = _masks(K, backend, 5, seed=11), _masks(K, backend, 5, seed=11)
    for call, (a, b) in enumerate(zip(first, again)):
        np.testing.assert_array_equal(a, b, err_msg=f"mask of training call {call + 1}")
    _assert_dropout_mask(first[0])
    _assert_independent(first[0], first[1], "the first and second masks")  # still fresh per call


@clause("TRAIN.DROPOUT_SEEDED")
def test_different_layer_seeds_give_independent_masks(K, backend):
    (a,) = _masks(K, backend, 5, seed=11, calls=1)
    (b,) = _masks(K, backend, 5, seed=12, calls=1)
    _assert_independent(a, b, "the masks of seeds 11 and 12")


@clause("TRAIN.DROPOUT_GLOBAL_SEED")
def test_global_seed_reproduces_the_masks_of_an_unseeded_dropout(K, backend):
    first, again = _masks(K, backend, 21), _masks(K, backend, 21)
    for call, (a, b) in enumerate(zip(first, again)):
        np.testing.assert_array_equal(a, b, err_msg=f"mask of training call {call + 1}")
    _assert_dropout_mask(first[0])
    _assert_independent(first[0], first[1], "the first and second masks")


@clause("TRAIN.DROPOUT_GLOBAL_SEED")
def test_different_global_seeds_give_independent_masks_of_an_unseeded_dropout(K, backend):
    (a,) = _masks(K, backend, 21, calls=1)
    (b,) = _masks(K, backend, 22, calls=1)
    _assert_independent(a, b, "the masks after global seeds 21 and 22")


@clause("TRAIN.DROPOUT_SEED_ALONE.K3")
def test_seeded_dropout_masks_depend_on_the_layer_seed_alone_keras3(K, backend):
    (a,) = _masks(K, backend, 5, seed=11, calls=1)
    _assert_dropout_mask(a)
    (b,) = _masks(K, backend, 6, seed=11, calls=1)
    np.testing.assert_array_equal(a, b, err_msg="same layer seed, other global seed")
    (c,) = _masks(K, backend, None, seed=11, calls=1, fresh_global=False)  # global state moved on
    np.testing.assert_array_equal(b, c, err_msg="a second layer with the same seed, no reseeding")


@clause("TRAIN.DROPOUT_SEED_WITH_GLOBAL.K2")
def test_seeded_dropout_masks_depend_on_the_global_seed_too_keras2(K, backend):
    (a,) = _masks(K, backend, 5, seed=11, calls=1)
    (b,) = _masks(K, backend, 6, seed=11, calls=1)
    _assert_independent(a, b, "the masks of layer seed 11 after global seeds 5 and 6")
    (c,) = _masks(K, backend, None, seed=11, calls=1, fresh_global=False)  # global state moved on
    _assert_independent(b, c, "the masks of two layers with seed 11 made one after the other")


# ---------------------------------------------------------------- rate 1.0: edition difference
POSITIVE = np.random.default_rng(7).uniform(0.5, 2.0, (50, 40)).astype("float32")


@clause("TRAIN.DROPOUT_RATE_ONE.K3")
def test_dropout_rate_one_returns_zeros_in_training_keras3(K, backend):
    out = backend.to_numpy(K.layers.Dropout(1.0)(POSITIVE, training=True))
    assert not np.isnan(out).any(), "NaN in the output of Dropout(1.0)"
    np.testing.assert_array_equal(out, np.zeros_like(POSITIVE))


@clause("TRAIN.DROPOUT_RATE_ONE.K3", "TRAIN.DROPOUT_RATE_ONE.K2", "TRAIN.DROPOUT_INFERENCE_IDENTITY")
@pytest.mark.parametrize("training", [False, None], ids=["false", "none"])
def test_dropout_rate_one_is_the_identity_in_inference(K, backend, training):
    out = backend.to_numpy(K.layers.Dropout(1.0)(POSITIVE, training=training))
    np.testing.assert_array_equal(out, POSITIVE)


@clause("TRAIN.DROPOUT_RATE_ONE.K2")
def test_dropout_rate_one_raises_at_the_first_training_call_keras2(K, backend):
    layer = K.layers.Dropout(1.0)  # accepted at construction
    with pytest.raises(ValueError) as info:
        layer(POSITIVE, training=True)
    message = own_message(info.value)  # names the rate: the word and its value, in any wording
    assert re.search(r"\brate\b", message, re.IGNORECASE) and names_number(message, 1.0), message
