import json
import os
import sys
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
"""`stateless_call(trainable_variables, non_trainable_variables, x, training=...)` (Keras 3 only):
what `training` does, what comes back in non_trainable_variables, whether the layer's own
variables change, and models whose `call` does or does not take `training`."""

if EDITION == 2:
    emit("stateless_call_exists", ok=True, exists=hasattr(keras.layers.Layer, "stateless_call"))
    sys.exit(0)

ops = keras.ops
xb = np.random.default_rng(0).normal(3.0, 2.0, (32, 4)).astype("float32")
batch_mean = xb.mean(0)


def values(vs):
    return [v.value for v in vs]


def bn_case(training):
    def f():
        bn = keras.layers.BatchNormalization()
        bn.build((None, 4))
        tv, ntv = values(bn.trainable_variables), values(bn.non_trainable_variables)
        kw = {} if training == "omitted" else {"training": training}
        out, new_ntv = bn.stateless_call(tv, ntv, xb, **kw)
        new_mm = npy(new_ntv[0])
        out = npy(out)
        batch_out = (xb - batch_mean) / np.sqrt(xb.var(0) + 1e-3)
        moving_out = xb / np.sqrt(1 + 1e-3)
        return {
            "ntv_names": [v.path if hasattr(v, "path") else v.name for v in bn.non_trainable_variables],
            "returned_moving_mean_changed": bool(np.abs(new_mm).max() > 1e-6),
            "returned_moving_mean_matches_recurrence": bool(np.allclose(new_mm, 0.01 * batch_mean, rtol=1e-4, atol=1e-6)),
            "layer_variable_unchanged": bool(np.abs(npy(bn.moving_mean)).max() == 0.0),
            "output_uses_batch_stats": bool(np.allclose(out, batch_out, atol=1e-4)),
            "output_uses_moving_stats": bool(np.allclose(out, moving_out, atol=1e-4)),
            "n_returned_ntv": len(new_ntv),
            "returned_types_are_tensors": all(ops.is_tensor(v) for v in new_ntv),
        }
    return f


def dropout_case():
    x = ops.convert_to_tensor(np.ones((100, 100), "float32"))
    d = keras.layers.Dropout(0.5, seed=3)
    d.build((None, 100))
    ntv = values(d.non_trainable_variables)
    o1, n1 = d.stateless_call([], ntv, x, training=True)
    o2, n2 = d.stateless_call([], ntv, x, training=True)
    o3, n3 = d.stateless_call([], n1, x, training=True)
    o4, n4 = d.stateless_call([], ntv, x, training=False)
    o1, o2, o3, o4 = map(npy, (o1, o2, o3, o4))
    return {
        "ntv_names": [v.path for v in d.non_trainable_variables],
        "zero_fraction": float((o1 == 0).mean()),
        "same_state_same_mask": bool(np.array_equal(o1 == 0, o2 == 0)),
        "returned_state_advanced": bool(not np.array_equal(npy(n1[0]), npy(ntv[0]))) if ntv else None,
        "returned_state_new_mask": bool(not np.array_equal(o1 == 0, o3 == 0)),
        "training_false_identity": bool(np.array_equal(o4, x)),
        "training_false_state_unchanged": bool(np.array_equal(npy(n4[0]), npy(ntv[0]))) if ntv else None,
        "layer_state_unchanged": bool(np.array_equal(npy(d.non_trainable_variables[0]), npy(ntv[0]))) if ntv else None,
    }


class GoodModel(keras.Model):
    """`call` takes `training` but does not forward it: nested layers rely on propagation."""

    def __init__(self):
        super().__init__()
        self.rec = Rec()
        self.bn = keras.layers.BatchNormalization()
        self.top = []

    def call(self, x, training=None):
        self.top.append(training)
        return self.bn(self.rec(x))


class BadModel(keras.Model):
    """`call` has no `training` parameter."""

    def __init__(self):
        super().__init__()
        self.rec = Rec()
        self.bn = keras.layers.BatchNormalization()

    def call(self, x):
        return self.bn(self.rec(x))


def model_case(cls, training):
    def f():
        m = cls()
        m(xb[:2])  # build
        m.rec.seen.clear()
        tv, ntv = values(m.trainable_variables), values(m.non_trainable_variables)
        kw = {} if training == "omitted" else {"training": training}
        out, new_ntv = m.stateless_call(tv, ntv, xb, **kw)
        obs = {
            "nested_seen": m.rec.seen[-1:],
            "returned_moving_mean_changed": bool(np.abs(npy(new_ntv[0])).max() > 1e-6),
        }
        if hasattr(m, "top"):
            obs["top_seen"] = m.top[-1:]
        return obs
    return f


def functional_case(training):
    def f():
        inp = keras.Input((4,))
        rec = Rec()
        out = keras.layers.BatchNormalization()(rec(inp))
        m = keras.Model(inp, out)
        rec.seen.clear()
        tv, ntv = values(m.trainable_variables), values(m.non_trainable_variables)
        kw = {} if training == "omitted" else {"training": training}
        o, new_ntv = m.stateless_call(tv, ntv, xb, **kw)
        return {"nested_seen": rec.seen[-1:], "returned_moving_mean_changed": bool(np.abs(npy(new_ntv[0])).max() > 1e-6)}
    return f


def raw_input_case():
    """stateless_call runs `call` directly: are numpy / float64 inputs converted and autocast?"""
    out = {}
    d = keras.layers.Dropout(0.5, seed=3)
    d.build((None, 4))
    try:
        o, _ = d.stateless_call([], [v.value for v in d.non_trainable_variables],
                                np.ones((8, 4), "float32"), training=True)
        out["dropout_numpy_input"] = "ok"
    except Exception as e:
        out["dropout_numpy_input"] = f"{type(e).__name__}: {str(e)[:120]}"
    dense = keras.layers.Dense(2)
    dense.build((None, 4))
    x64 = np.ones((3, 4), "float64")
    o_call = dense(x64)
    try:
        o_sc, _ = dense.stateless_call([v.value for v in dense.trainable_variables], [],
                                       ops.convert_to_tensor(x64, "float64"))
        out["dense_float64_tensor_stateless_call_output"] = dt(o_sc)
    except Exception as e:
        out["dense_float64_tensor_stateless_call_output"] = f"{type(e).__name__}: {str(e)[:120]}"
    out["dense_float64_call_output"] = dt(o_call)
    return out


run("stateless_call_raw_inputs", raw_input_case)
for t in (True, False, "omitted"):
    run(f"bn_stateless_call_training_{t}", bn_case(t))
run("dropout_stateless_call", dropout_case)
for t in (True, False, "omitted"):
    run(f"model_with_training_param_training_{t}", model_case(GoodModel, t))
    run(f"model_without_training_param_training_{t}", model_case(BadModel, t))
    run(f"functional_training_{t}", functional_case(t))
