"""Issue-19 probe (standalone: plain Keras, and the shared harness _probe.py beside it)."""
from _probe import *  # noqa: F403 - keras, np, K3, case, to_np, as_tensor, exc, attempt, which, main

# Cluster 2: which built-in layers report `built` at construction, and do
# `compute_output_shape` / `compute_output_spec` build a layer?

L = keras.layers


def ctor(name):
    return {
        "Layer": lambda: L.Layer(),
        "Dropout": lambda: L.Dropout(0.5),
        "SpatialDropout1D": lambda: L.SpatialDropout1D(0.5),
        "GaussianNoise": lambda: L.GaussianNoise(0.1),
        "Activation": lambda: L.Activation("relu"),
        "ReLU": lambda: L.ReLU(),
        "LeakyReLU": lambda: L.LeakyReLU(),
        "Softmax": lambda: L.Softmax(),
        "Flatten": lambda: L.Flatten(),
        "Reshape": lambda: L.Reshape((3, 2)),
        "Permute": lambda: L.Permute((2, 1)),
        "RepeatVector": lambda: L.RepeatVector(2),
        "Lambda": lambda: L.Lambda(lambda t: t),
        "Identity": lambda: L.Identity() if hasattr(L, "Identity") else None,
        "Rescaling": lambda: L.Rescaling(2.0),
        "Masking": lambda: L.Masking(),
        "ActivityRegularization": lambda: L.ActivityRegularization(),
        "ZeroPadding1D": lambda: L.ZeroPadding1D(1),
        "Cropping1D": lambda: L.Cropping1D(1),
        "UpSampling1D": lambda: L.UpSampling1D(2),
        "MaxPooling1D": lambda: L.MaxPooling1D(2),
        "GlobalAveragePooling1D": lambda: L.GlobalAveragePooling1D(),
        "Concatenate": lambda: L.Concatenate(),
        "Add": lambda: L.Add(),
        "Subtract": lambda: L.Subtract(),
        "Multiply": lambda: L.Multiply(),
        "Average": lambda: L.Average(),
        "Maximum": lambda: L.Maximum(),
        "Dot": lambda: L.Dot(axes=1),
        "Dense": lambda: L.Dense(2),
        "BatchNormalization": lambda: L.BatchNormalization(),
        "LayerNormalization": lambda: L.LayerNormalization(),
        "Embedding": lambda: L.Embedding(10, 2),
        "Conv1D": lambda: L.Conv1D(2, 2),
    }[name]


NAMES = ["Layer", "Dropout", "SpatialDropout1D", "GaussianNoise", "Activation", "ReLU",
         "LeakyReLU", "Softmax", "Flatten", "Reshape", "Permute", "RepeatVector", "Lambda",
         "Identity", "Rescaling", "Masking", "ActivityRegularization", "ZeroPadding1D",
         "Cropping1D", "UpSampling1D", "MaxPooling1D", "GlobalAveragePooling1D", "Concatenate",
         "Add", "Subtract", "Multiply", "Average", "Maximum", "Dot", "Dense",
         "BatchNormalization", "LayerNormalization", "Embedding", "Conv1D"]


@case
def built_at_construction():
    out = {}
    for n in NAMES:
        def go():
            layer = ctor(n)()
            return "absent" if layer is None else bool(layer.built)
        out[n] = attempt(go)
    return out


class Custom(keras.layers.Layer):
    """A layer with a build() and no compute_output_shape."""

    def build(self, input_shape):
        self.builds = getattr(self, "builds", 0) + 1
        self.w = self.add_weight(shape=(input_shape[-1], 2), initializer="ones", name="w")
        if not K3:
            super().build(input_shape)

    def call(self, x):
        return keras.ops.matmul(x, self.w) if K3 else __import__("tensorflow").matmul(x, self.w)


class CustomWithShape(Custom):
    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (2,)


class CompositeNoBuild(keras.layers.Layer):
    def __init__(self):
        super().__init__()
        self.d = keras.layers.Dense(2)

    def call(self, x):
        return self.d(x)


def shape_or_spec(layer_fn, how):
    layer = layer_fn()
    if how == "compute_output_shape":
        res = attempt(lambda: list(layer.compute_output_shape((None, 3))))
    else:
        if not K3:
            return "n/a (Keras 3 only)"
        spec = keras.KerasTensor((None, 3))
        res = attempt(lambda: list(layer.compute_output_spec(spec).shape))
    return {"result": res, "built_after": bool(layer.built), "n_weights": len(layer.weights)}


LAYERS = {
    "Dense": lambda: L.Dense(2),
    "BatchNormalization": lambda: L.BatchNormalization(),
    "Custom(build, no compute_output_shape)": Custom,
    "CustomWithShape(build + compute_output_shape)": CustomWithShape,
    "CompositeNoBuild(Dense sub-layer)": CompositeNoBuild,
}


@case
def compute_output_shape_builds():
    return {n: shape_or_spec(f, "compute_output_shape") for n, f in LAYERS.items()}


@case
def compute_output_spec_builds():
    return {n: shape_or_spec(f, "compute_output_spec") for n, f in LAYERS.items()}


@case
def stateless_built_flag_after_first_call():
    out = {}
    x = np.ones((2, 4, 3), "float32")
    for n in ["Dropout", "Activation", "Flatten", "ReLU", "Lambda", "Concatenate", "Add"]:
        def go():
            layer = ctor(n)()
            before = bool(layer.built)
            layer([x, x] if n in ("Concatenate", "Add") else x)
            return {"before": before, "after": bool(layer.built), "n_weights": len(layer.weights)}
        out[n] = attempt(go)
    return out


if __name__ == "__main__":
    main()
