import json
import os
import warnings

KIND = os.environ.get("PROBE_KERAS", "keras")
if KIND == "tf_keras":
    import tf_keras as keras
    EDITION = 2
    BACKEND = "tensorflow"
else:
    import keras
    EDITION = 3
    BACKEND = keras.backend.backend()
import numpy as np


def npy(x):
    if EDITION == 3:
        return np.asarray(keras.ops.convert_to_numpy(x))
    return np.asarray(x)


def dt(x):
    d = x.dtype
    if EDITION == 3:
        return keras.backend.standardize_dtype(d)
    return getattr(d, "name", str(d))


def emit(case, **obs):
    rec = {"case": case, "keras": keras.__version__, "backend": BACKEND, "edition": EDITION}
    rec.update(obs)
    print(json.dumps(rec, default=str), flush=True)


def run(case, fn):
    try:
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            obs = fn()
        msgs = sorted({str(m.message)[:160] for m in w if "__array__" not in str(m.message)})[:4]
        emit(case, ok=True, **obs, warnings=msgs)
    except Exception as e:  # the failure is the observation
        emit(case, ok=False, error=f"{type(e).__name__}: {str(e)[:300]}")


class Rec(keras.layers.Layer):
    """Identity layer that records the `training` value its call receives."""

    def __init__(self, **kw):
        super().__init__(**kw)
        self.seen = []

    def call(self, x, training=None):
        self.seen.append(training)
        return x
"""Layers constructed with `dtype="float64"` (Dense, Dropout, BatchNormalization and a custom
layer): variable dtype, compute dtype, the dtype `call` receives, the output dtype, for float32
and float64 inputs; and whether float64 precision is really kept (1 + 1e-12 survives)."""

ops = keras.ops if EDITION == 3 else None


class Probe(keras.layers.Layer):
    def __init__(self, **kw):
        super().__init__(**kw)
        self.seen = None

    def build(self, shape):
        self.w = self.add_weight(shape=(), initializer="ones", name="w")

    def call(self, x):
        self.seen = dt(x)
        return x * self.w


def value_dtype(v):
    """dtype of the array the variable actually holds (not its declared dtype)."""
    if EDITION == 3:
        return dt(v.value)
    import tensorflow as tf
    return tf.convert_to_tensor(v).dtype.name


def x_of(dtype, shape=(64, 8)):
    return np.random.default_rng(0).normal(3.0, 2.0, shape).astype(dtype)


def env():
    out = {}
    if BACKEND == "jax" and EDITION == 3:
        import jax
        out["jax_enable_x64"] = bool(jax.config.jax_enable_x64)
    out["floatx"] = keras.backend.floatx()
    return out


def layer_case(kind, in_dtype, training):
    def f():
        if kind == "Dense":
            layer = keras.layers.Dense(4, dtype="float64")
        elif kind == "Dropout":
            layer = keras.layers.Dropout(0.5, dtype="float64")
        elif kind == "BatchNormalization":
            layer = keras.layers.BatchNormalization(dtype="float64")
        else:
            layer = Probe(dtype="float64")
        out = layer(x_of(in_dtype), training=training) if kind in ("Dropout", "BatchNormalization") else layer(x_of(in_dtype))
        obs = {
            "layer_dtype": str(layer.dtype),
            "compute_dtype": str(layer.compute_dtype),
            "variable_dtype": str(getattr(layer, "variable_dtype", None)),
            "weight_dtypes": sorted({dt(w) for w in layer.weights}),
            "weight_value_dtypes": sorted({value_dtype(w) for w in layer.weights}),
            "output_dtype": dt(out),
            **env(),
        }
        if kind == "Probe":
            obs["call_sees"] = layer.seen
        return obs
    return f


def precision_case():
    layer = keras.layers.Dense(1, dtype="float64", kernel_initializer="ones", bias_initializer="zeros")
    x = np.array([[1.0 + 1e-12]], "float64")
    out = npy(layer(x)).astype("float64")
    return {"kernel_declared": dt(layer.kernel), "kernel_value": value_dtype(layer.kernel),
            "output_minus_1": float(out[0, 0] - 1.0), "float64_precision_kept": bool(abs(out[0, 0] - 1.0 - 1e-12) < 1e-15),
            "output_dtype": str(npy(layer(x)).dtype), **env()}


def model_case():
    inp = keras.Input((8,), dtype="float64")
    h = keras.layers.Dense(4, dtype="float64")(inp)
    h = keras.layers.BatchNormalization(dtype="float64")(h)
    out = keras.layers.Dropout(0.5, dtype="float64")(h)
    m = keras.Model(inp, out)
    pred = m.predict(x_of("float64"), verbose=0)
    res = {"predict_dtype": str(pred.dtype), "symbolic_output_dtype": dt(out), **env()}
    try:
        m.compile(optimizer=keras.optimizers.SGD(0.01), loss="mse")
        m.fit(x_of("float64"), np.zeros((64, 4)), epochs=1, batch_size=32, verbose=0)
        res["fit"] = "ok"
        res["weights_after_fit"] = sorted({dt(w) for w in m.weights})
    except Exception as e:
        res["fit"] = f"{type(e).__name__}: {str(e)[:160]}"
    return res


for kind in ("Dense", "Dropout", "BatchNormalization", "Probe"):
    for in_dtype in ("float32", "float64"):
        for training in ((False, True) if kind in ("Dropout", "BatchNormalization") else (None,)):
            run(f"{kind}_float64_input_{in_dtype}" + ("" if training is None else f"_training_{training}"),
                layer_case(kind, in_dtype, training))
run("dense_float64_precision", precision_case)
run("float64_model_predict_fit", model_case)
