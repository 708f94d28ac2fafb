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
"""`trainable` toggled after `compile` (and after a first `fit`): does the next `fit` see it,
or is a recompile needed? For a Dense kernel (frozen = not updated) and for BatchNormalization
(frozen = inference mode, moving statistics not updated)."""

rng = np.random.default_rng(0)
x = rng.normal(3.0, 2.0, (32, 4)).astype("float32")
y = rng.normal(0.0, 1.0, (32, 1)).astype("float32")


def build():
    bn = keras.layers.BatchNormalization()
    dense = keras.layers.Dense(1)
    m = keras.Sequential([keras.Input((4,)), bn, dense])
    return m, bn, dense


def snap(bn, dense):
    return npy(dense.kernel).copy(), npy(bn.moving_mean).copy()


def changed(before, after):
    return {"dense_kernel_changed": bool(np.abs(after[0] - before[0]).max() > 0),
            "bn_moving_mean_changed": bool(np.abs(after[1] - before[1]).max() > 0)}


def fit(m):
    m.fit(x, y, batch_size=32, epochs=1, verbose=0)


def compile_(m):
    m.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")


def freeze_after_compile_before_fit():
    m, bn, dense = build()
    compile_(m)
    dense.trainable = False
    bn.trainable = False
    s0 = snap(bn, dense)
    fit(m)
    return changed(s0, snap(bn, dense))


def freeze_after_fit(recompile):
    def f():
        m, bn, dense = build()
        compile_(m)
        fit(m)
        dense.trainable = False
        bn.trainable = False
        if recompile:
            compile_(m)
        s0 = snap(bn, dense)
        fit(m)
        return {**changed(s0, snap(bn, dense)), "n_trainable_weights": len(m.trainable_weights)}
    return f


def unfreeze_after_fit(recompile):
    def f():
        m, bn, dense = build()
        dense.trainable = False
        bn.trainable = False
        compile_(m)
        s0 = snap(bn, dense)
        fit(m)
        first = changed(s0, snap(bn, dense))
        dense.trainable = True
        bn.trainable = True
        if recompile:
            compile_(m)
        s1 = snap(bn, dense)
        fit(m)
        return {"first_fit": first, "second_fit": changed(s1, snap(bn, dense)),
                "n_trainable_weights": len(m.trainable_weights)}
    return f


run("freeze_after_compile_before_first_fit", freeze_after_compile_before_fit)
run("freeze_after_fit_no_recompile", freeze_after_fit(False))
run("freeze_after_fit_recompile", freeze_after_fit(True))
run("unfreeze_after_fit_no_recompile", unfreeze_after_fit(False))
run("unfreeze_after_fit_recompile", unfreeze_after_fit(True))
