"""BUILD (building composites and models): `Model.build(shape)` on subclassed models, composite
layers without `build`, sub-layers created in `build()`, `compute_output_shape` and the
`add_weight` signature (issue 19, cluster 2)."""

import re

import numpy as np
import pytest

from layercontract.spec.harness import clause, requires
from layercontract.suites._helpers import clean_message, shape_tuple

X = np.ones((4, 3), dtype="float32")


def _two_dense_model(K, own_build=False):
    """A subclassed model Dense(5) -> Dense(2) (4 weights, 32 parameters); with `own_build` its
    `build` builds both sub-layers (and calls super().build, which tf-keras needs to set `built`)."""

    class TwoDense(K.Model):
        def __init__(self):
            super().__init__()
            self.d1 = K.layers.Dense(5)
            self.d2 = K.layers.Dense(2)

        def call(self, x):
            return self.d2(self.d1(x))

    class TwoDenseOwnBuild(TwoDense):
        def build(self, input_shape):
            self.d1.build(input_shape)
            self.d2.build((input_shape[0], 5))
            super().build(input_shape)

    return TwoDenseOwnBuild() if own_build else TwoDense()


def _weight_count(layer):
    return sum(int(np.prod(shape_tuple(w.shape))) for w in layer.weights)


# ------------------------------------------------------------------ Model.build(shape)
@clause("BUILD.MODEL_BUILD_MARKS_ONLY.K3")
@pytest.mark.parametrize("shape", [(None, 3), (4, 3)], ids=["none-batch", "concrete-batch"])
def test_model_build_without_own_build_marks_built_and_creates_no_weights(K, backend, shape):
    model = _two_dense_model(K)
    model.build(shape)
    assert model.built, "Model.build(shape) did not mark the model built"
    assert (model.d1.built, model.d2.built) == (False, False), "Model.build(shape) built the sub-layers"
    assert len(model.weights) == 0, f"Model.build(shape) created {len(model.weights)} weights"
    model(X)
    assert len(model.weights) == 4 and _weight_count(model) == 32, (
        f"after the first call: {len(model.weights)} weights, {_weight_count(model)} parameters (not 4, 32)"
    )


@clause("BUILD.MODEL_BUILD_TRACES_CALL.K2")
@pytest.mark.parametrize("shape", [(None, 3), (4, 3)], ids=["none-batch", "concrete-batch"])
def test_model_build_without_own_build_traces_call_and_creates_every_weight(K, shape):
    model = _two_dense_model(K)
    model.build(shape)
    assert model.built and model.d1.built and model.d2.built, (
        f"built: model {model.built}, d1 {model.d1.built}, d2 {model.d2.built}"
    )
    assert len(model.weights) == 4 and _weight_count(model) == 32, (
        f"after build: {len(model.weights)} weights, {_weight_count(model)} parameters (not 4, 32)"
    )


@clause("BUILD.MODEL_OWN_BUILD")
def test_model_with_own_build_has_every_weight_after_build_and_keeps_them(K, backend):
    model = _two_dense_model(K, own_build=True)
    model.build((None, 3))
    assert model.built and model.d1.built and model.d2.built, (
        f"built: model {model.built}, d1 {model.d1.built}, d2 {model.d2.built}"
    )
    weights = list(model.weights)
    assert len(weights) == 4 and _weight_count(model) == 32, (
        f"after build: {len(weights)} weights, {_weight_count(model)} parameters (not 4, 32)"
    )
    model(X)
    assert len(model.weights) == 4 and all(a is b for a, b in zip(model.weights, weights)), (
        "the first call replaced or added weights"
    )


# ------------------------------------------------------------------ composites
def _composite(K, backend, traceable=True):
    class Composite(K.Layer):
        """Sub-layers made in __init__, no build of its own."""

        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.d1 = K.layers.Dense(5)
            self.d2 = K.layers.Dense(2)

        def call(self, x):
            return self.d2(self.d1(x))

    class UntraceableComposite(Composite):
        """`call` needs a concrete value: fine eagerly, not on a symbolic trace."""

        def call(self, x):
            scale = float(backend.to_numpy(K.ops.multiply(x, 0.0)).sum()) + 1.0
            return K.ops.multiply(self.d2(self.d1(x)), scale)

    return Composite() if traceable else UntraceableComposite()


def _assert_composite_built(layer, when):
    assert layer.built and layer.d1.built and layer.d2.built, (
        f"{when}: built: composite {layer.built}, d1 {layer.d1.built}, d2 {layer.d2.built}"
    )
    own = [*layer.d1.weights, *layer.d2.weights]
    assert len(layer.weights) == 4 and all(any(w is o for o in own) for w in layer.weights), (
        f"{when}: the composite lists {len(layer.weights)} weights, not its sub-layers' 4"
    )


@clause("BUILD.COMPOSITE_BUILT_BY_FIRST_CALL")
@pytest.mark.parametrize("traceable", [True, False], ids=["traceable", "untraceable"])
def test_composite_without_build_is_built_by_its_first_eager_call(K, backend, traceable):
    layer = _composite(K, backend, traceable)
    assert len(layer.weights) == 0, f"{len(layer.weights)} weights before the first call"
    out = layer(X)
    assert shape_tuple(backend.to_numpy(out).shape) == (4, 2)
    _assert_composite_built(layer, "after the first eager call")


@clause("BUILD.COMPOSITE_BUILT_BY_FIRST_CALL")
@requires("symbolic")
def test_composite_without_build_is_built_by_its_first_call_on_input(K, backend):
    layer = _composite(K, backend)
    layer(K.Input((3,)))
    _assert_composite_built(layer, "after the first call on Input")


# ------------------------------------------------------------------ sub-layers created in build()
def _sublayer_in_build(K):
    class SublayerInBuild(K.Layer):
        """Creates its sub-layer in build(), sized from the input shape, and does not build it."""

        def build(self, input_shape):
            self.inner = K.layers.Dense(input_shape[-1])
            super().build(input_shape)

        def call(self, x):
            return self.inner(x)

    return SublayerInBuild()


@clause("BUILD.SUBLAYER_CREATED_IN_BUILD")
@pytest.mark.parametrize("how", ["eager", pytest.param("symbolic", marks=requires("symbolic"))])
def test_sublayer_created_in_build_is_tracked(K, how):
    layer = _sublayer_in_build(K)
    layer(X if how == "eager" else K.Input((3,)))
    inner = layer.inner
    shapes = sorted(shape_tuple(w.shape) for w in inner.weights)
    assert shapes == [(3,), (3, 3)], f"inner weights {shapes}, not kernel (3, 3) and bias (3,)"
    for listing in ("weights", "trainable_weights"):
        listed = getattr(layer, listing)
        assert len(listed) == 2 and all(any(w is o for o in inner.weights) for w in listed), (
            f"the parent's {listing} ({len(listed)}) are not the sub-layer's 2 weights"
        )


@clause("BUILD.SUBLAYER_CREATED_IN_BUILD")
@requires("fit")
def test_sublayer_created_in_build_is_trained_by_fit(K, backend):
    class Wrapper(K.Model):
        def __init__(self):
            super().__init__()
            self.block = _sublayer_in_build(K)

        def call(self, x):
            return self.block(x)

    model = Wrapper()
    model(X)
    before = backend.to_numpy(model.block.inner.weights[0]).copy()
    model.compile(optimizer=K.optimizers.SGD(learning_rate=0.1), loss="mse")
    model.fit(X, np.zeros((4, 3), dtype="float32"), batch_size=4, epochs=1, verbose=0)
    after = backend.to_numpy(model.block.inner.weights[0])
    assert not np.array_equal(before, after), "fit did not change the kernel of the sub-layer created in build()"


# ------------------------------------------------------------------ compute_output_shape
def _custom_layers(K):
    """(WithShape, WithoutShape): one weight made in build, with and without compute_output_shape."""

    class WithoutShape(K.Layer):
        def build(self, input_shape):
            self.w = self.add_weight(shape=(input_shape[-1], 2), initializer="ones", name="w")
            super().build(input_shape)

        def call(self, x):
            return K.ops.matmul(x, self.w)

    class WithShape(WithoutShape):
        def compute_output_shape(self, input_shape):
            return (input_shape[0], 2)

    return WithShape, WithoutShape


@clause("BUILD.OUTPUT_SHAPE_DOES_NOT_BUILD.K3")
@pytest.mark.parametrize("which", ["Dense", "custom"])
def test_compute_output_shape_does_not_build(K, which):
    layer = K.layers.Dense(2) if which == "Dense" else _custom_layers(K)[0]()
    assert shape_tuple(layer.compute_output_shape((None, 3))) == (None, 2)
    assert not layer.built and len(layer.weights) == 0, (
        f"compute_output_shape left {which} built={layer.built} with {len(layer.weights)} weights"
    )


@clause("BUILD.OUTPUT_SHAPE_DOES_NOT_BUILD.K3")
def test_compute_output_shape_is_not_implemented_by_default(K):
    layer = _custom_layers(K)[1]()
    with pytest.raises(NotImplementedError):
        layer.compute_output_shape((None, 3))
    assert not layer.built and len(layer.weights) == 0


@clause("BUILD.OUTPUT_SHAPE_BUILDS.K2")
def test_default_compute_output_shape_builds_the_layer(K):
    layer = _custom_layers(K)[1]()
    assert shape_tuple(layer.compute_output_shape((None, 3))) == (None, 2)
    assert layer.built and len(layer.weights) == 1, (
        f"the default compute_output_shape left built={layer.built} with {len(layer.weights)} weights"
    )


@clause("BUILD.OUTPUT_SHAPE_BUILDS.K2")
def test_an_overriding_compute_output_shape_does_not_build(K):
    layer = K.layers.Dense(2)
    assert shape_tuple(layer.compute_output_shape((None, 3))) == (None, 2)
    assert not layer.built and len(layer.weights) == 0


# ------------------------------------------------------------------ add_weight
def _adding_layer(K, add):
    """A layer whose build runs `add(self)` (an add_weight call) and keeps its result in `self.w`."""

    class Adding(K.Layer):
        def build(self, input_shape):
            self.w = add(self)
            super().build(input_shape)

        def call(self, x):
            return x

    return Adding()


@clause("BUILD.ADD_WEIGHT_KEYWORDS")
def test_add_weight_with_keywords_creates_that_weight(K, backend):
    layer = _adding_layer(K, lambda self: self.add_weight(shape=(3, 2), initializer="ones", name="w"))
    layer(X)
    assert shape_tuple(layer.w.shape) == (3, 2) and np.all(backend.to_numpy(layer.w) == 1.0)
    assert len(layer.trainable_weights) == 1 and layer.trainable_weights[0] is layer.w


@clause("BUILD.ADD_WEIGHT_KEYWORDS")
def test_add_weight_without_shape_is_a_scalar(K):
    layer = _adding_layer(K, lambda self: self.add_weight(initializer="ones", name="s"))
    layer(X)
    assert shape_tuple(layer.w.shape) == ()


@clause("BUILD.ADD_WEIGHT_KEYWORDS")
def test_add_weight_without_initializer_is_glorot_uniform(K, backend):
    layer = _adding_layer(K, lambda self: self.add_weight(shape=(50, 50), name="g"))
    layer(X)
    value = backend.to_numpy(layer.w)
    limit = np.sqrt(6.0 / 100)
    # 2500 independent uniform draws on [-limit, limit] span less than half of it with probability < 1e-300
    assert np.all(np.abs(value) <= limit * (1 + 1e-6)) and np.ptp(value) > limit, (
        f"values in [{value.min():.3f}, {value.max():.3f}], not glorot-uniform on [-{limit:.3f}, {limit:.3f}]"
    )


@clause("BUILD.ADD_WEIGHT_POSITIONAL.K3")
def test_add_weight_takes_shape_and_initializer_positionally(K, backend):
    layer = _adding_layer(K, lambda self: self.add_weight((3, 2), "ones"))
    layer(X)
    assert shape_tuple(layer.w.shape) == (3, 2) and np.all(backend.to_numpy(layer.w) == 1.0)


@clause("BUILD.ADD_WEIGHT_POSITIONAL.K3")
def test_add_weight_rejects_a_positional_name(K):
    layer = _adding_layer(K, lambda self: self.add_weight("w", (3, 2)))
    with pytest.raises(ValueError) as info:
        layer.build((None, 3))
    message = clean_message(info.value)
    assert re.search(r"\bname\b", message) and re.search(r"keyword", message, re.IGNORECASE), (
        f"the error does not say to pass `name` as a keyword: {message}"
    )
    assert len(layer.weights) == 0


@clause("BUILD.ADD_WEIGHT_POSITIONAL.K2")
def test_add_weight_takes_the_name_first(K):
    layer = _adding_layer(K, lambda self: self.add_weight("w", (3, 2)))
    layer(X)
    assert shape_tuple(layer.w.shape) == (3, 2) and "w" in layer.w.name


@clause("BUILD.ADD_WEIGHT_POSITIONAL.K2")
def test_add_weight_rejects_a_positional_shape(K):
    layer = _adding_layer(K, lambda self: self.add_weight((3, 2), "ones"))
    with pytest.raises((TypeError, ValueError)):
        layer.build((None, 3))
    assert len(layer.weights) == 0
