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
"""Keras 2's global learning phase (`backend.set_learning_phase`, `backend.learning_phase`):
present in each edition? What does setting it do to a Dropout called without `training`?"""

names = ["learning_phase", "set_learning_phase", "learning_phase_scope", "eager_learning_phase_scope"]


def presence():
    return {n: hasattr(keras.backend, n) for n in names} | {
        "backend_names_with_phase_or_training": sorted(
            n for n in dir(keras.backend) if "phase" in n.lower() or "training" in n.lower())}


def set_phase_effect():
    keras.backend.set_learning_phase(1)
    x = np.ones((100, 100), "float32")
    out = npy(keras.layers.Dropout(0.5)(x))
    rec = Rec()
    rec(x)
    bn = keras.layers.BatchNormalization()
    bn(np.random.default_rng(0).normal(3, 2, (32, 4)).astype("float32"))
    res = {"dropout_zero_fraction_without_training": float((out == 0).mean()),
           "rec_seen": rec.seen[-1],
           "bn_moving_mean_changed": bool(np.abs(npy(bn.moving_mean)).max() > 1e-6),
           "learning_phase_value": str(keras.backend.learning_phase())}
    keras.backend.set_learning_phase(0)
    return res


run("global_learning_phase_api", presence)
run("set_learning_phase_1_then_call_without_training", set_phase_effect)
