"""CALL: layer(x) runs __call__, which converts, autocasts and runs call."""

import numpy as np
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
