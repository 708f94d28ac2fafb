"""Issue-19 probe (standalone: plain Keras, and the shared harness _probe.py beside it)."""
from _probe import *  # noqa: F403 - keras, np, K3, case, to_np, as_tensor, exc, attempt, which, main

# Cluster 5, on the releases that run here. tensorflow/tensorflow#29729: a subclassed model whose
# first Dense is given input_shape still has no weights until it is called. #33244: summary()
# and save_weights() on an unbuilt subclassed model raise 'not yet been built'. #42691:
# Model.build() from a dict of shapes on a subclassed model with dict inputs raised ValueError.


class WithInputShape(keras.Model):
    def __init__(self):
        super().__init__()
        self.d1 = keras.layers.Dense(4, input_shape=(3,))
        self.d2 = keras.layers.Dense(2)

    def call(self, x):
        return self.d2(self.d1(x))


class DictInputs(keras.Model):
    def __init__(self):
        super().__init__()
        self.da = keras.layers.Dense(2)
        self.db = keras.layers.Dense(2)

    def call(self, inputs):
        return self.da(inputs["a"]) + self.db(inputs["b"])


def n_weights(m):
    return attempt(lambda: len(m.weights))


@case
def input_shape_on_inner_dense():
    m = attempt(WithInputShape)
    if isinstance(m, dict):
        return {"construct": m}
    r = {"weights_after_construct": n_weights(m), "built": bool(m.built)}
    m(np.ones((2, 3), dtype="float32"))
    r["weights_after_call"] = n_weights(m)
    return r


@case
def summary_before_build():
    m = WithInputShape() if not K3 else DictInputs()
    return {"summary": attempt(lambda: (m.summary(print_fn=lambda *a, **k: None), "ok")[1])}


@case
def save_weights_before_build():
    import os
    import tempfile

    m = DictInputs()
    path = os.path.join(tempfile.mkdtemp(), "w.weights.h5")
    return {"save_weights": attempt(lambda: (m.save_weights(path), "ok")[1])}


@case
def build_from_dict_of_shapes():
    m = DictInputs()
    r = {"build": attempt(lambda: (m.build({"a": (None, 3), "b": (None, 5)}), "ok")[1])}
    r["built"], r["weights_after_build"] = bool(m.built), n_weights(m)
    x = {"a": np.ones((2, 3), dtype="float32"), "b": np.ones((2, 5), dtype="float32")}
    r["call"] = attempt(lambda: list(to_np(m(x)).shape))
    r["weights_after_call"] = n_weights(m)
    return r


if __name__ == "__main__":
    main()
