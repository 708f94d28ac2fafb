"""INPUT: InputSpec checks run before build and call, raise a clear ValueError, change nothing."""

import numpy as np
import pytest
from hypothesis import given

from layercontract.spec.harness import clause, requires
from layercontract.suites import strategies
from layercontract.suites._helpers import (
    assert_message_names,
    assert_names_counts,
    guarded_layer,
    names_input_index,
    own_message,
)


def _spec_layer(K, **spec):
    return guarded_layer(K, spec or None)


# (spec, rejected input shape, property word, expected value, received value, accepted input shape);
# the values as _helpers.names_value reads them, in any wording: an int stands alone in the
# message's own words, a tuple is a shape, a list is alternatives (the received size of an axis
# may be shown as the received shape).
VIOLATIONS = {
    "ndim": ({"ndim": 2}, (2, 3, 1), "ndim", 2, 3, (2, 3)),
    "min_ndim": ({"min_ndim": 3}, (2, 3), "min_ndim", 3, 2, (2, 3, 4)),
    "max_ndim": ({"max_ndim": 2}, (2, 3, 4), "max_ndim", 2, 3, (2, 3)),
    "axes": ({"axes": {-1: 5}}, (10, 4), "axis -1", 5, [4, (10, 4)], (10, 5)),
    "shape": ({"shape": (None, 3)}, (2, 4), "shape", (None, 3), (2, 4), (7, 3)),
}
CLAUSE_OF = {
    "ndim": "INPUT.NDIM",
    "min_ndim": "INPUT.MIN_NDIM",
    "max_ndim": "INPUT.MAX_NDIM",
    "axes": "INPUT.AXIS_VALUE",
    "shape": "INPUT.SHAPE",
}


def _rejects(K, kind):
    spec, bad, _prop, _exp, _rec, good = VIOLATIONS[kind]
    layer = _spec_layer(K, **spec)
    with pytest.raises(ValueError) as info:
        layer(np.ones(bad, dtype="float32"))
    return layer, own_message(info.value), good


@clause("INPUT.NDIM")
def test_ndim_violation_raises_value_error(K):
    _rejects(K, "ndim")


@clause("INPUT.MIN_NDIM")
def test_min_ndim_violation_raises_value_error(K):
    _rejects(K, "min_ndim")


@clause("INPUT.MAX_NDIM")
def test_max_ndim_violation_raises_value_error(K):
    _rejects(K, "max_ndim")


@clause("INPUT.AXIS_VALUE")
def test_axis_value_violation_raises_value_error(K):
    _rejects(K, "axes")


@clause("INPUT.SHAPE")
def test_shape_violation_raises_and_none_is_a_wildcard(K):
    _rejects(K, "shape")
    layer = _spec_layer(K, shape=(None, 3))
    layer(np.ones((11, 3), dtype="float32"))  # None matches any batch size


@clause("INPUT.SPEC_ACCEPTS_VALID")
@pytest.mark.parametrize("kind", sorted(VIOLATIONS))
def test_input_meeting_the_spec_is_accepted(K, kind):
    spec, _bad, _prop, _exp, _rec, good = VIOLATIONS[kind]
    layer = _spec_layer(K, **spec)
    layer(np.ones(good, dtype="float32"))
    assert layer.events == ["build", "call"]


@clause("INPUT.DTYPE")
def test_dtype_violation_raises_value_error(K):
    layer = _spec_layer(K, dtype="float32")
    with pytest.raises(ValueError) as info:
        layer(np.ones((2, 3), dtype="int32"))
    assert_message_names(
        own_message(info.value), layer=layer.name, index=0, prop="dtype", expected="float32", received="int32"
    )


@clause("INPUT.DTYPE_CHECKED_AFTER_AUTOCAST.K3")
def test_float64_input_passes_a_float32_dtype_spec_after_autocast(K):
    layer = _spec_layer(K, dtype="float32")
    layer(np.ones((2, 3), dtype="float64"))
    assert layer.events == ["build", "call"]


@clause("INPUT.DTYPE_CHECKED_BEFORE_AUTOCAST.K2")
def test_float64_input_fails_a_float32_dtype_spec_before_autocast(K):
    layer = _spec_layer(K, dtype="float32")
    with pytest.raises(ValueError):
        layer(np.ones((2, 3), dtype="float64"))


@clause("INPUT.DTYPE_CHECKED_AFTER_AUTOCAST.K3")
@pytest.mark.parametrize("input_dtype", ["float32", "float64"])
def test_a_float64_layer_meets_its_dtype_spec_with_its_compute_dtype_keras3(K, input_dtype):
    # dtype="float64" is what every layer gets by default after set_floatx("float64")
    x = np.ones((2, 3), dtype=input_dtype)
    accepting = guarded_layer(K, {"dtype": "float64"}, dtype="float64")
    accepting(x)
    assert accepting.events == ["build", "call"], accepting.events
    rejecting = guarded_layer(K, {"dtype": "float32"}, dtype="float64")
    with pytest.raises(ValueError) as info:
        rejecting(x)
    assert rejecting.events == [], f"a rejected call ran {rejecting.events}"
    assert_message_names(
        own_message(info.value), layer=rejecting.name, index=0, prop="dtype", expected="float32", received="float64"
    )


@clause("INPUT.DTYPE_CHECKED_BEFORE_AUTOCAST.K2")
@pytest.mark.parametrize("spec_dtype", ["float32", "float64"])
def test_a_float64_layer_meets_its_dtype_spec_with_the_given_dtype_keras2(K, spec_dtype):
    other = "float32" if spec_dtype == "float64" else "float64"
    accepting = guarded_layer(K, {"dtype": spec_dtype}, dtype="float64")
    accepting(np.ones((2, 3), dtype=spec_dtype))
    assert accepting.events == ["build", "call"], accepting.events
    rejecting = guarded_layer(K, {"dtype": spec_dtype}, dtype="float64")
    with pytest.raises(ValueError) as info:
        rejecting(np.ones((2, 3), dtype=other))
    assert_message_names(
        own_message(info.value), layer=rejecting.name, index=0, prop="dtype", expected=spec_dtype, received=other
    )


@clause("INPUT.NUMBER_OF_INPUTS")
def test_list_of_specs_rejects_a_different_number_of_inputs(K):
    layer = _spec_layer(K)
    layer.input_spec = [K.InputSpec(ndim=2), K.InputSpec(ndim=2)]
    x = np.ones((2, 4), dtype="float32")
    with pytest.raises(ValueError) as info:
        layer([x, x, x])
    assert_names_counts(own_message(info.value), layer=layer.name, expected=2, received=3)
    assert layer.events == []


@clause("INPUT.EACH_INPUT_CHECKED")
@pytest.mark.parametrize("bad_index", [0, 1])
def test_every_input_of_a_list_is_checked_against_its_spec(K, bad_index):
    layer = _spec_layer(K)
    layer.input_spec = [K.InputSpec(ndim=2), K.InputSpec(ndim=2)]
    inputs = [np.ones((2, 4), dtype="float32"), np.ones((2, 4), dtype="float32")]
    inputs[bad_index] = np.ones((2, 4, 1), dtype="float32")
    with pytest.raises(ValueError) as info:
        layer(inputs)
    assert_message_names(
        own_message(info.value),
        layer=layer.name,
        index=bad_index,
        prop="ndim",
        expected=2,
        received=3,
        full_shape=(2, 4, 1),
    )


@clause("INPUT.BEFORE_BUILD_AND_CALL")
@pytest.mark.parametrize("kind", sorted(VIOLATIONS))
def test_spec_set_in_init_is_checked_before_build_and_call(K, kind):
    layer, _message, _good = _rejects(K, kind)
    assert layer.events == []
    assert not layer.built


@clause("INPUT.ERROR_MESSAGE")
@pytest.mark.parametrize("kind", sorted(VIOLATIONS))
def test_error_names_layer_index_property_expected_and_received(K, kind):
    _spec, _bad, prop, expected, received, _good = VIOLATIONS[kind]
    layer, message, _good = _rejects(K, kind)
    assert_message_names(message, layer=layer.name, index=0, prop=prop, expected=expected, received=received)


@clause("INPUT.ERROR_FULL_SHAPE")
@pytest.mark.parametrize("kind", sorted(VIOLATIONS))
def test_error_shows_the_full_received_shape(K, kind):
    _spec, bad, *_ = VIOLATIONS[kind]
    _layer, message, _good = _rejects(K, kind)
    assert_message_names(message, layer=_layer.name, index=0, prop="", expected="", received="", full_shape=bad)


@clause("INPUT.DENSE_LAST_AXIS", "INPUT.ERROR_MESSAGE")
def test_built_dense_rejects_a_different_last_axis_naming_both_sizes(K):
    dense = K.layers.Dense(3)
    dense(np.ones((10, 5), dtype="float32"))
    with pytest.raises(ValueError) as info:
        dense(np.ones((10, 4), dtype="float32"))
    assert_message_names(
        own_message(info.value),
        layer=dense.name,
        index=0,
        prop="axis -1",
        expected=5,
        received=[4, (10, 4)],
        full_shape=(10, 4),
    )


@clause("INPUT.REJECTED_CALL_CHANGES_NOTHING")
def test_rejected_call_leaves_built_dense_unchanged_and_usable(K, backend):
    dense = K.layers.Dense(3)
    dense(np.ones((10, 5), dtype="float32"))
    weights = list(dense.weights)
    values = [backend.to_numpy(w).copy() for w in weights]
    with pytest.raises(ValueError):
        dense(np.ones((10, 4), dtype="float32"))
    assert all(a is b for a, b in zip(dense.weights, weights)) and len(dense.weights) == 2
    for w, v in zip(dense.weights, values):
        np.testing.assert_array_equal(backend.to_numpy(w), v)
    out = dense(np.ones((2, 5), dtype="float32"))
    assert tuple(out.shape) == (2, 3)


@clause("INPUT.REJECTED_CALL_CHANGES_NOTHING")
def test_rejected_first_call_leaves_dense_unbuilt_then_valid_call_builds(K):
    dense = K.layers.Dense(3)
    with pytest.raises(ValueError):
        dense(np.ones((10,), dtype="float32"))  # Dense needs min_ndim=2
    assert not dense.built
    assert dense.weights == []
    dense(np.ones((4, 6), dtype="float32"))
    assert dense.built and tuple(dense.kernel.shape) == (6, 3)


@clause("INPUT.SYMBOLIC_CHECKED")
@requires("symbolic")
def test_symbolic_input_with_none_batch_is_checked_too(K):
    dense = K.layers.Dense(3)
    dense(K.Input(shape=(5,)))
    with pytest.raises(ValueError) as info:
        dense(K.Input(shape=(4,)))
    assert_message_names(
        own_message(info.value),
        layer=dense.name,
        index=0,
        prop="axis -1",
        expected=5,
        received=[4, (None, 4)],
        full_shape=(None, 4),
    )
    layer = _spec_layer(K, ndim=2)
    with pytest.raises(ValueError):
        layer(K.Input(shape=(3, 4)))
    assert layer.events == []


# ------------------------------------------------ generated cases (hypothesis, `ci` profile)
def _check_spec_case(ns, case):
    """On namespace `ns`: the invalid input raises ValueError before build and call and leaves
    the layer unbuilt; then the valid input is accepted."""
    layer = guarded_layer(ns, case.spec)
    with pytest.raises(ValueError):
        layer(strategies.example_input(case.invalid_shape, case.invalid_dtype))
    assert layer.events == [] and not layer.built, f"rejected call ran {layer.events}"
    layer(strategies.example_input(case.valid_shape, case.valid_dtype))
    assert layer.events == ["build", "call"]


def _spec_property(K, reference_K, case):
    _check_spec_case(K, case)
    _check_spec_case(reference_K, case)  # the generated case is right about the contract


@clause("INPUT.NDIM", "INPUT.SPEC_ACCEPTS_VALID", "INPUT.BEFORE_BUILD_AND_CALL")
@given(case=strategies.input_spec_cases("ndim"))
def test_generated_ndim_violations_raise_value_error(K, reference_K, case):
    _spec_property(K, reference_K, case)


@clause("INPUT.MIN_NDIM", "INPUT.SPEC_ACCEPTS_VALID", "INPUT.BEFORE_BUILD_AND_CALL")
@given(case=strategies.input_spec_cases("min_ndim"))
def test_generated_min_ndim_violations_raise_value_error(K, reference_K, case):
    _spec_property(K, reference_K, case)


@clause("INPUT.MAX_NDIM", "INPUT.SPEC_ACCEPTS_VALID", "INPUT.BEFORE_BUILD_AND_CALL")
@given(case=strategies.input_spec_cases("max_ndim"))
def test_generated_max_ndim_violations_raise_value_error(K, reference_K, case):
    _spec_property(K, reference_K, case)


@clause("INPUT.AXIS_VALUE", "INPUT.SPEC_ACCEPTS_VALID", "INPUT.BEFORE_BUILD_AND_CALL")
@given(case=strategies.input_spec_cases("axes"))
def test_generated_axis_value_violations_raise_value_error(K, reference_K, case):
    _spec_property(K, reference_K, case)


@clause("INPUT.SHAPE", "INPUT.SPEC_ACCEPTS_VALID", "INPUT.BEFORE_BUILD_AND_CALL")
@given(case=strategies.input_spec_cases("shape"))
def test_generated_shape_violations_raise_value_error_and_none_matches_any_size(K, reference_K, case):
    _spec_property(K, reference_K, case)


@clause("INPUT.DTYPE", "INPUT.SPEC_ACCEPTS_VALID", "INPUT.BEFORE_BUILD_AND_CALL")
@given(case=strategies.input_spec_cases("dtype"))
def test_generated_dtype_violations_raise_value_error(K, reference_K, case):
    _spec_property(K, reference_K, case)


def _check_multi_case(ns, case):
    layer = guarded_layer(ns, case.specs)
    with pytest.raises(ValueError) as info:
        layer([np.ones(s, dtype="float32") for s in case.invalid_shapes])
    assert layer.events == [] and not layer.built, f"rejected call ran {layer.events}"
    if case.bad_index is not None:  # the message names the violating input's index
        message = own_message(info.value)
        assert names_input_index(message, case.bad_index), message
    layer([np.ones(s, dtype="float32") for s in case.valid_shapes])
    assert layer.events == ["build", "call"]


@clause("INPUT.NUMBER_OF_INPUTS", "INPUT.SPEC_ACCEPTS_VALID")
@given(case=strategies.multi_input_cases("count"))
def test_generated_wrong_number_of_inputs_raises_value_error(K, reference_K, case):
    _check_multi_case(K, case)
    _check_multi_case(reference_K, case)


@clause("INPUT.EACH_INPUT_CHECKED", "INPUT.SPEC_ACCEPTS_VALID")
@given(case=strategies.multi_input_cases("one_input"))
def test_generated_violation_by_any_one_input_raises_value_error(K, reference_K, case):
    _check_multi_case(K, case)
    _check_multi_case(reference_K, case)
