"""Issue-19 probe (standalone: plain Keras, and the shared harness _probe.py beside it)."""
from _probe import *  # noqa: F403 - keras, np, K3, case, to_np, as_tensor, exc, attempt, which, main

# Clusters 0 and 2: what a layer returns, and the shapes a symbolic call gets.
#  - compute_output_shape against tracing `call` on a symbolic input (tensorflow/tensorflow#38296)
#  - Concatenate on a list of one tensor (tensorflow/tensorflow#23176)
#  - Concatenate misused in Sequential (tensorflow/tensorflow#25659)
#  - a custom layer taking several inputs of different shapes (keras-team/keras#2364)
#  - a layer whose `call` returns Python ints next to a tensor (keras-team/keras-core#516)

X = np.arange(6, dtype="float32").reshape(2, 3)

if K3:
    ops = keras.ops
else:  # tf-keras has no `ops`: the TensorFlow functions of the same names
    import tensorflow as tf

    class ops:
        expand_dims = staticmethod(tf.expand_dims)
        reshape = staticmethod(tf.reshape)
        shape = staticmethod(tf.shape)
        matmul = staticmethod(tf.matmul)
        convert_to_tensor = staticmethod(tf.convert_to_tensor)


def dims(shape):
    return None if shape is None else [None if d is None else int(d) for d in shape]


def sym_shape(t):
    if isinstance(t, (list, tuple)):
        return [sym_shape(i) for i in t]
    return dims(t.shape)


# ---- compute_output_shape on a symbolic call
class DeclaredShape(keras.layers.Layer):
    """`call` gives (batch, 3, 1); `compute_output_shape` declares (batch, 3, 4): which one does a
    symbolic call report? (They differ on purpose, to tell them apart.)"""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.runs = 0

    def call(self, x):
        self.runs += 1
        return ops.expand_dims(x, -1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[1], 4)


class UnknownLastAxis(keras.layers.Layer):
    """The thread's shape: `call` loses the last dimension (reshape with -1 on the last axis);
    `compute_output_shape` knows it."""

    def call(self, x):
        return ops.reshape(x, (ops.shape(x)[0], 3, -1))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], 3, 1)


@case
def compute_output_shape_on_symbolic_call():
    layer = DeclaredShape()
    r = attempt(lambda: {"symbolic_shape": sym_shape(layer(keras.Input((3,))))})
    r["call_runs"] = layer.runs
    return r


@case
def compute_output_shape_on_eager_call():
    layer = DeclaredShape()
    r = attempt(lambda: {"eager_shape": list(to_np(layer(X)).shape)})
    r["call_runs"] = layer.runs
    return r


@case
def compute_output_shape_then_conv():
    """The thread's failure: a Conv1D after a layer whose `call` loses the channel axis."""

    def go():
        a = keras.Input((3,))
        h = UnknownLastAxis()(a)
        out = keras.layers.Conv1D(2, 1)(h)
        return {"mid_shape": sym_shape(h), "conv_shape": sym_shape(out)}

    return attempt(go)


@case
def no_compute_output_shape_symbolic_call():
    class Traced(keras.layers.Layer):
        def call(self, x):
            return ops.expand_dims(x, -1)

    return attempt(lambda: {"symbolic_shape": sym_shape(Traced()(keras.Input((3,))))})


# ---- Concatenate on a list of one tensor
@case
def concatenate_one_element_list():
    out = {}
    out["eager"] = attempt(lambda: which(keras.layers.Concatenate()([X]), {"x": X}))
    out["symbolic"] = attempt(lambda: {"shape": sym_shape(keras.layers.Concatenate()([keras.Input((3,))]))})

    def in_model():
        a = keras.Input((3,))
        m = keras.Model(a, keras.layers.Concatenate()([a]))
        return {"predict": which(m.predict(X, verbose=0), {"x": X})}

    out["model_predict"] = attempt(in_model)
    out["axis_0"] = attempt(lambda: which(keras.layers.Concatenate(axis=0)([X]), {"x": X}))
    out["empty_list"] = attempt(lambda: keras.layers.Concatenate()([]))
    out["function_concatenate"] = attempt(lambda: which(keras.layers.concatenate([X]), {"x": X}))
    return out


# ---- Concatenate misused in Sequential
def small_integer_weights(model, seed):
    """Small integer weights: every product and sum is exact in any float format (keras-openvino's
    predict runs Dense in bfloat16 on CPUs that have it)."""
    rng = np.random.default_rng(seed)
    model.set_weights([rng.integers(-2, 3, w.shape).astype("float32") for w in model.get_weights()])


def branches():
    b1 = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, name="b1")])
    b2 = keras.Sequential([keras.Input((1,)), keras.layers.Dense(2, name="b2")])
    small_integer_weights(b1, 1)
    small_integer_weights(b2, 2)
    return b1, b2


@case
def concatenate_models_as_constructor_argument():
    """The thread: Sequential().add(Concatenate([branch1, branch2])): the list is Concatenate's `axis`."""
    b1, b2 = branches()
    layer = attempt(lambda: keras.layers.Concatenate([b1, b2]))
    r = {"constructed": not isinstance(layer, dict)}
    if isinstance(layer, dict):
        r["construct"] = layer
        return r
    r["axis_type"] = type(layer.axis).__name__

    def use():
        m = keras.Sequential()
        m.add(layer)
        m.add(keras.layers.Dense(1))
        return {"out_shape": list(to_np(m([X, np.ones((2, 1), "float32")])).shape)}

    r["call"] = attempt(use)
    return r


@case
def concatenate_in_sequential_after_one_input():
    return attempt(
        lambda: keras.Sequential([keras.Input((3,)), keras.layers.Concatenate(), keras.layers.Dense(1)]).output.shape
    )


@case
def concatenate_two_branches_functional():
    """The answer the thread got: the functional API, Concatenate called on the branches' outputs."""
    b1, b2 = branches()

    def go():
        a, b = keras.Input((3,)), keras.Input((1,))
        joined = keras.layers.Concatenate()([b1(a), b2(b)])
        m = keras.Model([a, b], keras.layers.Dense(1, name="head")(joined))
        small_integer_weights(m.get_layer("head"), 3)
        xb = np.ones((2, 1), "float32")
        expected = np.concatenate([to_np(b1(X)), to_np(b2(xb))], axis=-1)
        head = m.get_layer("head")
        k, bias = (to_np(w) for w in head.weights)
        return {
            "symbolic_shape": sym_shape(joined),
            "predict": which(m.predict([X, xb], verbose=0), {"head(concat(b1(a), b2(b)))": expected @ k + bias}),
        }

    return attempt(go)


# ---- a custom layer taking inputs of different shapes
class WeightedPair(keras.layers.Layer):
    """build gets a list of two shapes and makes one kernel per input; call returns two tensors."""

    def build(self, input_shape):
        self.build_arg = [dims(s) for s in input_shape]
        sa, sb = input_shape
        self.wa = self.add_weight(shape=(sa[-1], 2), initializer="ones", name="wa")
        self.wb = self.add_weight(shape=(sb[-1], 2), initializer=keras.initializers.Constant(10.0), name="wb")
        if not K3:
            super().build(input_shape)

    def call(self, inputs):
        a, b = inputs
        pa = ops.matmul(a, self.wa)
        return pa + ops.matmul(b, self.wb), pa

    def compute_output_shape(self, input_shape):
        return (input_shape[0][0], 2), (input_shape[0][0], 2)


class WeightedPairTraced(WeightedPair):
    """The same without compute_output_shape: the symbolic call traces `call`."""

    compute_output_shape = keras.layers.Layer.compute_output_shape


B4 = np.arange(8, dtype="float32").reshape(2, 4) - 3.0


def pair_expected():
    pa = X.sum(axis=1, keepdims=True) * np.ones((1, 2))
    return pa + 10 * B4.sum(axis=1, keepdims=True) * np.ones((1, 2)), pa


@case
def multi_input_layer_eager():
    layer = WeightedPair()

    def go():
        s, p = layer([X, B4])
        es, ep = pair_expected()
        return {"sum": which(s, {"a@wa+b@wb": es}), "pa": which(p, {"a@wa": ep})}

    r = attempt(go)
    r.update({"build_arg": getattr(layer, "build_arg", None), "weights": [dims(w.shape) for w in layer.weights]})
    return r


def multi_input_functional(cls):
    layer = cls()

    def go():
        a, b = keras.Input((3,), name="a"), keras.Input((4,), name="b")
        s, p = layer([a, b])
        m = keras.Model([a, b], [s, p])
        ps, pp = m.predict([X, B4], verbose=0)
        es, ep = pair_expected()
        return {
            "symbolic_shapes": [sym_shape(s), sym_shape(p)],
            "predict": [which(ps, {"a@wa+b@wb": es}), which(pp, {"a@wa": ep})],
            "model_weights": len(m.weights),
        }

    r = attempt(go)
    r["build_arg"] = getattr(layer, "build_arg", None)
    return r


@case
def multi_input_layer_functional():
    return multi_input_functional(WeightedPair)


@case
def multi_input_layer_functional_traced():
    return multi_input_functional(WeightedPairTraced)


# ---- a layer whose call returns Python ints next to a tensor (keras-team/keras-core#516)
class WithSizes(keras.layers.Layer):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.proj = keras.layers.Dense(4, kernel_initializer="ones")

    def call(self, x):
        y = self.proj(x)
        return y, 5, 7


class WithSizesShape(WithSizes):
    def compute_output_shape(self, input_shape):
        return (input_shape[0], 4), (), ()


class WithSizesBuild(WithSizes):
    def build(self, input_shape):
        self.proj.build(input_shape)
        if not K3:
            super().build(input_shape)


class WithSizesBuildAndShape(WithSizesBuild):
    """What Keras 3's error message asks for: `build` making the sub-layer, `compute_output_shape`
    declaring a shape per output (() for an int)."""

    def compute_output_shape(self, input_shape):
        return (input_shape[0], 4), (), ()


class WithShapeTensors(keras.layers.Layer):
    """The thread's attempted fix: the sizes as tensors."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.proj = keras.layers.Dense(4, kernel_initializer="ones")

    def call(self, x):
        y = self.proj(x)
        return y, ops.convert_to_tensor(5), ops.convert_to_tensor(7)


def describe(v):
    if isinstance(v, (int, float)):
        return {"python": type(v).__name__, "value": v}
    d = {"type": type(v).__name__}
    if hasattr(v, "shape"):
        d["shape"] = dims(v.shape)
    return d


def non_tensor_outputs(cls):
    out = {}

    def eager():
        layer = cls()
        return {"outputs": [describe(v) for v in layer(X)], "built": bool(layer.built), "weights": len(layer.weights)}

    out["eager"] = attempt(eager)

    def symbolic():
        layer = cls()
        res = layer(keras.Input((3,)))
        return {"outputs": [describe(v) for v in res], "weights_after_symbolic": len(layer.weights)}

    out["symbolic"] = attempt(symbolic)

    def in_model():
        a = keras.Input((3,))
        y = cls()(a)[0]
        m = keras.Model(a, y)
        return {"predict": which(m.predict(X, verbose=0), {"x@1": X.sum(axis=1, keepdims=True) * np.ones((1, 4))})}

    out["first_output_in_model"] = attempt(in_model)
    return out


@case
def call_returns_python_ints():
    return non_tensor_outputs(WithSizes)


@case
def call_returns_python_ints_with_compute_output_shape():
    return non_tensor_outputs(WithSizesShape)


@case
def call_returns_python_ints_with_build():
    return non_tensor_outputs(WithSizesBuild)


@case
def call_returns_python_ints_with_build_and_compute_output_shape():
    return non_tensor_outputs(WithSizesBuildAndShape)


@case
def call_returns_size_tensors():
    return non_tensor_outputs(WithShapeTensors)


if __name__ == "__main__":
    main()
