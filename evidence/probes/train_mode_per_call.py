"""Issue-19 probe (standalone: plain Keras, and the shared harness _probe.py beside it)."""
from _probe import *  # noqa: F403 - keras, np, K3, case, to_np, as_tensor, exc, attempt, which, main

# Cluster 3 (tensorflow/tensorflow#22555: PyTorch-style model.train() / model.eval()): is the
# training mode state of a model or layer, or decided per call? After a call with training=True,
# after fit, after predict: what does a later call *without* `training` do (Dropout drops? the
# BatchNormalization statistics move? what does a nested layer receive)? Which train/eval-like
# attributes exist, and does tf-keras's global learning phase still act?

X = np.random.default_rng(0).normal(3.0, 2.0, (64, 8)).astype("float32")
Y = np.zeros((64, 8), dtype="float32")


class Rec(keras.layers.Layer):
    def __init__(self, **kw):
        super().__init__(**kw)
        self.seen = []

    def call(self, x, training=None):
        self.seen.append(repr(training))
        return x


class Net(keras.Model):
    def __init__(self):
        super().__init__()
        self.rec = Rec()
        self.drop = keras.layers.Dropout(0.5, seed=3)
        self.bn = keras.layers.BatchNormalization()

    def call(self, x, training=None):
        return self.bn(self.drop(self.rec(x)))


def observe_plain_call(m):
    """A call without `training`: what the nested layers did."""
    before = to_np(m.bn.moving_mean).copy()
    out = to_np(m.drop(X))
    y = to_np(m(X))
    after = to_np(m.bn.moving_mean)
    return {
        "nested_seen": m.rec.seen[-1],
        "dropout_alone_zero_fraction": float((out == 0).mean()),
        "bn_moving_mean_moved_by_plain_call": bool(np.abs(after - before).max() > 1e-7),
        "output_equals_inference": bool(np.allclose(y, to_np(m(X, training=False)), atol=1e-5)),
    }


@case
def after_call_with_training_true():
    m = Net()
    m(X, training=True)
    return observe_plain_call(m)


@case
def after_fit():
    m = Net()
    m.compile(optimizer="sgd", loss="mse")
    m.fit(X, Y, epochs=1, batch_size=16, verbose=0)
    return observe_plain_call(m)


@case
def after_predict_then_training_call():
    m = Net()
    m.compile(optimizer="sgd", loss="mse")
    m.predict(X, verbose=0)
    before = to_np(m.bn.moving_mean).copy()
    m(X, training=True)
    return {
        "nested_seen": m.rec.seen[-1],
        "bn_moving_mean_moved_by_training_call": bool(np.abs(to_np(m.bn.moving_mean) - before).max() > 1e-7),
    }


@case
def layer_after_call_with_training_true():
    d = keras.layers.Dropout(0.5, seed=3)
    d(X, training=True)
    return {"dropout_zero_fraction_plain_call": float((to_np(d(X)) == 0).mean())}


@case
def train_eval_like_attributes():
    m = Net()
    names = ("train", "eval", "training", "is_training", "learning_phase", "set_training")
    return {
        "model_attributes": {n: hasattr(m, n) for n in names},
        "backend_names_with_phase": sorted(n for n in dir(keras.backend) if "phase" in n.lower()),
    }


@case
def global_learning_phase_set_to_1():
    if not hasattr(keras.backend, "set_learning_phase"):
        return {"set_learning_phase": "absent"}
    m = Net()
    m(X, training=False)  # built, nothing updated
    keras.backend.set_learning_phase(1)
    try:
        return {"set_learning_phase": "present", **observe_plain_call(m)}
    finally:
        keras.backend.set_learning_phase(0)


@case
def torch_module_train_and_eval():
    """keras-torch layers are torch.nn.Modules: does torch's own train() / eval() set the mode?"""
    m = Net()
    if not (K3 and BACKEND == "torch"):
        return {"torch_module": False}
    m(X, training=False)
    m.train()
    after_train = observe_plain_call(m)
    m.eval()
    before = to_np(m.bn.moving_mean).copy()
    y = to_np(m(X, training=True))
    return {
        "after_module_train_plain_call": after_train,
        "after_module_eval_training_call": {
            "nested_seen": m.rec.seen[-1],
            "bn_moving_mean_moved": bool(np.abs(to_np(m.bn.moving_mean) - before).max() > 1e-7),
            "dropout_zero_fraction": float((to_np(m.drop(X, training=True)) == 0).mean()),
            "output_equals_inference": bool(np.allclose(y, to_np(m(X, training=False)), atol=1e-5)),
        },
    }


if __name__ == "__main__":
    main()
