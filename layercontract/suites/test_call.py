"""CALL: layer(x) runs __call__, which converts, autocasts and runs call."""

import numpy as np
import pytest
from hypothesis import given

from layercontract.spec.harness import clause
from layercontract.suites import strategies
from layercontract.suites._helpers import close, dtype_name, tolerance


def _probe_class(K, backend):
    class Probe(K.Layer):
        """Records what `call` receives on each eager invocation."""

        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.eager_calls = []

        def call(self, x):
            if not backend.is_symbolic(x):
                self.eager_calls.append({"is_tensor": bool(K.ops.is_tensor(x)), "dtype": dtype_name(x.dtype)})
            return x

    return Probe


@clause("CALL.INVOKES_CALL")
def test_each_eager_call_runs_call_exactly_once_and_returns_its_result(K, backend):
    class Double(K.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.calls = 0

        def call(self, x):
            self.calls += 1
            return K.ops.multiply(x, 2.0)

    layer = Double()
    x = np.arange(6, dtype="float32").reshape(2, 3)
    for expected_calls in (1, 2, 3):
        out = layer(x)
        assert layer.calls == expected_calls
        np.testing.assert_array_equal(backend.to_numpy(out), 2 * x)


@clause("CALL.CONVERTS_NUMPY")
def test_numpy_input_reaches_call_as_a_backend_tensor(K, backend):
    layer = _probe_class(K, backend)()
    layer(np.ones((2, 3), dtype="float32"))
    assert layer.eager_calls == [{"is_tensor": True, "dtype": "float32"}]


@clause("CALL.AUTOCAST_FLOAT")
def test_float64_numpy_input_is_cast_to_float32_compute_dtype(K, backend):
    layer = _probe_class(K, backend)()
    out = layer(np.ones((2, 3), dtype="float64"))
    assert dtype_name(layer.compute_dtype) == "float32"
    assert layer.eager_calls[0]["dtype"] == "float32"
    assert dtype_name(out.dtype) == "float32"


@clause("CALL.INTEGER_NOT_CAST")
def test_integer_input_is_not_cast_to_a_float_dtype(K, backend):
    layer = _probe_class(K, backend)()
    layer(np.ones((2, 3), dtype="int64"))
    assert layer.eager_calls[0]["dtype"].startswith("int"), layer.eager_calls


@clause("CALL.MODEL_SEQUENTIAL")
def test_subclassed_model_composes_layers_in_call(K, backend):
    class TwoDense(K.Model):
        def __init__(self):
            super().__init__()
            self.hidden = K.layers.Dense(4, activation="relu")
            self.out = K.layers.Dense(2)

        def call(self, x):
            return self.out(self.hidden(x))

    model = TwoDense()
    rng = np.random.default_rng(0)
    x = rng.standard_normal((5, 3)).astype("float32")
    model(x)
    # Non-zero biases: with the zero initial biases relu(xW) + b == relu(xW + b).
    w1, b1 = rng.standard_normal((3, 4)).astype("float32"), rng.standard_normal(4).astype("float32")
    w2, b2 = rng.standard_normal((4, 2)).astype("float32"), rng.standard_normal(2).astype("float32")
    model.hidden.set_weights([w1, b1])
    model.out.set_weights([w2, b2])
    y = backend.to_numpy(model(x))
    close(y, np.maximum(x @ w1 + b1, 0) @ w2 + b2, **tolerance("CALL.MODEL_SEQUENTIAL"))


@clause("CALL.MODEL_CONDITIONAL_TRAINING")
def test_model_branching_on_training_runs_the_branch_only_in_training(K, backend):
    class MaybeDouble(K.Model):
        def call(self, x, training=None):
            return K.ops.multiply(x, 2.0) if training else x

    model = MaybeDouble()
    x = np.ones((2, 3), dtype="float32")
    np.testing.assert_array_equal(backend.to_numpy(model(x, training=True)), 2 * x)
    np.testing.assert_array_equal(backend.to_numpy(model(x, training=False)), x)
    np.testing.assert_array_equal(backend.to_numpy(model(x)), x)


# ------------------------------------------------ generated cases (hypothesis, `ci` profile)
@clause("CALL.MODEL_SEQUENTIAL", "BUILD.DENSE_WEIGHT_SHAPES")
@given(case=strategies.dense_cases())
def test_dense_computes_x_kernel_plus_bias_for_generated_shapes(K, backend, case):
    x, kernel, bias = case
    dense = K.layers.Dense(kernel.shape[1])
    dense(x)
    dense.set_weights([kernel, bias])
    # the formula in float64 (numpy may flag a spurious "invalid value" in small float32 matmuls)
    expected = x.astype("float64") @ kernel + bias
    close(backend.to_numpy(dense(x)), expected, **tolerance("CALL.MODEL_SEQUENTIAL"))


# ------------------------------------------- autocast element by element (issue 19, cluster 4)
F64 = np.linspace(-1.0, 1.0, 6).reshape(2, 3)
I32 = np.arange(6, dtype="int32").reshape(2, 3)
NON_FLOAT = {
    "int32": I32,
    "int64": np.arange(6, dtype="int64").reshape(2, 3),
    "uint8": np.arange(6, dtype="uint8").reshape(2, 3),
    "bool": (np.arange(6) % 2 == 0).reshape(2, 3),
}


def _element_recorder(K, backend, base):
    class Elements(base):
        """Records the dtype of each element of the structure its call receives (eager calls)."""

        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.seen = None

        def call(self, inputs):
            items = dict(inputs) if isinstance(inputs, dict) else dict(enumerate(inputs))
            if not any(backend.is_symbolic(v) for v in items.values()):
                self.seen = {key: dtype_name(v.dtype) for key, v in items.items()}
            return items["f" if "f" in items else 0]

    return Elements


def _structures(K, source):
    """(name, structure, {key: given dtype}) for the float64 element and the non-float ones."""
    if source == "numpy":
        f, others = F64, NON_FLOAT
    else:  # backend tensors (bool left out: the namespace's ops make no boolean tensor)
        f = K.ops.multiply(F64, 1.0)
        others = {name: K.ops.add(a, 0) for name, a in NON_FLOAT.items() if name != "bool"}
    names = list(others)
    return [
        ("tuple", (f, others["int32"]), {0: "float", 1: "int32"}),
        ("list", [f, *others.values()], {0: "float", **{i + 1: n for i, n in enumerate(names)}}),
        ("dict", {"f": f, "i": others["int32"]}, {"f": "float", "i": "int32"}),
    ]


@clause("CALL.AUTOCAST_PER_ELEMENT")
@pytest.mark.parametrize("source", ["numpy", "tensor"])
@pytest.mark.parametrize("policy", ["float32", "mixed_float16"])
def test_each_element_of_a_structure_of_inputs_is_autocast_on_its_own(K, backend, policy, source):
    compute = "float16" if policy == "mixed_float16" else "float32"
    for kind, base in (("layer", K.Layer), ("subclassed model", K.Model)):
        for structure_name, structure, given_dtypes in _structures(K, source):
            target = _element_recorder(K, backend, base)(dtype=policy)
            target(structure)
            what = f"a {kind} with dtype {policy!r} called on a {structure_name} of {source} inputs"
            for key, given_dtype in given_dtypes.items():
                seen = target.seen[key]
                if given_dtype == "float":
                    assert seen == compute, f"{what}: its float64 element {key!r} reached call as {seen}, not {compute}"
                elif given_dtype == "bool":
                    assert seen == "bool", f"{what}: its bool element {key!r} reached call as {seen}"
                else:
                    assert seen.startswith(("int", "uint")), (
                        f"{what}: its {given_dtype} element {key!r} reached call as {seen}, not an integer dtype"
                    )
