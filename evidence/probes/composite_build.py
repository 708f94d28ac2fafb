"""Issue-19 probe (standalone: plain Keras, and the shared harness _probe.py beside it)."""
from _probe import *  # noqa: F403 - keras, np, K3, case, to_np, as_tensor, exc, attempt, which, main

# Cluster 2: composite layers (sub-layers in __init__, no `build` of their own) and sub-layers
# created in `build()` from the input shape. When do the sub-layers get weights? Is the
# composite `built` before its first `call` runs? What if `call` cannot be traced symbolically?

X = np.ones((4, 3), dtype="float32")


def is_symbolic(x):
    if K3:
        return not keras.ops.is_tensor(x) or isinstance(x, keras.KerasTensor)
    import tensorflow as tf

    return not tf.executing_eagerly() or isinstance(x, keras.KerasTensor) if hasattr(
        keras, "KerasTensor") else not tf.executing_eagerly()


def backend_float(x):
    if K3:
        return float(keras.ops.convert_to_numpy(keras.ops.sum(x)))
    return float(np.asarray(x).sum())


class Composite(keras.layers.Layer):
    def __init__(self):
        super().__init__()
        self.d1 = keras.layers.Dense(5)
        self.d2 = keras.layers.Dense(2)
        self.log = []

    def call(self, x):
        self.log.append({
            "self_built": bool(self.built),
            "d1_built": bool(self.d1.built),
            "x_type": type(x).__name__,
        })
        return self.d2(self.d1(x))


class UntraceableComposite(Composite):
    def call(self, x):
        self.log.append({"self_built": bool(self.built), "d1_built": bool(self.d1.built),
                         "x_type": type(x).__name__})
        s = backend_float(x) * 0.0 + 1.0  # needs a concrete value
        return self.d2(self.d1(x)) * s


class SublayerInBuild(keras.layers.Layer):
    """Creates its sub-layer in build(), sized from the input shape; does not build it."""

    def build(self, input_shape):
        self.inner = keras.layers.Dense(input_shape[-1])
        if not K3:
            super().build(input_shape)

    def call(self, x):
        return self.inner(x)


class SublayerBuiltInBuild(keras.layers.Layer):
    """Creates and builds its sub-layer in build()."""

    def build(self, input_shape):
        self.inner = keras.layers.Dense(input_shape[-1])
        self.inner.build(input_shape)
        if not K3:
            super().build(input_shape)

    def call(self, x):
        return self.inner(x)


def st(layer):
    return {"built": bool(layer.built), "n_weights": len(layer.weights)}


@case
def composite_eager_first_call():
    c = Composite()
    before = st(c)
    c(X)
    return {"before": before, "call_log": c.log, "after": st(c),
            "d1_built": bool(c.d1.built), "d2_built": bool(c.d2.built)}


@case
def composite_symbolic_first_call():
    c = Composite()
    y = c(keras.Input((3,)))
    return {"call_log": c.log, "after": st(c), "out_shape": list(y.shape)}


@case
def composite_explicit_build():
    c = Composite()
    r = {"build": attempt(lambda: (c.build((None, 3)), "ok")[1])}
    r["after_build"] = st(c)
    r["d1_built_after_build"] = bool(c.d1.built)
    r["call"] = attempt(lambda: list(to_np(c(X)).shape))
    r["after_call"] = st(c)
    return r


@case
def untraceable_composite_eager():
    c = UntraceableComposite()
    r = {"call": attempt(lambda: list(to_np(c(X)).shape))}
    r.update({"call_log": c.log, "after": st(c)})
    return r


@case
def untraceable_composite_symbolic():
    c = UntraceableComposite()
    r = {"call": attempt(lambda: list(c(keras.Input((3,))).shape))}
    r.update({"call_log": c.log, "after": st(c)})
    return r


@case
def untraceable_composite_in_functional_model():
    def go():
        i = keras.Input((3,))
        return list(keras.Model(i, UntraceableComposite()(i))(X).shape)

    return {"construct_and_call": attempt(go)}


@case
def sublayer_created_in_build_eager():
    s = SublayerInBuild()
    s(X)
    return {"after": st(s), "inner_weights_in_parent": [any(w is v for v in s.weights) for w in s.inner.weights],
            "weight_shapes": [list(w.shape) for w in s.weights],
            "trainable_count": len(s.trainable_weights)}


@case
def sublayer_created_in_build_symbolic():
    s = SublayerInBuild()
    s(keras.Input((3,)))
    return {"after": st(s), "weight_shapes": [list(w.shape) for w in s.weights]}


@case
def sublayer_created_in_build_explicit_build():
    s = SublayerInBuild()
    s.build((None, 3))
    r = {"after_build": st(s), "inner_built": bool(s.inner.built)}
    s(X)
    r["after_call"] = st(s)
    return r


@case
def sublayer_built_in_build_explicit_build():
    s = SublayerBuiltInBuild()
    s.build((None, 3))
    r = {"after_build": st(s), "inner_built": bool(s.inner.built)}
    s(X)
    r["after_call"] = st(s)
    return r


@case
def sublayer_created_in_build_in_model_fit():
    """Weights of a build()-created sub-layer are trained by fit."""
    inp = keras.Input((3,))
    s = SublayerInBuild()
    m = keras.Model(inp, keras.layers.Dense(1)(s(inp)))
    r = {"model_n_weights": len(m.weights), "model_trainable": len(m.trainable_weights)}
    if BACKEND in ("numpy", "openvino"):
        r["fit"] = "skipped (backend cannot train)"
        return r
    before = to_np(s.inner.kernel).copy()
    m.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    m.fit(X, np.ones((4, 1), "float32"), epochs=1, batch_size=4, verbose=0)
    r["inner_kernel_changed_by_fit"] = bool(np.abs(to_np(s.inner.kernel) - before).max() > 0)
    return r


if __name__ == "__main__":
    main()
