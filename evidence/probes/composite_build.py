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


# Cluster 2: composite layers (sub-layers in __init__, no `build` of their own) and sub-layers
# created in `build()` from the input shape. When do the sub-layers get weights? Is the
# composite `built` before its first `call` runs? What if `call` cannot be traced symbolically?

X = np.ones((4, 3), dtype="float32")


def is_symbolic(x):
    if K3:
        return not keras.ops.is_tensor(x) or isinstance(x, keras.KerasTensor)
    import tensorflow as tf

    return not tf.executing_eagerly() or isinstance(x, keras.KerasTensor) if hasattr(
        keras, "KerasTensor") else not tf.executing_eagerly()


def backend_float(x):
    if K3:
        return float(keras.ops.convert_to_numpy(keras.ops.sum(x)))
    return float(np.asarray(x).sum())


class Composite(keras.layers.Layer):
    def __init__(self):
        super().__init__()
        self.d1 = keras.layers.Dense(5)
        self.d2 = keras.layers.Dense(2)
        self.log = []

    def call(self, x):
        self.log.append({
            "self_built": bool(self.built),
            "d1_built": bool(self.d1.built),
            "x_type": type(x).__name__,
        })
        return self.d2(self.d1(x))


class UntraceableComposite(Composite):
    def call(self, x):
        self.log.append({"self_built": bool(self.built), "d1_built": bool(self.d1.built),
                         "x_type": type(x).__name__})
        s = backend_float(x) * 0.0 + 1.0  # needs a concrete value
        return self.d2(self.d1(x)) * s


class SublayerInBuild(keras.layers.Layer):
    """Creates its sub-layer in build(), sized from the input shape; does not build it."""

    def build(self, input_shape):
        self.inner = keras.layers.Dense(input_shape[-1])
        if not K3:
            super().build(input_shape)

    def call(self, x):
        return self.inner(x)


class SublayerBuiltInBuild(keras.layers.Layer):
    """Creates and builds its sub-layer in build()."""

    def build(self, input_shape):
        self.inner = keras.layers.Dense(input_shape[-1])
        self.inner.build(input_shape)
        if not K3:
            super().build(input_shape)

    def call(self, x):
        return self.inner(x)


def st(layer):
    return {"built": bool(layer.built), "n_weights": len(layer.weights)}


@case
def composite_eager_first_call():
    c = Composite()
    before = st(c)
    c(X)
    return {"before": before, "call_log": c.log, "after": st(c),
            "d1_built": bool(c.d1.built), "d2_built": bool(c.d2.built)}


@case
def composite_symbolic_first_call():
    c = Composite()
    y = c(keras.Input((3,)))
    return {"call_log": c.log, "after": st(c), "out_shape": list(y.shape)}


@case
def composite_explicit_build():
    c = Composite()
    r = {"build": attempt(lambda: (c.build((None, 3)), "ok")[1])}
    r["after_build"] = st(c)
    r["d1_built_after_build"] = bool(c.d1.built)
    r["call"] = attempt(lambda: list(to_np(c(X)).shape))
    r["after_call"] = st(c)
    return r


@case
def untraceable_composite_eager():
    c = UntraceableComposite()
    r = {"call": attempt(lambda: list(to_np(c(X)).shape))}
    r.update({"call_log": c.log, "after": st(c)})
    return r


@case
def untraceable_composite_symbolic():
    c = UntraceableComposite()
    r = {"call": attempt(lambda: list(c(keras.Input((3,))).shape))}
    r.update({"call_log": c.log, "after": st(c)})
    return r


@case
def untraceable_composite_in_functional_model():
    def go():
        i = keras.Input((3,))
        return list(keras.Model(i, UntraceableComposite()(i))(X).shape)

    return {"construct_and_call": attempt(go)}


@case
def sublayer_created_in_build_eager():
    s = SublayerInBuild()
    s(X)
    return {"after": st(s), "inner_weights_in_parent": [any(w is v for v in s.weights) for w in s.inner.weights],
            "weight_shapes": [list(w.shape) for w in s.weights],
            "trainable_count": len(s.trainable_weights)}


@case
def sublayer_created_in_build_symbolic():
    s = SublayerInBuild()
    s(keras.Input((3,)))
    return {"after": st(s), "weight_shapes": [list(w.shape) for w in s.weights]}


@case
def sublayer_created_in_build_explicit_build():
    s = SublayerInBuild()
    s.build((None, 3))
    r = {"after_build": st(s), "inner_built": bool(s.inner.built)}
    s(X)
    r["after_call"] = st(s)
    return r


@case
def sublayer_built_in_build_explicit_build():
    s = SublayerBuiltInBuild()
    s.build((None, 3))
    r = {"after_build": st(s), "inner_built": bool(s.inner.built)}
    s(X)
    r["after_call"] = st(s)
    return r


@case
def sublayer_created_in_build_in_model_fit():
    """Weights of a build()-created sub-layer are trained by fit."""
    inp = keras.Input((3,))
    s = SublayerInBuild()
    m = keras.Model(inp, keras.layers.Dense(1)(s(inp)))
    r = {"model_n_weights": len(m.weights), "model_trainable": len(m.trainable_weights)}
    if BACKEND in ("numpy", "openvino"):
        r["fit"] = "skipped (backend cannot train)"
        return r
    before = to_np(s.inner.kernel).copy()
    m.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    m.fit(X, np.ones((4, 1), "float32"), epochs=1, batch_size=4, verbose=0)
    r["inner_kernel_changed_by_fit"] = bool(np.abs(to_np(s.inner.kernel) - before).max() > 0)
    return r


if __name__ == "__main__":
    main()
