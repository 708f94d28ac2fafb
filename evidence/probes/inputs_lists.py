"""Issue-19 probe (standalone: plain Keras, and the shared harness _probe.py beside it)."""
from _probe import *  # noqa: F403 - keras, np, K3, case, to_np, as_tensor, exc, attempt, which, main

# Cluster 1: lists as a layer's or a model's input.
#  - None as an optional item of a list input (keras-team/keras-core#737)
#  - a Python list of numbers as a layer's input (keras-team/keras-core#354)
#  - a list-input functional model called on another model's list of outputs (keras-team/keras#20325)
#  - a subclassed model with call(self, x, y) (tensorflow/tensorflow#46090)

X = np.arange(6, dtype="float32").reshape(2, 3) - 2.0
Y = np.arange(6, dtype="float32").reshape(2, 3)[::-1].copy() + 1.0


def shapes(s):
    """A build argument as plain lists (None kept)."""
    if s is None:
        return None
    if isinstance(s, (list, tuple)) and s and (s[0] is None or isinstance(s[0], (list, tuple)) or hasattr(s[0], "__len__")):
        return [shapes(i) for i in s]
    return [None if d is None else int(d) for d in s]


class KeyQuery(keras.layers.Layer):
    """The thread's layer: `key, query = inputs`; a None query falls back to the key."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.dk = keras.layers.Dense(2, kernel_initializer="ones")
        self.dq = keras.layers.Dense(2, kernel_initializer=keras.initializers.Constant(10.0))
        self.seen = []

    def call(self, inputs):
        key, query = inputs
        self.seen.append("None" if query is None else type(query).__name__)
        if query is None:
            query = key
        return self.dk(key) + self.dq(query)


class KeyQueryBuild(KeyQuery):
    """The same with its own build(input_shape): what does it receive for the None item?"""

    def build(self, input_shape):
        self.build_arg = shapes(input_shape) if input_shape is not None else None
        key_shape = input_shape[0]
        self.dk.build(key_shape)
        self.dq.build(key_shape)
        if not K3:
            super().build(input_shape)


def key_query_expected(x, q):
    return x.sum(axis=1, keepdims=True) * np.ones((1, 2)) + 10 * q.sum(axis=1, keepdims=True) * np.ones((1, 2))


@case
def none_in_list_eager():
    layer = KeyQuery()
    out = attempt(lambda: which(layer([X, None]), {"key+10*key": key_query_expected(X, X)}))
    return {"out": out, "seen": layer.seen, "built": bool(layer.built), "weights": len(layer.weights)}


@case
def none_in_list_eager_with_build():
    layer = KeyQueryBuild()
    out = attempt(lambda: which(layer([X, None]), {"key+10*key": key_query_expected(X, X)}))
    return {"out": out, "build_arg": getattr(layer, "build_arg", "not run"), "seen": layer.seen}


@case
def none_in_list_then_tensor():
    """The same layer object called with and without the optional item."""
    layer = KeyQuery()
    first = attempt(lambda: which(layer([X, None]), {"key+10*key": key_query_expected(X, X)}))
    second = attempt(lambda: which(layer([X, Y]), {"key+10*query": key_query_expected(X, Y)}))
    return {"none_first": first, "then_tensor": second, "seen": layer.seen}


@case
def none_in_list_symbolic():
    layer = KeyQuery()

    def go():
        a = keras.Input((3,), name="key")
        out = layer([a, None])
        model = keras.Model(a, out)
        return {
            "symbolic_shape": [None if d is None else int(d) for d in out.shape],
            "predict": which(model.predict(X, verbose=0), {"key+10*key": key_query_expected(X, X)}),
            "called": which(model(X), {"key+10*key": key_query_expected(X, X)}),
        }

    r = attempt(go)
    r["seen"] = layer.seen
    return r


@case
def none_as_keyword():
    """The portable spelling the thread was pointed to: the optional tensor as a keyword."""

    class KwQuery(keras.layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.dk = keras.layers.Dense(2, kernel_initializer="ones")
            self.dq = keras.layers.Dense(2, kernel_initializer=keras.initializers.Constant(10.0))

        def call(self, key, query=None):
            return self.dk(key) + self.dq(key if query is None else query)

    return {
        "none": attempt(lambda: which(KwQuery()(X, query=None), {"key+10*key": key_query_expected(X, X)})),
        "tensor": attempt(lambda: which(KwQuery()(X, query=Y), {"key+10*query": key_query_expected(X, Y)})),
    }


# ---- a Python list of numbers as a layer's input
class Rec(keras.layers.Layer):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.seen, self.builds = [], []

    def build(self, input_shape):
        self.builds.append(shapes(input_shape))
        if not K3:
            super().build(input_shape)

    def call(self, inputs):
        self.seen.append(
            [type(i).__name__ for i in inputs] if isinstance(inputs, (list, tuple)) else type(inputs).__name__
        )
        return inputs


def relu(values):
    layer = keras.layers.Activation("relu")

    def go():
        out = layer(values)
        if isinstance(out, (list, tuple)):
            return {"out": "list of %d" % len(out), "values": [float(to_np(o)) for o in out]}
        return {"out_shape": list(to_np(out).shape), "values": to_np(out).tolist()}

    r = attempt(go)
    r["built"] = bool(layer.built)
    return r


@case
def activation_on_python_list():
    return {
        "floats": relu([12.0, -3.0, 0.0]),
        "ints": relu([12, -3, 0]),
        "numpy_array": relu(np.array([12.0, -3.0, 0.0], dtype="float32")),
        "nested_list": relu([[12.0, -3.0, 0.0]]),
    }


@case
def custom_layer_on_python_list():
    layer = Rec()
    r = attempt(lambda: {"out_type": type(layer([12.0, -3.0, 0.0])).__name__})
    r.update({"builds": layer.builds, "seen": layer.seen, "built": bool(layer.built)})
    return r


@case
def dense_on_nested_python_list():
    layer = keras.layers.Dense(2, kernel_initializer="ones")
    r = attempt(lambda: {"values": to_np(layer([[1.0, 2.0, 3.0]])).tolist()})
    r["built"] = bool(layer.built)
    return r


# ---- a list-input model called on another model's list of outputs (keras-team/keras#20325)
def small_integer_weights(model, seed):
    """Small integer weights: every product and sum is exact in any float format (keras-openvino's
    predict runs Dense in bfloat16 on CPUs that have it), and the two outputs of A differ."""
    rng = np.random.default_rng(seed)
    model.set_weights([rng.integers(-2, 3, w.shape).astype("float32") for w in model.get_weights()])


def two_models():
    a_in = keras.Input((4,), name="a_in")
    h = keras.layers.Dense(5, name="a_hidden")(a_in)
    model_a = keras.Model(a_in, [keras.layers.Dense(4, name="a_out1")(h), keras.layers.Dense(4, name="a_out2")(h)])
    b_in = [keras.Input((4,), name="b_in1"), keras.Input((4,), name="b_in2")]
    joined = keras.layers.Concatenate()(b_in)
    model_b = keras.Model(b_in, keras.layers.Dense(5, name="b_out")(joined))
    small_integer_weights(model_a, 1)
    small_integer_weights(model_b, 2)
    return a_in, model_a, model_b


X4 = np.random.default_rng(0).integers(-3, 4, (3, 4)).astype("float32")


def composed(how):
    a_in, model_a, model_b = two_models()
    o1, o2 = (to_np(o) for o in model_a(X4))
    expected = to_np(model_b([o1, o2]))
    swapped = to_np(model_b([o2, o1]))

    def go():
        if how == "call_on_outputs":
            out = model_b(model_a(a_in))
        elif how == "call_on_model_outputs_attr":
            out = model_b(model_a.outputs)
            a_in_used = model_a.inputs
        elif how == "call_on_tuple":
            out = model_b(tuple(model_a(a_in)))
        elif how == "call_on_model_object":
            out = model_b(model_a)
        merged = keras.Model(a_in_used if how == "call_on_model_outputs_attr" else a_in, out)
        return {
            "symbolic_shape": [None if d is None else int(d) for d in out.shape],
            "called": which(merged(X4), {"B(A(x))": expected, "B(swapped A(x))": swapped}),
            "predict": which(merged.predict(X4, verbose=0), {"B(A(x))": expected, "B(swapped A(x))": swapped}),
            "weights": len(merged.weights),
        }

    return attempt(go)


@case
def model_on_model_outputs():
    return {
        how: composed(how)
        for how in ("call_on_outputs", "call_on_model_outputs_attr", "call_on_tuple", "call_on_model_object")
    }


@case
def model_on_model_outputs_fit():
    """The composed model trains (the weights of both models change)."""
    a_in, model_a, model_b = two_models()
    merged = keras.Model(a_in, model_b(model_a(a_in)))

    def go():
        merged.compile(optimizer="sgd", loss="mse")
        before = [to_np(w).copy() for w in merged.weights]
        merged.fit(X4, np.ones((3, 5), "float32"), epochs=1, verbose=0)
        return {"changed": sum(not np.allclose(b, to_np(w)) for b, w in zip(before, merged.weights)), "of": len(before)}

    return attempt(go)


# ---- a subclassed model with call(self, x, y) (tensorflow/tensorflow#46090)
class TwoArgModel(keras.Model):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.dense = keras.layers.Dense(2, kernel_initializer="ones")

    def call(self, x, y):
        return self.dense(x) - 2.0 * self.dense(y)


def two_arg_expected(x, y):
    return x.sum(axis=1, keepdims=True) * np.ones((1, 2)) - 2 * y.sum(axis=1, keepdims=True) * np.ones((1, 2))


@case
def subclassed_two_argument_model():
    exp = {"d(x)-2d(y)": two_arg_expected(X, Y), "d(y)-2d(x)": two_arg_expected(Y, X)}
    out = {}
    out["positional"] = attempt(lambda: which(TwoArgModel()(X, Y), exp))
    out["keyword"] = attempt(lambda: which(TwoArgModel()(X, y=Y), exp))
    out["both_keywords"] = attempt(lambda: which(TwoArgModel()(x=X, y=Y), exp))
    out["backend_tensors"] = attempt(lambda: which(TwoArgModel()(as_tensor(X), as_tensor(Y)), exp))

    def wrapped():
        m = TwoArgModel()
        a, b = keras.Input((3,), name="x"), keras.Input((3,), name="y")
        f = keras.Model([a, b], m(a, b))
        return {
            "called": which(f([X, Y]), exp),
            "predict": which(f.predict([X, Y], verbose=0), exp),
            "weights": len(f.weights),
        }

    out["wrapped_in_functional"] = attempt(wrapped)

    def own_predict(data):
        m = TwoArgModel()
        m(X, Y)
        return which(m.predict(data, verbose=0), exp)

    out["own_predict_list"] = attempt(lambda: own_predict([X, Y]))
    out["own_predict_tuple"] = attempt(lambda: own_predict((X, Y)))
    return out


if __name__ == "__main__":
    main()
