"""CALL (arguments that are not tensors): Python values as keyword and positional arguments of
`call`, and numpy scalars (issue 19, cluster 1)."""

import re

import numpy as np
import pytest

from layercontract.spec.harness import clause
from layercontract.suites._helpers import clean_message, dtype_name, names_value, own_message, shape_tuple

X = np.ones((2, 3), dtype="float32")

PYTHON_VALUES = {  # id -> a non-tensor value a user passes to configure `call`
    "int": 3,
    "float": 2.5,
    "bool": True,
    "str": "mode",
    "list": [1, 2],
    "none": None,
}
REJECTED_POSITIONALLY = sorted(set(PYTHON_VALUES) - {"none"})


def _recording_layer(K, base="Layer"):
    """A layer (or subclassed model) recording the shapes `build` gets and the `value` `call` gets,
    in lists held by the class (tf-keras wraps a list held in an instance attribute, and the lists put in it)."""
    builds, seen = [], []

    class Recording(getattr(K, base)):
        def build(self, input_shape):
            builds.append(shape_tuple(input_shape))

        def call(self, x, value=None):
            seen.append(value)
            return x

    Recording.builds, Recording.seen = builds, seen  # class attributes: not tracked

    return Recording()


def _same(seen, value):
    return type(seen) is type(value) and seen == value


# ------------------------------------------------------------------ keyword: unchanged
@clause("CALL.NON_TENSOR_KEYWORD_UNCHANGED")
@pytest.mark.parametrize("base", ["Layer", "Model"])
@pytest.mark.parametrize("kind", sorted(PYTHON_VALUES))
def test_python_values_passed_as_keywords_reach_call_unchanged(K, kind, base):
    value = PYTHON_VALUES[kind]
    layer = _recording_layer(K, base)
    layer(X, value=value)
    assert layer.seen and all(_same(seen, value) for seen in layer.seen), (
        f"{base} call got {layer.seen!r} for value={value!r} ({type(value).__name__})"
    )
    assert layer.builds == [(2, 3)], f"build got {layer.builds}, not the input's shape (2, 3) once"


# ------------------------------------------------------------------ positional: Keras 3 rejects
@clause("CALL.NON_TENSOR_POSITIONAL_REJECTED.K3")
@pytest.mark.parametrize("base", ["Layer", "Model"])
@pytest.mark.parametrize("kind", REJECTED_POSITIONALLY)
def test_python_values_passed_positionally_are_rejected_before_build_and_call(K, kind, base):
    value = PYTHON_VALUES[kind]
    layer = _recording_layer(K, base)
    with pytest.raises(ValueError) as info:
        layer(X, value)
    message = clean_message(info.value)
    assert re.search(r"keyword", message, re.IGNORECASE), f"the error does not say to pass it as a keyword: {message}"
    assert layer.builds == [] and layer.seen == [] and not layer.built, (
        f"the rejected call ran build {layer.builds} / call {layer.seen!r}, built={layer.built}"
    )
    layer(X, value=value)  # the same value as a keyword is fine
    assert all(_same(seen, value) for seen in layer.seen), layer.seen


@clause("CALL.NON_TENSOR_POSITIONAL_REJECTED.K3")
def test_none_passed_positionally_reaches_call(K):
    layer = _recording_layer(K)
    layer(X, None)
    assert layer.seen == [None]


@clause("CALL.NON_TENSOR_POSITIONAL_REJECTED.K3")
@pytest.mark.parametrize("how", ["positional", "keyword"])
def test_a_numpy_float64_scalar_reaches_call_as_a_0d_float32_tensor(K, how):
    layer = _recording_layer(K)
    value = np.float64(2.5)
    layer(X, value) if how == "positional" else layer(X, value=value)
    seen = layer.seen[0]
    assert K.ops.is_tensor(seen), f"call got {type(seen).__name__}, not a backend tensor"
    assert shape_tuple(seen.shape) == () and dtype_name(seen.dtype) == "float32", (
        f"call got shape {shape_tuple(seen.shape)} dtype {dtype_name(seen.dtype)}, not a 0-d float32 tensor"
    )


# ------------------------------------------------------------------ positional: tf-keras passes
@clause("CALL.NON_TENSOR_POSITIONAL_PASSED.K2")
@pytest.mark.parametrize("base", ["Layer", "Model"])
@pytest.mark.parametrize("kind", sorted(PYTHON_VALUES))
def test_python_values_passed_positionally_reach_call_unchanged(K, kind, base):
    value = PYTHON_VALUES[kind]
    layer = _recording_layer(K, base)
    layer(X, value)
    assert layer.seen and all(_same(seen, value) for seen in layer.seen), (
        f"{base} call got {layer.seen!r} for positional {value!r} ({type(value).__name__})"
    )
    assert layer.builds == [(2, 3)], f"build got {layer.builds}, not the input's shape (2, 3) once"


@clause("CALL.NON_TENSOR_POSITIONAL_PASSED.K2")
@pytest.mark.parametrize("how", ["positional", "keyword"])
def test_a_numpy_float64_scalar_reaches_call_unchanged(K, how):
    layer = _recording_layer(K)
    value = np.float64(2.5)
    layer(X, value) if how == "positional" else layer(X, value=value)
    seen = layer.seen[0]
    assert type(seen) is np.float64 and seen == value, f"call got {seen!r} ({type(seen).__name__})"


# ------------------------------------------------------------------ a Python list of numbers as the input
NUMBERS = [12.0, -3.0, 0.0]


def _shapes(input_shape):
    """A build argument as tuples: one shape, or a list of shapes for a list input."""
    items = list(input_shape)
    if items and all(d is None or isinstance(d, int) for d in items):
        return shape_tuple(items)
    if not items:
        return ()
    return [shape_tuple(s) for s in items]


def _relu_layer(K):
    """Activation('relu') written as a custom layer (keras-team/keras-core#354 called
    Activation('relu') on [12, 3, 0]); it records what `build` and `call` receive."""
    builds, seen = [], []

    class Relu(K.Layer):
        def build(self, input_shape):
            builds.append(_shapes(input_shape))

        def call(self, inputs):
            seen.append(inputs)
            if isinstance(inputs, (list, tuple)):
                return [K.ops.relu(x) for x in inputs]
            return K.ops.relu(inputs)

    Relu.builds, Relu.seen = builds, seen  # class attributes: not tracked
    return Relu()


@clause("CALL.PYTHON_NUMBERS_INPUT_REJECTED.K3")
def test_a_python_list_of_numbers_as_the_input_is_rejected_before_build_and_call(K, backend):
    layer = _relu_layer(K)
    with pytest.raises(ValueError) as info:
        layer(NUMBERS)
    message = own_message(info.value)
    assert names_value(message, 12), f"the error does not name the number 12 it refused: {message!r}"
    assert layer.builds == [] and layer.seen == [] and not layer.built, (
        f"the rejected call ran build {layer.builds} / call {len(layer.seen)} time(s), built={layer.built}"
    )
    out = backend.to_numpy(layer(np.array(NUMBERS, dtype="float32")))  # the same numbers as one array
    np.testing.assert_array_equal(out, [12.0, 0.0, 0.0])


@clause("CALL.PYTHON_NUMBERS_INPUT_SCALARS.K2")
def test_a_python_list_of_numbers_as_the_input_reaches_call_as_a_list_of_scalars(K, backend):
    layer = _relu_layer(K)
    out = layer(NUMBERS)
    (received,) = layer.seen
    assert isinstance(received, (list, tuple)) and len(received) == 3, f"call got {received!r}, not a list of 3"
    assert all(K.ops.is_tensor(x) and shape_tuple(x.shape) == () for x in received), (
        f"call got {[type(x).__name__ for x in received]}, not three 0-d tensors"
    )
    assert [float(backend.to_numpy(x)) for x in received] == NUMBERS
    assert layer.builds == [[(), (), ()]], f"build got {layer.builds}, not [[(), (), ()]]"
    assert [float(backend.to_numpy(x)) for x in out] == [12.0, 0.0, 0.0]
