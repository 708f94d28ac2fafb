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
"""Mixed precision: `dtype="mixed_float16"` per layer and the global policy
(`keras.mixed_precision.set_dtype_policy` / tf-keras `set_global_policy`). Variable, compute,
call-input and output dtypes of Dense, Dropout, BatchNormalization and a custom layer; BN's
moving statistics; Dropout's scaling in float16; the optimizer `compile` picks."""

RATE = 0.3


def set_global(name):
    if EDITION == 3:
        keras.mixed_precision.set_dtype_policy(name)
    else:
        keras.mixed_precision.set_global_policy(name)


def value_dtype(v):
    if EDITION == 3:
        return dt(v.value)
    import tensorflow as tf
    return tf.convert_to_tensor(v).dtype.name


class Probe(keras.layers.Layer):
    def build(self, shape):
        self.w = self.add_weight(shape=(), initializer="ones", name="w")

    def call(self, x):
        self.seen_x = dt(x)
        if EDITION == 3:
            self.seen_w = dt(keras.ops.convert_to_tensor(self.w))
        else:
            import tensorflow as tf
            self.seen_w = tf.convert_to_tensor(self.w).dtype.name
        return x * self.w


def describe(layer, out):
    return {
        "policy": getattr(layer.dtype_policy, "name", str(layer.dtype_policy)),
        "compute_dtype": str(layer.compute_dtype),
        "variable_dtype": str(layer.variable_dtype),
        "weight_dtypes": sorted({dt(w) for w in layer.weights}),
        "weight_value_dtypes": sorted({value_dtype(w) for w in layer.weights}),
        "output_dtype": dt(out),
    }


def layers_case(how, in_dtype):
    def f():
        if how == "global":
            set_global("mixed_float16")
            kw = {}
        else:
            kw = {"dtype": "mixed_float16"}
        try:
            x = np.random.default_rng(0).normal(3.0, 2.0, (256, 8)).astype(in_dtype)
            res = {}
            d = keras.layers.Dense(4, **kw)
            res["Dense"] = describe(d, d(x))
            p = Probe(**kw)
            res["Probe"] = describe(p, p(x)) | {"call_sees_x": p.seen_x, "call_sees_w": p.seen_w}
            bn = keras.layers.BatchNormalization(**kw)
            o_train = bn(x, training=True)
            mm = npy(bn.moving_mean).astype("float64")
            res["BatchNormalization"] = describe(bn, o_train) | {
                "inference_output_dtype": dt(bn(x, training=False)),
                "moving_mean_dtype": dt(bn.moving_mean),
                "moving_mean_value_dtype": value_dtype(bn.moving_mean),
                "moving_mean_matches_float32_recurrence": bool(np.allclose(
                    mm, 0.01 * x.astype("float64").mean(0), rtol=1e-3, atol=1e-4)),
                "train_output_mean_abs": float(np.abs(npy(o_train).astype("float64").mean(0)).max()),
            }
            ones = np.ones((200, 100), in_dtype)
            dr = keras.layers.Dropout(RATE, **kw)
            o = npy(dr(ones, training=True)).astype("float64")
            kept = o[o != 0]
            res["Dropout"] = describe(dr, dr(ones, training=True)) | {
                "inference_output_dtype": dt(dr(ones, training=False)),
                "zero_fraction": float((o == 0).mean()),
                "kept_values": sorted({float(v) for v in np.unique(kept)})[:3],
                "kept_equals_rounded_scale": bool(np.all(kept == float(np.float16(1.0 / (1 - RATE))))),
                "kept_equals_float16_arith_scale": bool(np.all(kept == float(np.float16(1.0) / np.float16(1 - RATE)))),
                "kept_rel_err_vs_exact": float(np.abs(kept / (1.0 / (1 - RATE)) - 1).max()) if kept.size else None,
            }
            return res
        finally:
            if how == "global":
                set_global("float32")
    return f


def fit_case():
    m = keras.Sequential([keras.Input((8,)), keras.layers.Dense(4, dtype="mixed_float16"),
                          keras.layers.BatchNormalization(dtype="mixed_float16"),
                          keras.layers.Dense(1, dtype="float32")])
    m.compile(optimizer=keras.optimizers.SGD(0.01), loss="mse")
    x = np.random.default_rng(0).normal(3.0, 2.0, (32, 8)).astype("float32")
    res = {"optimizer_after_compile": type(m.optimizer).__name__}
    try:
        m.fit(x, np.zeros((32, 1), "float32"), epochs=1, batch_size=32, verbose=0)
        res["fit"] = "ok"
        res["optimizer_after_fit"] = type(m.optimizer).__name__
        res["weight_dtypes_after_fit"] = sorted({dt(w) for w in m.weights})
    except Exception as e:
        res["fit"] = f"{type(e).__name__}: {str(e)[:200]}"
    return res


def global_fit_case():
    set_global("mixed_float16")
    try:
        m = keras.Sequential([keras.Input((8,)), keras.layers.Dense(4), keras.layers.Dense(1)])
        m.compile(optimizer=keras.optimizers.SGD(0.01), loss="mse")
        return {"optimizer_after_compile": type(m.optimizer).__name__,
                "output_dtype": dt(m(np.ones((2, 8), "float32")))}
    finally:
        set_global("float32")


for how in ("layer", "global"):
    for in_dtype in ("float32", "float64"):
        run(f"mixed_float16_{how}_input_{in_dtype}", layers_case(how, in_dtype))
run("mixed_float16_fit", fit_case)
run("mixed_float16_global_compile", global_fit_case)
