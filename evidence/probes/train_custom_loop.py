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
"""Custom training loops with `training=True`: tf.GradientTape + model(x, training=True)
(tensorflow, tf-keras), jax.value_and_grad over stateless_call(..., training=True) (jax),
torch autograd over model(x, training=True) (torch). numpy/openvino have no autograd: only the
forward pass is probed there. Does Dropout drop, does BN update, do gradients reach the weights?"""

N, D = 64, 64
rng = np.random.default_rng(0)
x = rng.normal(3.0, 2.0, (N, D)).astype("float32")
y = rng.normal(0.0, 1.0, (N, 1)).astype("float32")


class Net(keras.Model):
    """Returns [prediction, dropout output]. `forward` decides whether `training` is passed
    explicitly to the sub-layers or left to propagation."""

    def __init__(self, forward):
        super().__init__()
        self.pass_training = forward
        self.rec = Rec()
        self.dense = keras.layers.Dense(D, kernel_initializer="identity", bias_initializer="ones")
        self.drop = keras.layers.Dropout(0.5, seed=2)
        self.bn = keras.layers.BatchNormalization()
        self.out = keras.layers.Dense(1)

    def call(self, inputs, training=None):
        kw = {"training": training} if self.pass_training else {}
        h = self.rec(self.dense(inputs), **kw)
        h = self.drop(ops_relu(h) + 1.0, **kw)
        z = self.bn(h, **kw)
        return [self.out(z), h]


def ops_relu(h):
    return keras.ops.relu(h) if EDITION == 3 else keras.activations.relu(h)


def summarize(m, h, grads, kernel_before):
    hh = npy(h)
    return {
        "nested_seen_last": m.rec.seen[-1] if m.rec.seen else "none",
        "dropout_zero_fraction": float((hh == 0).mean()),
        "bn_moving_mean_changed": bool(np.abs(npy(m.bn.moving_mean)).max() > 1e-6),
        "grads_none": None if grads is None else sum(g is None for g in grads),
        "n_grads": None if grads is None else len(grads),
        "kernel_changed": bool(np.abs(npy(m.out.kernel) - kernel_before).max() > 0),
    }


def loop(forward, training):
    def f():
        m = Net(forward)
        m(x[:2])
        m.rec.seen.clear()
        k0 = npy(m.out.kernel).copy()
        kw = {} if training == "omitted" else {"training": training}
        if EDITION == 2 or BACKEND == "tensorflow":
            import tensorflow as tf
            opt = keras.optimizers.SGD(0.01)
            with tf.GradientTape() as tape:
                pred, h = m(x, **kw)
                loss = tf.reduce_mean((pred - y) ** 2)
            grads = tape.gradient(loss, m.trainable_variables)
            opt.apply_gradients(zip(grads, m.trainable_variables))
            return {"loop": "tf.GradientTape", **summarize(m, h, grads, k0)}
        if BACKEND == "jax":
            import jax
            import jax.numpy as jnp
            tv = [v.value for v in m.trainable_variables]
            ntv = [v.value for v in m.non_trainable_variables]

            def loss_fn(tv, ntv):
                (pred, h), ntv2 = m.stateless_call(tv, ntv, x, **kw)
                return jnp.mean((pred - y) ** 2), (ntv2, h)

            (loss, (ntv2, h)), grads = jax.value_and_grad(loss_fn, has_aux=True)(tv, ntv)
            for v, val in zip(m.non_trainable_variables, ntv2):
                v.assign(val)
            for v, g in zip(m.trainable_variables, grads):
                v.assign(v.value - 0.01 * g)
            return {"loop": "jax.value_and_grad(stateless_call)", **summarize(m, h, list(grads), k0)}
        if BACKEND == "torch":
            import torch
            pred, h = m(x, **kw)
            loss = torch.mean((pred - torch.as_tensor(y)) ** 2)
            loss.backward()
            grads = [v.value.grad for v in m.trainable_variables]
            with torch.no_grad():
                for v, g in zip(m.trainable_variables, grads):
                    v.assign(v.value - 0.01 * g)
            return {"loop": "torch autograd", **summarize(m, h.detach(), grads, k0)}
        pred, h = m(x, **kw)  # numpy / openvino: forward only
        return {"loop": "forward only (no autograd)", **summarize(m, h, None, k0)}
    return f


for forward in (False, True):
    for t in (True, "omitted"):
        run(f"custom_loop_{'forwarding' if forward else 'propagation'}_training_{t}", loop(forward, t))
