"""Issue-19 probe (standalone: plain Keras, and the shared harness _probe.py beside it)."""
from _probe import *  # noqa: F403 - keras, np, K3, case, to_np, as_tensor, exc, attempt, which, main

# Cluster 2: the `add_weight` signature. Keras 3: add_weight(shape=None, initializer=None,
# dtype=None, trainable=True, ..., name=None) -- shape first. Keras 2 (tf-keras):
# add_weight(name=None, shape=None, dtype=None, initializer=None, ...) -- name first.
# What does each edition do with the other edition's positional style?


def make(fn):
    class W(keras.layers.Layer):
        def build(self, input_shape):
            self.w = fn(self)
            if not K3:
                super().build(input_shape)

        def call(self, x):
            return x

    return W


def describe_weight(layer):
    w = layer.w
    v = to_np(w.value() if callable(getattr(w, "value", None)) and not K3 else w)
    return {
        "shape": list(w.shape),
        "name": str(w.name),
        "trainable": bool(w.trainable),
        "sum": float(np.asarray(v, dtype="float64").sum()),
    }


def probe(fn):
    def go():
        layer = make(fn)()
        layer(np.ones((2, 3), "float32"))
        return describe_weight(layer)

    return attempt(go)


STYLES = {
    # Keras 3 style
    "k3_keywords": lambda s: s.add_weight(shape=(3, 2), initializer="ones", name="w"),
    "k3_positional_shape_initializer": lambda s: s.add_weight((3, 2), "ones"),
    "k3_positional_shape_only": lambda s: s.add_weight((3, 2)),
    "k3_positional_shape_initializer_dtype": lambda s: s.add_weight((3, 2), "ones", "float32"),
    "four_positional": lambda s: s.add_weight((3, 2), "ones", "float32", False),
    # Keras 2 style
    "k2_positional_name_shape": lambda s: s.add_weight("w", (3, 2)),
    "k2_positional_name_keyword_shape": lambda s: s.add_weight("w", shape=(3, 2), initializer="ones"),
    "k2_keywords": lambda s: s.add_weight(name="w", shape=(3, 2), initializer="ones"),
    # neither
    "no_shape": lambda s: s.add_weight(name="w", initializer="ones"),
    "shape_positional_and_keyword": lambda s: s.add_weight((3, 2), shape=(3, 2)),
}


@case
def add_weight_styles():
    return {k: probe(f) for k, f in STYLES.items()}


@case
def default_initializer():
    def go():
        layer = make(lambda s: s.add_weight(shape=(50, 50), name="w"))()
        layer(np.ones((2, 3), "float32"))
        v = to_np(layer.w)
        return {"all_zero": bool((v == 0).all()), "max_abs_le_glorot_limit": bool(
            np.abs(v).max() <= np.sqrt(6 / 100) + 1e-6), "std": round(float(v.std()), 3)}
    return attempt(go)


@case
def add_weight_in_init():
    """State created in __init__ (no build) is present at construction."""
    class InInit(keras.layers.Layer):
        def __init__(self):
            super().__init__()
            self.w = self.add_weight(shape=(3,), initializer="ones", name="w")

        def call(self, x):
            return x * self.w

    layer = InInit()
    r = {"built_at_construction": bool(layer.built), "n_weights": len(layer.weights)}
    layer(np.ones((2, 3), "float32"))
    r["built_after_call"] = bool(layer.built)
    r["n_weights_after_call"] = len(layer.weights)
    return r


if __name__ == "__main__":
    main()
