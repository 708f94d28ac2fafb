"""MULTI: call(self, a, b), list inputs, shared layers, Concatenate."""

import numpy as np
import pytest
from hypothesis import given

from layercontract.spec.harness import clause, requires
from layercontract.suites import strategies
from layercontract.suites._helpers import close, mentions_shape, names_value, own_message, shape_tuple, tolerance

A = np.arange(6, dtype="float32").reshape(2, 3)
B = np.arange(8, dtype="float32").reshape(2, 4) + 10


def _two_arg_class(K):
    class TwoArg(K.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.build_shapes = []

        def build(self, input_shape):
            self.build_shapes.append(input_shape)

        def call(self, a, b):
            return K.ops.concatenate([a, b], axis=-1)

    return TwoArg


@clause("MULTI.POSITIONAL_AND_KEYWORD")
@pytest.mark.parametrize("style", ["positional", "keyword"])
def test_two_argument_call_accepts_positional_and_keyword_tensors(K, backend, style):
    layer = _two_arg_class(K)()
    out = layer(A, B) if style == "positional" else layer(A, b=B)
    np.testing.assert_array_equal(backend.to_numpy(out), np.concatenate([A, B], axis=-1))


@clause("BUILD.MULTI_ARG_FIRST_SHAPE")
def test_one_argument_build_of_a_two_argument_call_receives_the_first_shape(K):
    layer = _two_arg_class(K)()
    layer(A, B)
    assert [shape_tuple(s) for s in layer.build_shapes] == [(2, 3)]


@clause("MULTI.LIST_INPUT", "BUILD.LIST_SHAPES")
def test_list_input_reaches_call_as_a_list_and_build_gets_a_list_of_shapes(K, backend):
    class Pair(K.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.build_shapes = []

        def build(self, input_shape):
            self.build_shapes.append(input_shape)

        def call(self, inputs):
            a, b = inputs
            return K.ops.concatenate([b, a], axis=-1)

    layer = Pair()
    out = layer([A, B])
    np.testing.assert_array_equal(backend.to_numpy(out), np.concatenate([B, A], axis=-1))
    assert len(layer.build_shapes) == 1
    assert [shape_tuple(s) for s in layer.build_shapes[0]] == [(2, 3), (2, 4)]


@clause("CALL.MODEL_SHARED_CONCAT", "BUILD.SHARED_LAYER_ONE_SET")
def test_two_inputs_through_one_shared_dense_then_concatenate(K, backend):
    class SharedTower(K.Model):
        def __init__(self):
            super().__init__()
            self.shared = K.layers.Dense(2)
            self.concat = K.layers.Concatenate()

        def call(self, inputs):
            left, right = inputs
            return self.concat([self.shared(left), self.shared(right)])

    model = SharedTower()
    left, right = A, A[::-1].copy()
    out = backend.to_numpy(model([left, right]))
    assert len(model.weights) == 2
    kernel, bias = (backend.to_numpy(w) for w in model.shared.weights)
    close(
        out,
        np.concatenate([left @ kernel + bias, right @ kernel + bias], axis=-1),
        **tolerance("CALL.MODEL_SHARED_CONCAT"),
    )


@clause("MULTI.CONCAT_BUILD")
@pytest.mark.parametrize(
    "axis,shapes,expected",
    [
        (-1, [(2, 3), (2, 4)], (2, 7)),
        (1, [(2, 3, 5), (2, 1, 5), (2, 2, 5)], (2, 6, 5)),
        (0, [(1, 3), (4, 3)], (5, 3)),
    ],
)
def test_concatenate_builds_from_a_list_of_shapes_and_joins_on_its_axis(K, backend, axis, shapes, expected):
    arrays = [np.full(s, i, dtype="float32") for i, s in enumerate(shapes)]
    layer = K.layers.Concatenate(axis=axis)
    out = backend.to_numpy(layer(arrays))
    assert layer.built
    assert out.shape == expected
    np.testing.assert_array_equal(out, np.concatenate(arrays, axis=axis))


@clause("MULTI.CONCAT_SHAPE_MISMATCH")
@pytest.mark.parametrize(
    "shapes", [[(2, 3), (3, 3)], [(2, 3, 4), (2, 5, 5)], [(2, 3), (2, 3, 1)]], ids=["batch", "inner-axis", "rank"]
)
def test_concatenate_rejects_mismatched_non_concat_axes_naming_the_shapes(K, shapes):
    with pytest.raises(ValueError) as info:
        K.layers.Concatenate(axis=-1)([np.ones(s, dtype="float32") for s in shapes])
    message = own_message(info.value)
    assert all(mentions_shape(message, s) for s in shapes), (
        f"error message does not show the received shapes {shapes}: {message!r}"
    )


@clause("MULTI.CONCAT_SINGLE_TENSOR")
def test_concatenate_rejects_a_single_tensor(K):
    with pytest.raises(ValueError) as info:
        K.layers.Concatenate()(np.ones((2, 3), dtype="float32"))
    message = own_message(info.value)
    assert mentions_shape(message, (2, 3)), f"error message does not show the received shape (2, 3): {message!r}"


# ------------------------------------------------ generated cases (hypothesis, `ci` profile)
@clause("MULTI.CONCAT_BUILD", "DIFF.CONCATENATE")
@given(case=strategies.concat_shapes(compatible=True))
def test_concatenate_output_for_generated_compatible_shapes(K, reference_K, backend, case):
    axis, shapes = case
    arrays = [np.random.default_rng(i).standard_normal(s).astype("float32") for i, s in enumerate(shapes)]
    out = backend.to_numpy(K.layers.Concatenate(axis=axis)(arrays))
    np.testing.assert_array_equal(out, np.concatenate(arrays, axis=axis))
    np.testing.assert_array_equal(out, reference_K.layers.Concatenate(axis=axis)(arrays))


def _assert_concat_rejects(ns, axis, shapes):
    with pytest.raises(ValueError) as info:
        ns.layers.Concatenate(axis=axis)([np.ones(s, dtype="float32") for s in shapes])
    message = own_message(info.value)
    assert all(mentions_shape(message, s) for s in shapes), (
        f"error message does not show the received shapes {shapes}: {message!r}"
    )


@clause("MULTI.CONCAT_SHAPE_MISMATCH", "DIFF.CONCATENATE")
@given(case=strategies.concat_shapes(compatible=False))
def test_concatenate_rejects_generated_incompatible_shapes(K, reference_K, case):
    axis, shapes = case
    _assert_concat_rejects(K, axis, shapes)
    _assert_concat_rejects(reference_K, axis, shapes)


@clause("MULTI.CONCAT_SHAPE_MISMATCH", "DIFF.CONCATENATE")
@given(case=strategies.concat_rank_mismatch())
def test_concatenate_rejects_generated_inputs_of_different_rank(K, reference_K, case):
    axis, shapes = case
    _assert_concat_rejects(K, axis, shapes)
    _assert_concat_rejects(reference_K, axis, shapes)


@clause("MULTI.CONCAT_SHAPE_MISMATCH")
@pytest.mark.parametrize(
    "axis,shapes",
    [
        (2, [(2, 3), (2, 3, 5)]),
        (2, [(2, 3, 5), (2, 3)]),
        (3, [(2, 3, 4), (2, 3, 4, 1)]),
    ],
    ids=["lower-rank-first", "lower-rank-second", "rank3-rank4"],
)
def test_concatenate_rejects_rank_mismatch_on_an_axis_only_the_higher_rank_input_has(K, axis, shapes):
    # Found by the generated cases: the same rank mismatch as above, but with a positive axis
    # that exists only in the higher-rank input (a pattern strategies.concat_rank_mismatch
    # leaves out, so that the generated check stays deterministic across profiles).
    _assert_concat_rejects(K, axis, shapes)


# ------------------------------------------------ an optional item of a list input (None)
HOW = ["call", pytest.param("predict", marks=requires("inference"))]


def _outputs(backend, model, x, how):
    out = model(x) if how == "call" else model.predict(x, verbose=0)
    return backend.to_numpy(out) if how == "call" else np.asarray(out)


def _small_integers(layer, seed):
    """Small integer weights: every product and sum is exact in any float format (keras-openvino's
    predict runs Dense in bfloat16 on CPUs that have it), so only the wiring is observed."""
    rng = np.random.default_rng(seed)
    layer.set_weights([rng.integers(-2, 3, np.shape(w)).astype("float32") for w in layer.get_weights()])
    return layer.get_weights()


KEY = np.array([[1, -2, 0], [3, 1, -1]], dtype="float32")
QUERY = np.array([[2, 0, -3], [-1, 2, 1]], dtype="float32")


def _key_query_class(K):
    class KeyQuery(K.Layer):
        """`key, query = inputs`, a None query standing for the key (keras-team/keras-core#737);
        it records, per call, whether the query was None."""

        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.dense_key = K.layers.Dense(2)
            self.dense_query = K.layers.Dense(2)
            self.query_was_none = []

        def call(self, inputs):
            key, query = inputs
            self.query_was_none.append(query is None)
            return K.ops.add(self.dense_key(key), self.dense_query(key if query is None else query))

    return KeyQuery


def _key_query_expected(backend, layer, key, query):
    kk, bk, kq, bq = (backend.to_numpy(w) for w in layer.dense_key.weights + layer.dense_query.weights)
    return key @ kk + bk + query @ kq + bq


@clause("MULTI.LIST_ITEM_NONE")
def test_a_none_item_of_a_list_input_reaches_call_and_a_tensor_may_take_its_place_later(K, backend):
    layer = _key_query_class(K)()
    out = backend.to_numpy(layer([KEY, None]))
    assert layer.query_was_none and all(layer.query_was_none), f"call saw query None: {layer.query_was_none}"
    assert len(layer.weights) == 4, f"{len(layer.weights)} weights after the first call, not 4 (two Dense)"
    close(
        out,
        _key_query_expected(backend, layer, KEY, KEY),
        **tolerance("MULTI.LIST_ITEM_NONE"),
        what="layer([key, None]): not Dense_k(key) + Dense_q(key)",
    )
    out = backend.to_numpy(layer([KEY, QUERY]))
    assert layer.query_was_none[-1] is False, "the second call's query reached call as None"
    close(
        out,
        _key_query_expected(backend, layer, KEY, QUERY),
        **tolerance("MULTI.LIST_ITEM_NONE"),
        what="then layer([key, query]): not Dense_k(key) + Dense_q(query)",
    )


@clause("MULTI.LIST_ITEM_NONE")
def test_build_of_a_list_input_with_a_none_item_gets_none_in_its_place(K):
    class KeyQueryBuild(_key_query_class(K)):
        def build(self, input_shape):
            self.build_arg = input_shape
            self.dense_key.build(input_shape[0])
            self.dense_query.build(input_shape[0])
            super().build(input_shape)

    layer = KeyQueryBuild()
    layer([KEY, None])
    key_shape, query_shape = layer.build_arg
    assert (shape_tuple(key_shape), query_shape) == ((2, 3), None), f"build got {layer.build_arg!r}, not [(2, 3), None]"


@clause("MULTI.LIST_ITEM_NONE")
@requires("functional")
@pytest.mark.parametrize("how", HOW)
def test_a_functional_model_on_a_list_input_with_a_none_item_computes_the_eager_result(K, backend, how):
    layer = _key_query_class(K)()
    key = K.Input((3,), name="key")
    model = K.Model(key, layer([key, None]))
    _small_integers(layer.dense_key, 1)
    _small_integers(layer.dense_query, 2)
    close(
        _outputs(backend, model, KEY, how),
        _key_query_expected(backend, layer, KEY, KEY),
        **tolerance("MULTI.LIST_ITEM_NONE"),
        what=f"Model(key, layer([key, None])) through {how}: not Dense_k(key) + Dense_q(key)",
    )


# ------------------------------------------------ models called on other models' outputs
X4 = np.array([[1, -2, 0, 3], [2, 1, -1, 0], [-3, 0, 2, 1]], dtype="float32")


def _one_to_two_and_two_to_one(K):
    """keras-team/keras#20325: A has one input and two outputs, B two inputs (concatenated, then
    Dense); both built, with small integer weights. Returns A's input, A, B and the numpy
    function x -> B(A(x))."""
    a_in = K.Input((4,))
    hidden, out1, out2 = K.layers.Dense(5), K.layers.Dense(4), K.layers.Dense(4)
    h = hidden(a_in)
    model_a = K.Model(a_in, [out1(h), out2(h)])
    b_in = [K.Input((4,)), K.Input((4,))]
    head = K.layers.Dense(5)
    model_b = K.Model(b_in, head(K.layers.Concatenate()(b_in)))
    (kh, bh), (k1, b1), (k2, b2), (kb, bb) = (_small_integers(d, i) for i, d in enumerate((hidden, out1, out2, head)))

    def composed(x):
        h = x @ kh + bh
        return np.concatenate([h @ k1 + b1, h @ k2 + b2], axis=-1) @ kb + bb

    return a_in, model_a, model_b, composed


@clause("MULTI.MODEL_ON_MODEL_OUTPUTS")
@requires("functional")
@pytest.mark.parametrize("how", HOW)
@pytest.mark.parametrize("wrapping", ["list", "tuple"])
def test_a_list_input_model_called_on_another_models_outputs_computes_the_composition(K, backend, wrapping, how):
    a_in, model_a, model_b, composed = _one_to_two_and_two_to_one(K)
    first, second = model_a(a_in)
    merged = K.Model(a_in, model_b([first, second] if wrapping == "list" else (first, second)))
    assert len(merged.weights) == 8, f"the composed model has {len(merged.weights)} weights, not A's 6 and B's 2"
    close(
        _outputs(backend, merged, X4, how),
        composed(X4),
        **tolerance("MULTI.MODEL_ON_MODEL_OUTPUTS"),
        what=f"Model(x, B(A(x))) with A's outputs as a {wrapping}, through {how}: not B(A(x))",
    )


@clause("MULTI.MODEL_ON_MODEL_OUTPUTS")
@requires("functional")
def test_a_list_input_model_called_on_a_model_object_is_rejected(K):
    a_in, model_a, model_b, _ = _one_to_two_and_two_to_one(K)
    with pytest.raises((ValueError, TypeError)):
        model_b(model_a)


@clause("MULTI.MODEL_ON_MODEL_OUTPUTS")
@requires("functional")
@pytest.mark.parametrize("how", HOW)
def test_two_sequential_branches_on_their_inputs_are_joined_by_concatenate(K, backend, how):
    # tensorflow/tensorflow#25659: two Sequential branches joined by Concatenate, in the functional API
    dense1, dense2, head = K.layers.Dense(2), K.layers.Dense(2), K.layers.Dense(1)
    branch1 = K.Sequential([K.Input((3,)), dense1])
    branch2 = K.Sequential([K.Input((1,)), dense2])
    a, b = K.Input((3,)), K.Input((1,))
    model = K.Model([a, b], head(K.layers.Concatenate()([branch1(a), branch2(b)])))
    (k1, b1), (k2, b2), (kh, bh) = (_small_integers(d, i) for i, d in enumerate((dense1, dense2, head)))
    xa, xb = X4[:, :3], X4[:, 3:]
    close(
        _outputs(backend, model, [xa, xb], how),
        np.concatenate([xa @ k1 + b1, xb @ k2 + b2], axis=-1) @ kh + bh,
        **tolerance("MULTI.MODEL_ON_MODEL_OUTPUTS"),
        what=f"head(Concatenate([branch1(a), branch2(b)])) through {how}",
    )


# ------------------------------------------------ a subclassed model whose call takes two tensors
def _key_query_model(K):
    class KeyQueryModel(K.Model):
        """call(self, key, query): two tensor parameters (tensorflow/tensorflow#46090)."""

        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.dense = K.layers.Dense(2)

        def call(self, key, query):
            return K.ops.add(self.dense(key), K.ops.multiply(self.dense(query), -2.0))

    return KeyQueryModel()


def _key_query_model_expected(backend, model, key, query):
    kernel, bias = (backend.to_numpy(w) for w in model.dense.weights)
    return (key @ kernel + bias) - 2.0 * (query @ kernel + bias)


CALL_STYLES = {
    "positional": lambda m: m(KEY, QUERY),
    "keyword": lambda m: m(KEY, query=QUERY),
    "both-keywords": lambda m: m(key=KEY, query=QUERY),
}


@clause("MULTI.MODEL_TWO_ARGUMENT_CALL")
@pytest.mark.parametrize("style", sorted(CALL_STYLES))
def test_a_subclassed_model_with_two_tensor_parameters_takes_them_positionally_or_by_keyword(K, backend, style):
    model = _key_query_model(K)
    out = backend.to_numpy(CALL_STYLES[style](model))
    close(
        out,
        _key_query_model_expected(backend, model, KEY, QUERY),
        **tolerance("MULTI.MODEL_TWO_ARGUMENT_CALL"),
        what=f"model called {style}: not Dense(key) - 2 Dense(query)",
    )


@clause("MULTI.MODEL_TWO_ARGUMENT_CALL")
@requires("functional")
@pytest.mark.parametrize("how", HOW)
def test_a_two_parameter_model_called_on_two_inputs_makes_a_functional_model(K, backend, how):
    model = _key_query_model(K)
    key, query = K.Input((3,)), K.Input((3,))
    wrapper = K.Model([key, query], model(key, query))
    _small_integers(model.dense, 1)
    close(
        _outputs(backend, wrapper, [KEY, QUERY], how),
        _key_query_model_expected(backend, model, KEY, QUERY),
        **tolerance("MULTI.MODEL_TWO_ARGUMENT_CALL"),
        what=f"Model([key, query], model(key, query)) through {how}: not Dense(key) - 2 Dense(query)",
    )


@clause("MULTI.MODEL_TWO_ARGUMENT_CALL")
@requires("inference")
def test_predict_on_a_two_parameter_model_is_rejected_naming_the_second_parameter(K):
    model = _key_query_model(K)
    model(KEY, QUERY)
    with pytest.raises((TypeError, ValueError)) as info:
        model.predict([KEY, QUERY], verbose=0)
    message = own_message(info.value)
    assert names_value(message, "query"), f"the error does not name the parameter 'query': {message!r}"


# ------------------------------------------------ Concatenate on a list of one tensor
@clause("MULTI.CONCAT_ONE_INPUT")
@pytest.mark.parametrize("axis", [-1, 0])
def test_concatenate_on_a_list_of_one_tensor_returns_it(K, backend, axis):
    np.testing.assert_array_equal(backend.to_numpy(K.layers.Concatenate(axis=axis)([A])), A)


@clause("MULTI.CONCAT_ONE_INPUT")
@requires("functional")
@pytest.mark.parametrize("how", HOW)
def test_concatenate_on_a_list_of_one_input_in_a_functional_model(K, backend, how):
    a = K.Input((3,))
    joined = K.layers.Concatenate()([a])
    assert shape_tuple(joined.shape) == (None, 3), f"symbolic shape {shape_tuple(joined.shape)}, not (None, 3)"
    np.testing.assert_array_equal(_outputs(backend, K.Model(a, joined), A, how), A)


# ------------------------------------------------ a custom layer with inputs of different shapes
WIDE = np.array([[1, 0, -1, 2], [-2, 1, 3, 0]], dtype="float32")


def _projected_pair_class(K, declares_shape):
    class ProjectedPair(K.Layer):
        """keras-team/keras#2364: `build` gets a list of two shapes and makes one kernel per input;
        `call` returns two tensors: a @ ka + b @ kb, and a @ ka."""

        def build(self, input_shape):
            self.build_arg = [shape_tuple(s) for s in input_shape]
            shape_a, shape_b = input_shape
            self.kernel_a = self.add_weight(shape=(shape_a[-1], 2), initializer="ones", name="kernel_a")
            self.kernel_b = self.add_weight(shape=(shape_b[-1], 2), initializer="ones", name="kernel_b")
            super().build(input_shape)

        def call(self, inputs):
            a, b = inputs
            projected_a = K.ops.matmul(a, self.kernel_a)
            return K.ops.add(projected_a, K.ops.matmul(b, self.kernel_b)), projected_a

        if declares_shape:

            def compute_output_shape(self, input_shape):
                return (input_shape[0][0], 2), (input_shape[0][0], 2)

    return ProjectedPair


def _projected_pair_expected(layer, a, b):
    ka, kb = (np.asarray(w) for w in layer.get_weights())
    return a @ ka + b @ kb, a @ ka


@clause("MULTI.LIST_INPUT_DIFFERENT_SHAPES")
def test_a_layer_on_inputs_of_different_shapes_makes_a_kernel_for_each(K, backend):
    layer = _projected_pair_class(K, declares_shape=False)()
    total, projected = layer([A, WIDE])
    assert layer.build_arg == [(2, 3), (2, 4)], f"build got {layer.build_arg}, not [(2, 3), (2, 4)]"
    shapes = [shape_tuple(w.shape) for w in layer.weights]
    assert shapes == [(3, 2), (4, 2)], f"kernels of shapes {shapes}, not [(3, 2), (4, 2)]"
    layer.set_weights([np.arange(6, dtype="float32").reshape(3, 2) - 2, np.arange(8, dtype="float32").reshape(4, 2)])
    for got, want, what in zip(layer([A, WIDE]), _projected_pair_expected(layer, A, WIDE), ("a@ka + b@kb", "a@ka")):
        close(backend.to_numpy(got), want, **tolerance("MULTI.LIST_INPUT_DIFFERENT_SHAPES"), what=what)


@clause("MULTI.LIST_INPUT_DIFFERENT_SHAPES")
@requires("functional")
@pytest.mark.parametrize("how", HOW)
@pytest.mark.parametrize("declares_shape", [True, False], ids=["compute_output_shape", "traced"])
def test_a_layer_on_inputs_of_different_shapes_in_a_functional_model(K, backend, declares_shape, how):
    layer = _projected_pair_class(K, declares_shape)()
    a, b = K.Input((3,)), K.Input((4,))
    total, projected = layer([a, b])
    assert layer.build_arg == [(None, 3), (None, 4)], f"build got {layer.build_arg}, not [(None, 3), (None, 4)]"
    assert [shape_tuple(t.shape) for t in (total, projected)] == [(None, 2), (None, 2)], (
        f"symbolic outputs of shapes {[shape_tuple(t.shape) for t in (total, projected)]}, not (None, 2) twice"
    )
    model = K.Model([a, b], [total, projected])
    assert len(model.weights) == 2, f"the model has {len(model.weights)} weights, not the layer's 2 kernels"
    layer.set_weights([np.arange(6, dtype="float32").reshape(3, 2) - 2, np.arange(8, dtype="float32").reshape(4, 2)])
    outputs = model([A, WIDE]) if how == "call" else model.predict([A, WIDE], verbose=0)
    assert len(outputs) == 2, f"{how} returned {len(outputs)} outputs, not 2"
    for got, want, what in zip(outputs, _projected_pair_expected(layer, A, WIDE), ("a@ka + b@kb", "a@ka")):
        close(
            backend.to_numpy(got) if how == "call" else np.asarray(got),
            want,
            **tolerance("MULTI.LIST_INPUT_DIFFERENT_SHAPES"),
            what=f"{what} through {how}",
        )
