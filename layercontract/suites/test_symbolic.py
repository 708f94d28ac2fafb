"""SYMBOLIC: calling layers on Input() tensors propagates shapes with a None batch, builds, needs no data."""

import numpy as np
import pytest

from layercontract.spec.harness import clause, requires
from layercontract.suites._helpers import shape_tuple


@clause("SYMBOLIC.OUTPUT_SHAPE")
@requires("symbolic")
def test_dense_on_input_returns_symbolic_tensor_with_none_batch(K, backend):
    x = K.Input(shape=(5,))
    assert backend.is_symbolic(x)
    assert shape_tuple(x.shape) == (None, 5)
    y = K.layers.Dense(3)(x)
    assert backend.is_symbolic(y)
    assert shape_tuple(y.shape) == (None, 3)


@clause("SYMBOLIC.OUTPUT_SHAPE")
@requires("symbolic")
def test_concatenate_and_custom_layer_on_inputs_propagate_shapes(K, backend):
    class Scale(K.Layer):
        def build(self, input_shape):
            self.w = self.add_weight(shape=(int(input_shape[-1]),), initializer="ones", name="w")

        def call(self, x):
            return K.ops.multiply(x, self.w)

    a, b = K.Input(shape=(4,)), K.Input(shape=(6,))
    y = K.layers.Concatenate()([Scale()(a), b])
    assert backend.is_symbolic(y)
    assert shape_tuple(y.shape) == (None, 10)


@clause("SYMBOLIC.BUILDS")
@requires("symbolic")
def test_symbolic_call_builds_the_layer_with_the_input_shape(K):
    dense = K.layers.Dense(3)
    dense(K.Input(shape=(5,)))
    assert dense.built
    assert shape_tuple(dense.kernel.shape) == (5, 3)
    out = dense(np.ones((2, 5), dtype="float32"))
    assert shape_tuple(out.shape) == (2, 3)


@clause("SYMBOLIC.NO_DATA")
@requires("symbolic")
def test_symbolic_call_computes_nothing_and_updates_no_state(K, backend):
    bn = K.layers.BatchNormalization()
    y = bn(K.Input(shape=(3,)), training=True)
    assert backend.is_symbolic(y)
    np.testing.assert_array_equal(backend.to_numpy(bn.moving_mean), 0)
    np.testing.assert_array_equal(backend.to_numpy(bn.moving_variance), 1)


@clause("SYMBOLIC.CALL_RUNS_ON_INPUT")
@requires("symbolic")
def test_a_symbolic_call_runs_call_at_least_once_with_the_given_training(K, backend):
    class Counting(K.Layer):
        """No compute_output_shape: the output spec comes from running `call`."""

        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.runs = []  # Python side effect of every run, symbolic or not

        def call(self, x, training=None):
            self.runs.append(training)
            return x * 2.0

    layer = Counting()
    out = layer(K.Input((3,)), training=True)
    assert backend.is_symbolic(out)
    assert len(layer.runs) >= 1, "call did not run during the symbolic call"
    assert all(t is True for t in layer.runs), f"call received {layer.runs} during the symbolic call"


# ------------------------------------------------ compute_output_shape against tracing `call`
def _declared_width_layer(K):
    class DeclaredWidth(K.Layer):
        """`call` doubles the last axis (3 -> 6); `compute_output_shape` declares 4. They differ
        on purpose: the shape a symbolic call reports tells which one it used
        (tensorflow/tensorflow#38296)."""

        def call(self, x):
            return K.ops.concatenate([x, x], axis=-1)

        def compute_output_shape(self, input_shape):
            return (input_shape[0], 4)

    return DeclaredWidth()


def _symbolic_and_next_kernel_shapes(K, backend):
    """(symbolic output shape, the next Dense's kernel shape, the eager output shape)."""
    layer = _declared_width_layer(K)
    y = layer(K.Input((3,)))
    following = K.layers.Dense(2)
    following(y)
    eager = backend.to_numpy(layer(np.ones((2, 3), dtype="float32"))).shape
    return shape_tuple(y.shape), shape_tuple(following.weights[0].shape), eager


@clause("SYMBOLIC.OUTPUT_SHAPE_DECLARED.K3")
@requires("symbolic")
def test_a_symbolic_call_takes_the_shape_compute_output_shape_declares(K, backend):
    symbolic, kernel, eager = _symbolic_and_next_kernel_shapes(K, backend)
    assert symbolic == (None, 4), f"symbolic output {symbolic}, not the declared (None, 4)"
    assert kernel == (4, 2), f"the next Dense built a kernel {kernel}, not (4, 2) from the declared shape"
    assert eager == (2, 6), f"eager output {eager}, not (2, 6) from `call`"


@clause("SYMBOLIC.OUTPUT_SHAPE_TRACED.K2")
@requires("symbolic")
def test_a_symbolic_call_takes_the_shape_of_tracing_call(K, backend):
    symbolic, kernel, eager = _symbolic_and_next_kernel_shapes(K, backend)
    assert symbolic == (None, 6), f"symbolic output {symbolic}, not (None, 6) from tracing `call`"
    assert kernel == (6, 2), f"the next Dense built a kernel {kernel}, not (6, 2) from the traced shape"
    assert eager == (2, 6), f"eager output {eager}, not (2, 6) from `call`"


# ------------------------------------------------ Python ints among a layer's outputs
SMALL = np.array([[1, -2, 0], [2, 1, -1]], dtype="float32")


def _with_sizes_layer(K):
    class WithSizes(K.Layer):
        """`call` returns a projection and two Python ints (a height and a width, as in
        keras-team/keras-core#516), with what Keras 3's error for such a layer asks for: a `build`
        that builds the sub-layer and a `compute_output_shape` declaring every output."""

        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.proj = K.layers.Dense(4)

        def build(self, input_shape):
            self.proj.build(input_shape)
            super().build(input_shape)

        def call(self, x):
            return self.proj(x), 5, 7

        def compute_output_shape(self, input_shape):
            return (input_shape[0], 4), (), ()

    return WithSizes()


@clause("SYMBOLIC.NON_TENSOR_OUTPUTS_DECLARED")
def test_python_ints_a_layer_returns_come_back_unchanged_from_an_eager_call(K, backend):
    layer = _with_sizes_layer(K)
    projected, height, width = layer(SMALL)
    assert shape_tuple(backend.to_numpy(projected).shape) == (2, 4)
    assert (type(height), height, type(width), width) == (int, 5, int, 7), (
        f"the sizes came back as {height!r} ({type(height).__name__}), {width!r} ({type(width).__name__})"
    )


@clause("SYMBOLIC.NON_TENSOR_OUTPUTS_DECLARED")
@requires("functional")
@pytest.mark.parametrize("how", ["call", pytest.param("predict", marks=requires("inference"))])
def test_a_layer_returning_python_ints_with_declared_shapes_works_on_input(K, backend, how):
    layer = _with_sizes_layer(K)
    x = K.Input((3,))
    outputs = layer(x)
    assert len(outputs) == 3 and all(backend.is_symbolic(o) for o in outputs), (
        f"on Input the layer returned {[type(o).__name__ for o in outputs]}, not three symbolic tensors"
    )
    shapes = [shape_tuple(o.shape) for o in outputs]
    assert shapes == [(None, 4), (), ()], f"symbolic outputs of shapes {shapes}, not [(None, 4), (), ()]"
    assert len(layer.weights) == 2, f"{len(layer.weights)} weights after the symbolic call, not the projection's 2"
    model = K.Model(x, outputs[0])
    rng = np.random.default_rng(0)  # small integers: exact in any float format
    kernel, bias = rng.integers(-2, 3, (3, 4)).astype("float32"), rng.integers(-2, 3, (4,)).astype("float32")
    layer.proj.set_weights([kernel, bias])
    out = backend.to_numpy(model(SMALL)) if how == "call" else np.asarray(model.predict(SMALL, verbose=0))
    np.testing.assert_array_equal(out, SMALL @ kernel + bias)
