"""CALL (arguments that are not tensors): Python values as keyword and positional arguments of
`call`, and numpy scalars (issue 19, cluster 1)."""

import re

import numpy as np
import pytest

from layercontract.spec.harness import clause
from layercontract.suites._helpers import clean_message, dtype_name, shape_tuple

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
