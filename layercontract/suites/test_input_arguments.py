"""INPUT (which call arguments `input_spec` checks): only the first positional one, flattened."""

import numpy as np
import pytest

from layercontract.spec.harness import clause, requires
from layercontract.suites._helpers import assert_names_counts, names_input_index, own_message

A2 = np.ones((2, 3), dtype="float32")
B2 = np.ones((2, 3), dtype="float32")
B3 = np.ones((2, 3, 1), dtype="float32")


def _two_argument_layer(K, specs):
    class TwoArguments(K.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.input_spec = [K.InputSpec(**s) for s in specs] if isinstance(specs, list) else K.InputSpec(**specs)

        def call(self, a, b=None):
            return a

    return TwoArguments()


def _one_argument_layer(K, specs):
    class OneArgument(K.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.input_spec = [K.InputSpec(**s) for s in specs] if isinstance(specs, list) else K.InputSpec(**specs)

        def call(self, inputs):
            return inputs[0] if isinstance(inputs, (list, tuple)) else inputs

    return OneArgument()


CALLS = {
    "second-positional": lambda layer, a, b: layer(a, b),
    "keyword": lambda layer, a, b: layer(a, b=b),
}


@clause("INPUT.FIRST_ARGUMENT_ONLY")
@pytest.mark.parametrize("how", sorted(CALLS))
def test_tensors_after_the_first_argument_are_not_checked(K, backend, how):
    out = CALLS[how](_two_argument_layer(K, {"ndim": 2}), A2, B3)
    np.testing.assert_array_equal(backend.to_numpy(out), A2)


@clause("INPUT.FIRST_ARGUMENT_ONLY")
@requires("symbolic")
@pytest.mark.parametrize("how", sorted(CALLS))
def test_symbolic_tensors_after_the_first_argument_are_not_checked(K, backend, how):
    out = CALLS[how](_two_argument_layer(K, {"ndim": 2}), K.Input((3,)), K.Input((3, 1)))
    assert backend.is_symbolic(out)


@clause("INPUT.FIRST_ARGUMENT_ONLY", "INPUT.NUMBER_OF_INPUTS")
def test_a_list_of_specs_is_matched_against_the_first_argument_alone(K):
    layer = _two_argument_layer(K, [{"ndim": 2}, {"ndim": 2}])
    with pytest.raises(ValueError) as info:
        layer(A2, B2)  # a valid two-tensor call, but the first argument holds one tensor
    assert_names_counts(own_message(info.value), layer=layer.name, expected=2, received=1)


@clause("INPUT.FIRST_ARGUMENT_ONLY", "INPUT.NUMBER_OF_INPUTS")
@pytest.mark.parametrize("nested", [False, True], ids=["list", "nested-list"])
def test_the_first_argument_is_flattened_against_one_spec(K, nested):
    inputs = [[A2, B3]] if nested else [A2, B3]
    layer = _one_argument_layer(K, {"ndim": 2})
    with pytest.raises(ValueError) as info:
        layer(inputs)
    assert_names_counts(own_message(info.value), layer=layer.name, expected=1, received=2)


@clause("INPUT.FIRST_ARGUMENT_ONLY", "INPUT.EACH_INPUT_CHECKED")
def test_a_nested_first_argument_is_flattened_against_several_specs(K):
    with pytest.raises(ValueError) as info:
        _one_argument_layer(K, [{"ndim": 2}, {"ndim": 2}])([[A2, B3]])
    message = own_message(info.value)  # the second flattened tensor (ndim 3) is named by its index
    assert names_input_index(message, 1), message
