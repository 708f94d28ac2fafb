"""Issue-19 probe (standalone: plain Keras, and the shared harness _probe.py beside it)."""
from _probe import *  # noqa: F403 - keras, np, K3, case, to_np, as_tensor, exc, attempt, which, main

# Cluster 2: `Model.build(input_shape)` on subclassed models. Does it build the sub-layers
# (weights exist before the first call)? With a `training` argument in `call`? When `call`
# cannot be traced symbolically? With its own `build`? With a multi-input shape list?

X = np.ones((4, 3), dtype="float32")


def ops_sum(x):
    return keras.ops.sum(x) if K3 else __import__("tensorflow").reduce_sum(x)


class Plain(keras.Model):
    def __init__(self):
        super().__init__()
        self.d1 = keras.layers.Dense(5)
        self.d2 = keras.layers.Dense(2)

    def call(self, x):
        return self.d2(self.d1(x))


class WithTraining(Plain):
    def call(self, x, training=None):
        self.training_seen = training
        return self.d2(self.d1(x))


class Untraceable(Plain):
    """`call` converts a tensor to a Python float: fine eagerly, fails on a symbolic trace."""

    def call(self, x):
        scale = float(ops_sum(x)) * 0.0 + 1.0
        return self.d2(self.d1(x)) * scale


class OwnBuild(Plain):
    def build(self, input_shape):
        self.d1.build(input_shape)
        self.d2.build((input_shape[0], 5))
        if not K3:
            super().build(input_shape)


class TwoInputs(keras.Model):
    def __init__(self):
        super().__init__()
        self.da = keras.layers.Dense(2)
        self.db = keras.layers.Dense(2)

    def call(self, inputs):
        a, b = inputs
        return self.da(a) + self.db(b)


def state(m):
    subs = [l for l in (getattr(m, n, None) for n in ("d1", "d2", "da", "db")) if l is not None]
    return {
        "built": bool(m.built),
        "sublayers_built": [bool(l.built) for l in subs],
        "n_weights": attempt(lambda: len(m.weights)),
    }


def build_then_call(cls, shape, x):
    m = cls()
    r = {"after_construct": state(m)}
    r["build"] = attempt(lambda: (m.build(shape), "ok")[1])
    r["after_build"] = state(m)
    r["count_params_after_build"] = attempt(lambda: m.count_params())
    r["call"] = attempt(lambda: list(to_np(m(x)).shape))
    r["after_call"] = state(m)
    if hasattr(m, "training_seen"):
        r["training_seen_last"] = repr(m.training_seen)
    return r


@case
def plain_build_none_batch():
    return build_then_call(Plain, (None, 3), X)


@case
def plain_build_concrete_batch():
    return build_then_call(Plain, (4, 3), X)


@case
def with_training_arg_build():
    return build_then_call(WithTraining, (None, 3), X)


@case
def untraceable_call_build():
    return build_then_call(Untraceable, (None, 3), X)


@case
def own_build_method():
    return build_then_call(OwnBuild, (None, 3), X)


@case
def two_inputs_build_list_of_shapes():
    return build_then_call(TwoInputs, [(None, 3), (None, 4)], [X, np.ones((4, 4), "float32")])


@case
def plain_build_then_summary():
    m = Plain()
    m.build((None, 3))
    import contextlib
    import io

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        r = attempt(lambda: (m.summary(), "ok")[1])
    text = buf.getvalue()
    return {"summary": r, "mentions_unbuilt": "unbuilt" in text, "total_params_line": [
        ln.strip() for ln in text.splitlines() if "Total params" in ln]}


@case
def plain_first_eager_call_builds_all():
    m = Plain()
    m(X)
    return state(m)


@case
def plain_build_then_fit():
    m = Plain()
    m.build((None, 3))
    m.compile(optimizer="sgd", loss="mse")
    r = attempt(lambda: (m.fit(X, np.zeros((4, 2), "float32"), epochs=1, verbose=0), "ok")[1])
    return {"fit": r, "after_fit": state(m)}


if __name__ == "__main__":
    main()
