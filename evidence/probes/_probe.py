"""The probe harness the cluster 1-2 probes share: choose Keras (PROBE_KERAS=tf_keras for Keras 2,
else Keras 3 on $KERAS_BACKEND), record named cases, print one JSON object.

Run a probe:  KERAS_BACKEND=<tensorflow|jax|torch|numpy|openvino> python <probe>.py
              PROBE_KERAS=tf_keras python <probe>.py          (Keras 2 via tf-keras)
It prints {"meta": {...}, "cases": {case_name: observations}}. Python puts the probe's own folder on
sys.path, so `from _probe import *` finds this file from any working directory.
"""
import json
import os
import warnings

import numpy as np

EDITION = os.environ.get("PROBE_KERAS", "keras")
if EDITION == "tf_keras":
    import tf_keras as keras

    K3 = False
    BACKEND = "tf_keras"
else:
    import keras

    K3 = True
    BACKEND = keras.backend.backend()

CASES = {}


def case(fn):
    CASES[fn.__name__] = fn
    return fn


def to_np(x):
    if K3:
        return keras.ops.convert_to_numpy(x)
    return np.asarray(x)


def as_tensor(x):
    """A backend tensor (not a numpy array) holding x."""
    if K3:
        return keras.ops.convert_to_tensor(x)
    import tensorflow as tf

    return tf.convert_to_tensor(x)


def exc(e):
    return {"raised": type(e).__name__, "message": " ".join(str(e).split())[:400]}


def attempt(fn):
    """Run fn(); return its observation or the exception it raised."""
    try:
        return fn()
    except Exception as e:  # noqa: BLE001 - recording is the point
        return exc(e)


def which(out, candidates, atol=1e-5):
    """Name of the first candidate array equal to out (or a description)."""
    out = to_np(out)
    for name, ref in candidates.items():
        ref = np.asarray(ref)
        if out.shape == ref.shape and np.allclose(out, ref, atol=atol):
            return name
    return "other:shape=%s" % (list(out.shape),)


def _keras_warnings(records):
    keep = []
    for w in records:
        fn = (w.filename or "").replace("\\", "/")
        if "keras" in fn and not issubclass(w.category, DeprecationWarning):
            keep.append(w.category.__name__ + ": " + " ".join(str(w.message).split())[:300])
    return keep


def main():
    out = {
        "meta": {
            "edition": "keras2" if not K3 else "keras3",
            "backend": BACKEND,
            "keras_version": keras.__version__,
        },
        "cases": {},
    }
    for name, fn in CASES.items():
        with warnings.catch_warnings(record=True) as rec:
            warnings.simplefilter("always")
            obs = attempt(fn)
        if not isinstance(obs, dict):
            obs = {"value": obs}
        ws = _keras_warnings(rec)
        if ws:
            obs["warnings"] = ws
        out["cases"][name] = obs
    print(json.dumps(out, indent=1, sort_keys=True, default=str))
