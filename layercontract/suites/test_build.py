"""BUILD: the first call builds lazily, exactly once; weights keep their identity."""

import numpy as np

from layercontract.spec.harness import clause
from layercontract.suites._helpers import shape_tuple


def _simple_dense_class(K):
    class SimpleDense(K.Layer):
        """The tutorial custom layer: build() creates weights with add_weight."""

        def __init__(self, units, **kwargs):
            super().__init__(**kwargs)
            self.units = units
            self.build_shapes = []
            self.events = []

        def build(self, input_shape):
            self.events.append("build")
            self.build_shapes.append(input_shape)
            self.w = self.add_weight(
                shape=(int(input_shape[-1]), self.units), initializer="random_normal", trainable=True, name="w"
            )
            self.b = self.add_weight(shape=(self.units,), initializer="zeros", trainable=True, name="b")

        def call(self, x):
            self.events.append("call")
            return K.ops.add(K.ops.matmul(x, self.w), self.b)

    return SimpleDense


def _x(batch=4, features=3):
    return np.random.default_rng(batch).standard_normal((batch, features)).astype("float32")


@clause("BUILD.LAZY")
def test_layer_is_unbuilt_and_weightless_until_first_call(K):
    layer = _simple_dense_class(K)(2)
    assert not layer.built
    assert len(layer.weights) == 0
    layer(_x())
    assert len(layer.weights) == 2


@clause("BUILD.BEFORE_CALL")
def test_first_call_runs_build_before_call(K):
    layer = _simple_dense_class(K)(2)
    layer(_x())
    assert layer.events[:2] == ["build", "call"]


@clause("BUILD.ONCE", "BUILD.NOT_FOR_NEW_BATCH")
def test_build_runs_once_over_calls_with_new_batch_sizes(K):
    layer = _simple_dense_class(K)(2)
    for batch in (4, 4, 1, 7, 4):
        layer(_x(batch))
    assert layer.events.count("build") == 1
    assert layer.events.count("call") == 5


@clause("BUILD.INPUT_SHAPE")
def test_build_receives_the_full_input_shape_including_batch(K):
    layer = _simple_dense_class(K)(2)
    layer(_x(4, 3))
    assert [shape_tuple(s) for s in layer.build_shapes] == [(4, 3)]


@clause("BUILD.BUILT_FLAG")
def test_built_is_true_after_first_call(K):
    layer = _simple_dense_class(K)(2)
    layer(_x())
    assert layer.built is True


@clause("BUILD.EXPLICIT_BUILD.K3")
def test_explicit_build_prevents_a_second_build_and_keeps_weights(K, backend):
    layer = _simple_dense_class(K)(2)
    layer.build((None, 3))
    assert layer.built
    weights = list(layer.weights)
    values = [backend.to_numpy(w).copy() for w in weights]
    layer(_x())
    assert layer.events.count("build") == 1
    assert all(a is b for a, b in zip(layer.weights, weights)) and len(layer.weights) == len(weights)
    for w, v in zip(layer.weights, values):
        np.testing.assert_array_equal(backend.to_numpy(w), v)


@clause("BUILD.EXPLICIT_BUILD_NEEDS_SUPER.K2")
def test_explicit_build_without_super_build_leaves_layer_unbuilt_and_call_rebuilds_keras2(K):
    layer = _simple_dense_class(K)(2)
    layer.build((None, 3))
    assert not layer.built
    first_kernel = layer.w
    layer(_x())
    assert layer.events.count("build") == 2
    assert layer.w is not first_kernel


@clause("BUILD.WEIGHT_IDENTITY")
def test_weight_objects_keep_their_identity_across_calls(K):
    layer = K.layers.Dense(2)
    layer(_x())
    first = list(layer.weights)
    for batch in (1, 5):
        layer(_x(batch))
    assert len(layer.weights) == 2
    assert all(a is b for a, b in zip(layer.weights, first))
    assert layer.kernel is first[0]


@clause("BUILD.NON_TRAINABLE_WEIGHTS")
def test_non_trainable_add_weight_lands_in_non_trainable_weights_in_creation_order(K):
    class Mixed(K.Layer):
        def build(self, input_shape):
            self.a = self.add_weight(shape=(1,), initializer="zeros", name="a")
            self.n1 = self.add_weight(shape=(1,), initializer="zeros", trainable=False, name="n1")
            self.b = self.add_weight(shape=(1,), initializer="zeros", name="b")
            self.n2 = self.add_weight(shape=(1,), initializer="zeros", trainable=False, name="n2")

        def call(self, x):
            return x

    layer = Mixed()
    layer(_x())
    assert [id(w) for w in layer.trainable_weights] == [id(layer.a), id(layer.b)]
    assert [id(w) for w in layer.non_trainable_weights] == [id(layer.n1), id(layer.n2)]
    assert [id(w) for w in layer.weights] == [id(layer.a), id(layer.b), id(layer.n1), id(layer.n2)]


@clause("BUILD.TRACKS_SUBLAYERS")
def test_parent_tracks_weights_of_sublayers_in_attributes_and_lists(K):
    class Parent(K.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.first = K.layers.Dense(4)
            self.stack = [K.layers.Dense(3), K.layers.Dense(2)]

        def call(self, x):
            x = self.first(x)
            for layer in self.stack:
                x = layer(x)
            return x

    parent = Parent()
    parent(_x())
    expected = [w for layer in [parent.first, *parent.stack] for w in layer.weights]
    assert len(expected) == 6
    assert [id(w) for w in parent.weights] == [id(w) for w in expected]
    assert [id(w) for w in parent.trainable_weights] == [id(w) for w in expected]


@clause("BUILD.SHARED_LAYER_ONE_SET")
def test_layer_called_twice_in_a_parent_holds_one_set_of_weights(K):
    class Twice(K.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.shared = K.layers.Dense(3)

        def call(self, x):
            return self.shared(self.shared(x))

    layer = Twice()
    layer(np.ones((2, 3), dtype="float32"))
    assert len(layer.shared.weights) == 2
    assert len(layer.weights) == 2
    assert [id(w) for w in layer.weights] == [id(w) for w in layer.shared.weights]


@clause("BUILD.STATELESS_BUILT")
def test_layer_without_build_or_state_is_built_after_first_call(K):
    class Stateless(K.Layer):
        def call(self, x):
            return K.ops.relu(x)

    layer = Stateless()
    assert not layer.built
    layer(_x())
    assert layer.built
    assert layer.weights == []


@clause("BUILD.DENSE_WEIGHT_SHAPES")
def test_dense_builds_kernel_and_bias_from_the_last_axis(K):
    layer = K.layers.Dense(5)
    layer(np.ones((2, 7), dtype="float32"))
    assert shape_tuple(layer.kernel.shape) == (7, 5)
    assert shape_tuple(layer.bias.shape) == (5,)
    assert [id(w) for w in layer.weights] == [id(layer.kernel), id(layer.bias)]


def _block_with_batchnorm_class(K):
    class Block(K.Layer):
        """Dense, BatchNormalization, Dense: trainable and non-trainable weights interleaved by layer."""

        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.first = K.layers.Dense(2)
            self.norm = K.layers.BatchNormalization()
            self.last = K.layers.Dense(1)

        def call(self, x):
            return self.last(self.norm(self.first(x)))

    return Block


@clause("BUILD.WEIGHTS_ORDER_BY_LAYER.K3")
def test_composite_weights_are_listed_layer_by_layer_keras3(K):
    block = _block_with_batchnorm_class(K)()
    block(_x())
    expected = [*block.first.weights, *block.norm.weights, *block.last.weights]
    assert [id(w) for w in block.weights] == [id(w) for w in expected]


@clause("BUILD.WEIGHTS_ORDER_TRAINABLE_FIRST.K2")
def test_composite_weights_list_all_trainable_then_all_non_trainable_keras2(K):
    block = _block_with_batchnorm_class(K)()
    block(_x())
    layers = [block.first, block.norm, block.last]
    trainable = [w for layer in layers for w in layer.trainable_weights]
    non_trainable = [w for layer in layers for w in layer.non_trainable_weights]
    assert [id(w) for w in block.weights] == [id(w) for w in trainable + non_trainable]
