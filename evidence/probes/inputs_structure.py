"""Issue-19 probe (standalone: plain Keras, and the shared harness _probe.py beside it)."""
from _probe import *  # noqa: F403 - keras, np, K3, case, to_np, as_tensor, exc, attempt, which, main

# Cluster 1: a model's inputs -- structure and routing (lists, dicts, bare tensors).
# A functional model out = a - b on two inputs of the same shape, so a mis-routed input is
# a silent wrong value rather than a shape error; `which()` names the formula the output matches.

rng = np.random.default_rng(0)
A = rng.normal(size=(2, 3)).astype("float32")
B = rng.normal(size=(2, 3)).astype("float32") + 10.0
C = rng.normal(size=(2, 3)).astype("float32") + 100.0
FORMULAS = {
    "a-b": A - B, "b-a": B - A, "a-c": A - C, "c-a": C - A, "c-b": C - B, "b-c": B - C,
}


def two_inputs(struct="list", names=("a", "b"), keys=("a", "b")):
    a = keras.Input((3,), name=names[0])
    b = keras.Input((3,), name=names[1])
    out = keras.layers.Subtract()([a, b])
    if struct == "list":
        return keras.Model([a, b], out)
    if struct == "dict":
        return keras.Model({keys[0]: a, keys[1]: b}, out)
    raise ValueError(struct)


def routed(model, x):
    return {"routes_as": which(model(x), FORMULAS)}


# ---- functional model built with a list of two named inputs
@case
def func_list_called_list():
    return routed(two_inputs("list"), [A, B])


@case
def func_list_called_tuple():
    return routed(two_inputs("list"), (A, B))


@case
def func_list_called_dict_by_name():
    return routed(two_inputs("list"), {"a": A, "b": B})


@case
def func_list_called_dict_reversed_keys():
    return routed(two_inputs("list"), {"b": B, "a": A})


@case
def func_list_called_dict_extra_key():
    return routed(two_inputs("list"), {"a": A, "b": B, "aa": C})


@case
def func_list_called_dict_wrong_names():
    return routed(two_inputs("list"), {"x": A, "y": B})


@case
def func_list_called_dict_missing_key():
    return routed(two_inputs("list"), {"a": A})


@case
def func_list_called_list_of_three():
    return routed(two_inputs("list"), [A, B, C])


@case
def func_list_called_list_of_one():
    return routed(two_inputs("list"), [A])


@case
def func_list_input_names():
    m = two_inputs("list")
    return {"input_names": [t.name for t in m.inputs]}


# ---- functional model built with a dict of two inputs (keys == Input names)
@case
def func_dict_called_dict():
    return routed(two_inputs("dict"), {"a": A, "b": B})


@case
def func_dict_called_dict_reversed_keys():
    return routed(two_inputs("dict"), {"b": B, "a": A})


@case
def func_dict_called_dict_extra_key_sorting_last():
    return routed(two_inputs("dict"), {"a": A, "b": B, "c": C})


@case
def func_dict_called_dict_extra_key_sorting_between():
    # "aa" sorts between "a" and "b"
    return routed(two_inputs("dict"), {"a": A, "b": B, "aa": C})


@case
def func_dict_called_dict_extra_key_sorting_first():
    # "0" sorts before "a"
    return routed(two_inputs("dict"), {"0": C, "a": A, "b": B})


@case
def func_dict_predict_extra_key_sorting_between():
    m = two_inputs("dict")
    return {"routes_as": which(m.predict({"a": A, "b": B, "aa": C}, verbose=0), FORMULAS)}


@case
def func_dict_called_dict_missing_key():
    return routed(two_inputs("dict"), {"a": A})


@case
def func_dict_called_list_sorted_order():
    return routed(two_inputs("dict"), [A, B])


@case
def func_dict_unsorted_keys_called_list():
    # dict built as {"b": b, "a": a}: the list order is ambiguous
    a = keras.Input((3,), name="a")
    b = keras.Input((3,), name="b")
    out = keras.layers.Subtract()([a, b])
    m = keras.Model({"b": b, "a": a}, out)
    return {"model_inputs_order": [t.name for t in m.inputs], **routed(m, [A, B])}


@case
def func_dict_keys_differ_from_input_names():
    # keys x, y map to Inputs named a, b: which names does the model route by?
    def build():
        return two_inputs("dict", names=("a", "b"), keys=("x", "y"))

    return {
        "construct": attempt(lambda: (build(), "ok")[1]),
        "called_with_keys": attempt(lambda: routed(build(), {"x": A, "y": B})),
        "called_with_input_names": attempt(lambda: routed(build(), {"a": A, "b": B})),
    }


# ---- single-input functional models
def one_input(as_list):
    a = keras.Input((3,), name="a")
    out = keras.layers.Lambda(lambda t: t * 2.0)(a)
    return keras.Model([a] if as_list else a, out)


ONE = {"2a": 2 * A, "2b": 2 * B}


@case
def func_single_bare_called_bare():
    return {"routes_as": which(one_input(False)(A), ONE)}


@case
def func_single_bare_called_one_element_list():
    return {"routes_as": which(one_input(False)([A]), ONE)}


@case
def func_single_bare_called_dict_by_name():
    return {"routes_as": which(one_input(False)({"a": A}), ONE)}


@case
def func_single_bare_called_dict_wrong_name():
    return {"routes_as": which(one_input(False)({"z": A}), ONE)}


@case
def func_single_list_called_bare():
    return {"routes_as": which(one_input(True)(A), ONE)}


@case
def func_single_list_called_one_element_list():
    return {"routes_as": which(one_input(True)([A]), ONE)}


@case
def func_single_bare_predict_one_element_list():
    return {"routes_as": which(one_input(False).predict([A], verbose=0), ONE)}


@case
def sequential_called_one_element_list():
    m = keras.Sequential([keras.Input((3,)), keras.layers.Lambda(lambda t: t * 2.0)])
    return {"routes_as": which(m([A]), ONE)}


# ---- subclassed models: the structure reaches call() as given?
class Probe(keras.Model):
    def __init__(self):
        super().__init__()
        self.seen = None

    def call(self, inputs):
        def desc(x):
            if isinstance(x, dict):
                return {"type": "dict", "keys": list(x.keys())}
            if isinstance(x, (list, tuple)):
                return {"type": type(x).__name__, "len": len(x)}
            return {"type": "tensor" if hasattr(x, "shape") else type(x).__name__}

        self.seen = desc(inputs)
        if isinstance(inputs, dict):
            return inputs["a"] - inputs["b"]
        if isinstance(inputs, (list, tuple)):
            return inputs[0] - inputs[1]
        return inputs * 2.0


@case
def subclassed_called_list():
    m = Probe()
    r = which(m([A, B]), {**FORMULAS, **ONE})
    return {"seen_in_call": m.seen, "routes_as": r}


@case
def subclassed_called_tuple():
    m = Probe()
    r = which(m((A, B)), {**FORMULAS, **ONE})
    return {"seen_in_call": m.seen, "routes_as": r}


@case
def subclassed_called_dict_reversed_keys():
    m = Probe()
    r = which(m({"b": B, "a": A}), {**FORMULAS, **ONE})
    return {"seen_in_call": m.seen, "routes_as": r}


@case
def subclassed_called_bare():
    m = Probe()
    r = which(m(A), {**FORMULAS, **ONE})
    return {"seen_in_call": m.seen, "routes_as": r}


@case
def subclassed_predict_dict():
    m = Probe()
    r = which(m.predict({"b": B, "a": A}, verbose=0), {**FORMULAS, **ONE})
    return {"seen_in_call": m.seen, "routes_as": r}


# ---- the same single-input cases with a backend tensor instead of a numpy array
@case
def func_single_list_called_bare_backend_tensor():
    return {"routes_as": which(one_input(True)(as_tensor(A)), ONE)}


@case
def func_single_bare_called_one_element_list_backend_tensor():
    return {"routes_as": which(one_input(False)([as_tensor(A)]), ONE)}


@case
def func_dict_called_dict_extra_key_backend_tensors():
    m = two_inputs("dict")
    x = {"a": as_tensor(A), "b": as_tensor(B), "aa": as_tensor(C)}
    return routed(m, x)


if __name__ == "__main__":
    main()
