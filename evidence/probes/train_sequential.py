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
        msgs = sorted({str(m.message)[:160] for m in w})[:4]
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
"""Does Sequential forward `training` to Dropout / BatchNormalization / custom layers inside it,
for direct calls and under train_on_batch / predict? Two Sequential styles: with an Input (built
as a functional graph) and deferred (no Input, built on the first call)."""

N, D = 16, 100


def make(style):
    rec = Rec()
    drop = keras.layers.Dropout(0.5, seed=1)
    dense = keras.layers.Dense(1, kernel_initializer="ones", bias_initializer="zeros")
    layers = [rec, drop, dense]
    if style == "input":
        layers = [keras.Input((D,))] + layers
    m = keras.Sequential(layers)
    return m, rec


def make_bn(style):
    rec = Rec()
    bn = keras.layers.BatchNormalization()
    layers = [rec, bn]
    if style == "input":
        layers = [keras.Input((4,))] + layers
    return keras.Sequential(layers), rec, bn


x = np.ones((N, D), "float32")
y = np.full((N, 1), float(D), "float32")  # the inference output exactly
xb = np.random.default_rng(0).normal(3.0, 2.0, (32, 4)).astype("float32")


def direct(style, training):
    def f():
        m, rec = make(style)
        kw = {} if training == "omitted" else {"training": training}
        out = npy(m(x, **kw))
        mb, recb, bn = make_bn(style)
        mb(xb, **kw)
        mm = npy(bn.moving_mean)
        return {
            "rec_seen_last": rec.seen[-1],
            "dropout_active": bool(np.abs(out - D).max() > 1e-3),
            "bn_rec_seen_last": recb.seen[-1],
            "bn_moving_mean_changed": bool(np.abs(mm).max() > 1e-6),
        }
    return f


def fit_step(style):
    def f():
        m, rec = make(style)
        m.compile(optimizer=keras.optimizers.SGD(0.0), loss="mse")
        loss = float(np.asarray(m.train_on_batch(x, y)).reshape(-1)[0])
        mb, recb, bn = make_bn(style)
        mb.compile(optimizer=keras.optimizers.SGD(0.0), loss="mse")
        mb.fit(xb, np.zeros((32, 4), "float32"), batch_size=32, epochs=1, verbose=0)
        return {
            "rec_seen": [s for s in rec.seen][-3:],
            "dropout_active_loss": loss,
            "dropout_active": loss > 1e-6,
            "bn_rec_seen": recb.seen[-3:],
            "bn_moving_mean_changed": bool(np.abs(npy(bn.moving_mean)).max() > 1e-6),
        }
    return f


def predict(style):
    def f():
        m, rec = make(style)
        out = m.predict(x, verbose=0)
        mb, recb, bn = make_bn(style)
        mb.predict(xb, verbose=0)
        return {
            "rec_seen": rec.seen[-3:],
            "dropout_active": bool(np.abs(out - D).max() > 1e-3),
            "bn_rec_seen": recb.seen[-3:],
            "bn_moving_mean_changed": bool(np.abs(npy(bn.moving_mean)).max() > 1e-6),
        }
    return f


for style in ("input", "deferred"):
    for t in (True, False, "omitted"):
        run(f"sequential_{style}_call_training_{t}", direct(style, t))
    run(f"sequential_{style}_train_on_batch_fit", fit_step(style))
    run(f"sequential_{style}_predict", predict(style))
