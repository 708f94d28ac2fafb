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
"""A custom `train_step` override (the keras.io 'customizing what happens in fit' pattern per
backend) that calls the model without `training` or with `training=True`: what `training` do the
model and its nested layers see, and does BatchNormalization update under `fit`?"""

rng = np.random.default_rng(0)
x = rng.normal(3.0, 2.0, (32, 4)).astype("float32")
y = rng.normal(0.0, 1.0, (32, 1)).astype("float32")


def make_cls(pass_training):
    kw = {"training": True} if pass_training else {}

    class M(keras.Model):
        def __init__(self):
            super().__init__()
            self.rec = Rec()
            self.bn = keras.layers.BatchNormalization()
            self.dense = keras.layers.Dense(1)
            self.top = []

        def call(self, inputs, training=None):
            self.top.append(training)
            return self.dense(self.bn(self.rec(inputs)))

        if EDITION == 2 or BACKEND == "tensorflow":
            def train_step(self, data):
                import tensorflow as tf
                xx, yy = data
                with tf.GradientTape() as tape:
                    pred = self(xx, **kw)
                    loss = tf.reduce_mean((pred - yy) ** 2)
                grads = tape.gradient(loss, self.trainable_variables)
                self.optimizer.apply_gradients(zip(grads, self.trainable_variables))
                return {"loss": loss}
        elif BACKEND == "torch":
            def train_step(self, data):
                import torch
                xx, yy = data
                self.zero_grad()
                pred = self(xx, **kw)
                loss = torch.mean((pred - yy) ** 2)
                loss.backward()
                tw = self.trainable_weights
                grads = [v.value.grad for v in tw]
                with torch.no_grad():
                    self.optimizer.apply(grads, tw)
                return {"loss": loss}
        elif BACKEND == "jax":
            def train_step(self, state, data):
                import jax
                import jax.numpy as jnp
                tv, ntv, ov, mv = state
                xx, yy = data

                def loss_fn(tv, ntv):
                    pred, ntv2 = self.stateless_call(tv, ntv, xx, **kw)
                    return jnp.mean((pred - yy) ** 2), ntv2

                (loss, ntv2), grads = jax.value_and_grad(loss_fn, has_aux=True)(tv, ntv)
                tv, ov = self.optimizer.stateless_apply(ov, grads, tv)
                return {"loss": loss}, (tv, ntv2, ov, mv)
    return M


def case(pass_training, run_eagerly):
    def f():
        m = make_cls(pass_training)()
        m.compile(optimizer=keras.optimizers.SGD(0.01), loss="mse", run_eagerly=run_eagerly)
        m.fit(x, y, batch_size=32, epochs=1, verbose=0)
        return {
            "top_seen": sorted({str(s) for s in m.top}),
            "nested_seen": sorted({str(s) for s in m.rec.seen}),
            "bn_moving_mean_changed": bool(np.abs(npy(m.bn.moving_mean)).max() > 1e-6),
        }
    return f


for p in (False, True):
    for eager in (False, True):
        if eager and BACKEND == "jax":
            continue  # a jax train_step is stateless; run_eagerly does not change the pattern
        run(f"train_step_{'training_True' if p else 'no_training'}{'_eager' if eager else ''}", case(p, eager))
