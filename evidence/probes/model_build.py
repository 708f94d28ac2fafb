"""Probe harness (inlined so each probe runs standalone).

Run:  KERAS_BACKEND=<tensorflow|jax|torch|numpy|openvino> python <probe>.py
      PROBE_KERAS=tf_keras python <probe>.py          (Keras 2 via tf-keras)
Prints one JSON object: {"meta": {...}, "cases": {case_name: observations}}.
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
