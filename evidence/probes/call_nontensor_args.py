"""Issue-19 probe (standalone: plain Keras, and the shared harness _probe.py beside it)."""
from _probe import *  # noqa: F403 - keras, np, K3, case, to_np, as_tensor, exc, attempt, which, main

# Cluster 1: non-tensor arguments to `call` (Python scalars, numpy scalars, None, strings,
# lists): do they reach `call` unchanged, converted to tensors, or are they rejected? Does
# such a call build the layer, and with which shape?

X = np.arange(6, dtype="float32").reshape(2, 3)


def describe(v):
    d = {"type": type(v).__module__.split(".")[0] + "." + type(v).__name__}
    if hasattr(v, "dtype"):
        d["dtype"] = str(getattr(v.dtype, "name", v.dtype))
    if hasattr(v, "shape"):
        d["shape"] = list(v.shape)
    if v is None or isinstance(v, (bool, int, float, str)):
        d["value"] = v
    return d


class Rec(keras.layers.Layer):
    def __init__(self):
        super().__init__()
        self.seen = []
        self.builds = []

    def build(self, input_shape):
        self.builds.append(None if input_shape is None else list(input_shape))
        if not K3:
            super().build(input_shape)

    def call(self, x, s=None):
        self.seen.append(describe(s))
        return x


class RecModel(keras.Model):
    def __init__(self):
        super().__init__()
        self.seen = []

    def call(self, x, s=None):
        self.seen.append(describe(s))
        return x


VALUES = {
    "py_int": lambda: 2,
    "py_float": lambda: 2.5,
    "py_bool": lambda: True,
    "none": lambda: None,
    "str": lambda: "mode",
    "np_float32": lambda: np.float32(2.5),
    "np_float64": lambda: np.float64(2.5),
    "np_int64": lambda: np.int64(2),
    "np_0d_array": lambda: np.array(2.5),
    "py_list": lambda: [1, 2],
}


def probe(cls, how):
    out = {}
    for name, make in VALUES.items():
        layer = cls()

        def go():
            if how == "positional":
                layer(X, make())
            else:
                layer(X, s=make())
            r = {"in_call": layer.seen[-1] if layer.seen else None}
            if hasattr(layer, "builds"):
                r["builds"] = layer.builds
            return r

        out[name] = attempt(go)
    return out


@case
def layer_second_positional():
    return probe(Rec, "positional")


@case
def layer_keyword():
    return probe(Rec, "keyword")


@case
def subclassed_model_second_positional():
    return probe(RecModel, "positional")


@case
def subclassed_model_keyword():
    return probe(RecModel, "keyword")


@case
def layer_first_arg_non_tensor():
    """The first (input) argument itself is not an array."""
    out = {}
    for name, make in {
        "py_float": lambda: 2.5,
        "none": lambda: None,
        "np_float32": lambda: np.float32(2.5),
        "nested_py_list": lambda: [[1.0, 2.0, 3.0]],
    }.items():
        layer = Rec()

        def go():
            y = layer(make())
            return {"builds": layer.builds, "out": describe(y)}

        out[name] = attempt(go)
    return out


@case
def functional_model_extra_positional():
    """A functional model given a second positional value: used, ignored or rejected?"""
    a = keras.Input((3,), name="a")
    m = keras.Model(a, keras.layers.Lambda(lambda t: t * 2.0)(a))
    out = {}
    for name in ("py_int", "none", "np_float32"):
        out[name] = attempt(lambda: which(m(X, VALUES[name]()), {"2x": 2 * X}))
    return out


@case
def scalar_arg_used_in_python_control_flow():
    """A call that uses its scalar argument as a Python int (range, list index)."""

    class Repeat(keras.layers.Layer):
        def call(self, x, n=1):
            y = x
            for _ in range(n - 1):
                y = y + x
            return y

    out = {}
    for name in ("py_int", "np_int64"):
        v = {"py_int": 3, "np_int64": np.int64(3)}[name]
        out[name + "_positional"] = attempt(lambda: which(Repeat()(X, v), {"3x": 3 * X}))
        out[name + "_keyword"] = attempt(lambda: which(Repeat()(X, n=v), {"3x": 3 * X}))
    return out


@case
def rejected_positional_runs_nothing():
    """After a call rejected for a non-tensor positional argument: did build or call run?"""
    layer = Rec()
    r = {"call": attempt(lambda: (layer(X, 2), "ok")[1])}
    r.update({"builds": list(layer.builds), "calls": len(layer.seen), "built": bool(layer.built)})
    r["then_keyword"] = attempt(lambda: (layer(X, s=2), layer.seen[-1])[1])
    return r


if __name__ == "__main__":
    main()
