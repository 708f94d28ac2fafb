"""INPUT (a model's inputs: structure and routing): lists, dicts and bare tensors into functional
models; dict inputs routed by name, extra keys ignored, missing keys and wrong counts rejected.

The two-input model computes a + 10 b from two same-shaped inputs, so an input routed to the
wrong place gives a wrong value, never a shape error (issue 19, cluster 1)."""

import re

import numpy as np
import pytest

from layercontract.spec.harness import clause, requires
from layercontract.suites._helpers import clean_message, close, names_number, own_message, tolerance

RNG = np.random.default_rng(19)
A, B, C = (RNG.standard_normal((4, 3)).astype("float32") for _ in range(3))
A_PLUS_10B = A + 10 * B


def _two_input_model(K, built_from):
    """Inputs named 'a' and 'b' (same shape); output a + 10 b. `built_from`: 'list' or 'dict'."""

    class AddTenTimes(K.Layer):
        def call(self, inputs):
            a, b = inputs
            return K.ops.add(a, K.ops.multiply(b, 10.0))

    a, b = K.Input((3,), name="a"), K.Input((3,), name="b")
    out = AddTenTimes()([a, b])
    return K.Model([a, b] if built_from == "list" else {"a": a, "b": b}, out)


def _one_input_model(K, built_from):
    """Input named 'a'; output 2 a. `built_from`: 'bare' (Model(x, y)) or 'list' (Model([x], y))."""

    class Double(K.Layer):
        def call(self, x):
            return K.ops.multiply(x, 2.0)

    a = K.Input((3,), name="a")
    out = Double()(a)
    return K.Model(a if built_from == "bare" else [a], out)


def _run(backend, model, x, how):
    if how == "call":
        return backend.to_numpy(model(x))
    return np.asarray(model.predict(x, verbose=0))


BUILT_FROM = ["list", "dict"]
HOW = ["call", pytest.param("predict", marks=requires("inference"))]


# ------------------------------------------------------------------ routing by name
@clause("INPUT.DICT_ROUTED_BY_NAME")
@pytest.mark.parametrize("how", HOW)
@pytest.mark.parametrize("order", ["declared", "reversed"])
@pytest.mark.parametrize("built_from", BUILT_FROM)
def test_dict_input_is_routed_by_name_in_any_key_order(K, backend, built_from, order, how):
    model = _two_input_model(K, built_from)
    x = {"a": A, "b": B} if order == "declared" else {"b": B, "a": A}
    out = _run(backend, model, x, how)
    close(
        out,
        A_PLUS_10B,
        **tolerance("INPUT.DICT_ROUTED_BY_NAME"),
        what=f"{built_from}-built model fed {list(x)}: not a + 10 b (an input was routed to the wrong place)",
    )


@clause("INPUT.DICT_ROUTED_BY_NAME")
@requires("inference")
@pytest.mark.parametrize("built_from", BUILT_FROM)
def test_dict_input_is_routed_by_name_in_evaluate(K, backend, built_from):
    model = _two_input_model(K, built_from)
    model.compile(optimizer=K.optimizers.SGD(learning_rate=0.0), loss="mse")
    loss = model.evaluate({"b": B, "a": A}, A_PLUS_10B, batch_size=len(A), verbose=0)
    loss = float(loss[0] if isinstance(loss, (list, tuple)) else loss)
    # exact routing gives 0 (up to float32 rounding); a swap gives a mean square error of about 80
    close(
        loss,
        0.0,
        **tolerance("INPUT.DICT_ROUTED_BY_NAME"),
        what="mse of evaluate on the dict {'b': B, 'a': A} against a + 10 b",
    )


# ------------------------------------------------------------------ extra keys
EXTRA_KEYS = {"first": "0", "between": "aa", "last": "c"}  # where the extra key sorts among 'a', 'b'


@clause("INPUT.DICT_EXTRA_KEYS_IGNORED")
@pytest.mark.parametrize("how", HOW)
@pytest.mark.parametrize("sorts", ["first", "between", "last"])
def test_extra_dict_keys_are_ignored_by_a_list_built_model(K, backend, sorts, how):
    x = {"a": A, "b": B, EXTRA_KEYS[sorts]: C}
    out = _run(backend, _two_input_model(K, "list"), x, how)
    close(out, A_PLUS_10B, **tolerance("INPUT.DICT_EXTRA_KEYS_IGNORED"), what=f"fed {sorted(x)}: not a + 10 b")


@clause("INPUT.DICT_EXTRA_KEYS_IGNORED")
@pytest.mark.parametrize("how", HOW)
def test_an_extra_dict_key_sorting_last_is_ignored_by_a_dict_built_model(K, backend, how):
    x = {"a": A, "b": B, "c": C}
    out = _run(backend, _two_input_model(K, "dict"), x, how)
    close(out, A_PLUS_10B, **tolerance("INPUT.DICT_EXTRA_KEYS_IGNORED"), what=f"fed {sorted(x)}: not a + 10 b")


@clause("INPUT.DICT_EXTRA_KEYS_IGNORED")
@pytest.mark.parametrize("how", HOW)
@pytest.mark.parametrize("sorts", ["first", "between"])
def test_an_extra_dict_key_sorting_before_a_declared_one_never_takes_its_place(K, backend, sorts, how):
    """The case of keras-team/keras#23258: a dict-built model fed the declared keys plus one that
    sorts before one of them."""
    x = {"a": A, "b": B, EXTRA_KEYS[sorts]: C}
    out = _run(backend, _two_input_model(K, "dict"), x, how)
    replaced = {
        "a + 10 c (the extra value took b's place)": A + 10 * C,
        "c + 10 a (the inputs shifted by one)": C + 10 * A,
    }
    seen = next((name for name, value in replaced.items() if np.allclose(out, value)), "another value")
    close(
        out,
        A_PLUS_10B,
        **tolerance("INPUT.DICT_EXTRA_KEYS_IGNORED"),
        what=f"dict-built model fed {sorted(x)}: got {seen}, not a + 10 b",
    )


# ------------------------------------------------------------------ missing keys, wrong counts
MISSING = {  # dict fed -> the declared name that is missing from it
    "one-key": ({"a": A}, "b"),
    "misnamed": ({"x": A, "y": B}, "a"),
}


@clause("INPUT.DICT_MISSING_KEY_REJECTED")
@pytest.mark.parametrize("case", sorted(MISSING))
@pytest.mark.parametrize("built_from", BUILT_FROM)
def test_a_dict_missing_a_declared_key_is_rejected_naming_it(K, built_from, case):
    x, missing = MISSING[case]
    model = _two_input_model(K, built_from)
    with pytest.raises(ValueError) as info:
        model(x)
    message = clean_message(info.value)
    assert re.search(rf"[\"']{missing}[\"']", message), (
        f"the error does not name the missing key {missing!r}: {message}"
    )


@clause("INPUT.DICT_MISSING_KEY_REJECTED")
def test_a_dict_with_the_wrong_key_is_rejected_by_a_one_input_model(K):
    with pytest.raises(ValueError) as info:
        _one_input_model(K, "bare")({"z": A})
    message = clean_message(info.value)
    assert re.search(r"[\"']a[\"']", message), f"the error does not name the missing key 'a': {message}"


def _assert_gives_both_counts(message, model, *, received):
    """The two-input model's rejection gives the expected count (2) and the received one, in any
    wording (Keras 3.1-3.3: 'expected 2 input(s). Received 1 instead'; 3.4 on: 'expects 2 ...
    but it received 1 input tensors'), outside the shapes it echoes and the model's name."""
    missing = [
        f"{which} count ({number})"
        for which, number in (("expected", 2), ("received", received))
        if not names_number(message, number, ignore=model.name)
    ]
    assert not missing, f"the error does not give the {' and the '.join(missing)}: {message}"


@clause("INPUT.MODEL_INPUT_COUNT")
@pytest.mark.parametrize("count", [1, 3])
@pytest.mark.parametrize("container", [list, tuple])
def test_a_list_of_the_wrong_length_is_rejected_naming_both_counts(K, container, count):
    x = container([A, B, C][:count])
    model = _two_input_model(K, "list")
    with pytest.raises(ValueError) as info:
        model(x)
    _assert_gives_both_counts(own_message(info.value), model, received=count)


@clause("INPUT.MODEL_INPUT_COUNT")
@pytest.mark.parametrize("x", ["bare", "one-element-list"])
def test_a_single_tensor_into_a_two_input_dict_built_model_is_rejected(K, x):
    model = _two_input_model(K, "dict")
    with pytest.raises(ValueError) as info:
        model(A if x == "bare" else [A])
    _assert_gives_both_counts(own_message(info.value), model, received=1)


# ------------------------------------------------------------------ a list into a dict-built model
def _dict_built_model(K, keys):
    """Inputs 'a' and 'b' given to Model as a dict written in the order `keys`; output a + 10 b."""

    class AddTenTimes(K.Layer):
        def call(self, inputs):
            return K.ops.add(inputs["a"], K.ops.multiply(inputs["b"], 10.0))

    tensors = {"a": K.Input((3,), name="a"), "b": K.Input((3,), name="b")}
    inputs = {key: tensors[key] for key in keys}
    return K.Model(inputs, AddTenTimes()(tensors))


@clause("INPUT.LIST_INTO_DICT_BUILT_MODEL")
@pytest.mark.parametrize("how", HOW)
@pytest.mark.parametrize("keys", ["ab", "ba"], ids=["written-sorted", "written-unsorted"])
def test_a_list_into_a_dict_built_model_follows_sorted_keys_or_is_rejected(K, backend, keys, how):
    model = _dict_built_model(K, keys)
    try:
        out = _run(backend, model, [A, B], how)
    except ValueError:
        return  # rejected: allowed
    written_order = "b + 10 a (the order the dict was written in)" if keys == "ba" else "another value"
    seen = written_order if np.allclose(out, B + 10 * A) else "another value"
    close(
        out,
        A_PLUS_10B,
        **tolerance("INPUT.LIST_INTO_DICT_BUILT_MODEL"),
        what=f"[A, B] into a model built from a dict with keys {list(keys)}: got {seen}, not a + 10 b "
        "(sorted key order)",
    )


# ------------------------------------------------------------------ one input, any wrapping
def _wrap(x, how):
    return {"bare": lambda: x, "list": lambda: [x], "dict": lambda: {"a": x}}[how]()


@clause("INPUT.SINGLE_INPUT_ANY_WRAPPING")
@pytest.mark.parametrize("how", HOW)
@pytest.mark.parametrize("wrapping", ["bare", "list", "dict"])
@pytest.mark.parametrize("built_from", ["bare", "list"])
def test_a_one_input_model_takes_a_bare_tensor_a_one_element_list_or_a_dict(K, backend, built_from, wrapping, how):
    out = _run(backend, _one_input_model(K, built_from), _wrap(A, wrapping), how)
    close(
        out,
        2 * A,
        **tolerance("INPUT.SINGLE_INPUT_ANY_WRAPPING"),
        what=f"Model({built_from} input) fed a {wrapping} tensor: not 2 a",
    )


# ------------------------------------------------------------------ subclassed models: any structure
# Small integers throughout (inputs, kernels, biases): every product and sum is exact in any float
# format, so the check observes the structure, not a backend's inference precision (keras-openvino's
# predict runs Dense in bfloat16 on CPUs that have it).
INTS = np.random.default_rng(56)
AI, DI = INTS.integers(-3, 4, (4, 3)).astype("float32"), INTS.integers(-3, 4, (4, 4)).astype("float32")
KA, BA, KB, BB = (INTS.integers(-2, 3, shape).astype("float32") for shape in ((3, 2), (2,), (4, 2), (2,)))


def _unpacking_model(K):
    """A subclassed model whose `call` unpacks two inputs of widths 3 and 4 (a list, a tuple or a
    dict with keys 'a', 'b') into one Dense each; it records the structure `call` received."""

    seen = []

    class Unpacking(K.Model):
        def __init__(self):
            super().__init__()
            self.da = K.layers.Dense(2)
            self.db = K.layers.Dense(2)

        def call(self, inputs):
            # by isinstance: keras-openvino's predict hands `call` Keras's TrackedList / TrackedDict
            kind = next((k.__name__ for k in (dict, tuple, list) if isinstance(inputs, k)), type(inputs).__name__)
            seen.append((kind, sorted(inputs) if isinstance(inputs, dict) else len(inputs)))
            a, b = (inputs["a"], inputs["b"]) if isinstance(inputs, dict) else inputs
            return K.ops.add(self.da(a), self.db(b))

    Unpacking.seen = seen  # a class attribute: tf-keras would wrap an instance attribute's list
    return Unpacking()


STRUCTURES = {"list": lambda: [AI, DI], "tuple": lambda: (AI, DI), "dict": lambda: {"b": DI, "a": AI}}


@clause("INPUT.SUBCLASSED_MODEL_STRUCTURES")
@pytest.mark.parametrize("how", HOW)
@pytest.mark.parametrize("structure", sorted(STRUCTURES))
def test_a_subclassed_model_receives_its_input_structure_intact(K, backend, structure, how):
    model = _unpacking_model(K)
    x = STRUCTURES[structure]()
    model(x)  # the first call builds the sub-layers from the structure's shapes
    assert len(model.weights) == 4, f"{len(model.weights)} weights after the first call on a {structure}, not 4"
    model.da.set_weights([KA, BA])
    model.db.set_weights([KB, BB])
    out = _run(backend, model, x, how)
    expected = {"dict": ("dict", ["a", "b"])}.get(structure, (structure, 2))
    if how == "predict" and structure != "dict":  # tf-keras's data adapter turns a list into a tuple
        expected = (model.seen[-1][0] if model.seen[-1][0] in ("list", "tuple") else "list or tuple", 2)
    assert model.seen[-1] == expected, f"call received {model.seen[-1]}, not {expected}"
    close(
        out,
        AI @ KA + BA + DI @ KB + BB,
        **tolerance("INPUT.SUBCLASSED_MODEL_STRUCTURES"),
        what=f"{how} on a {structure}: not Dense_a(a) + Dense_b(b)",
    )
