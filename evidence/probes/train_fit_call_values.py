"""Issue-19 probe (standalone: plain Keras, and the shared harness _probe.py beside it)."""
from _probe import *  # noqa: F403 - keras, np, K3, case, to_np, as_tensor, exc, attempt, which, main

# Cluster 3 (tensorflow/tensorflow#39547: a subclassed model printing its `training` value shows
# "not in training" once, then "in training", during fit): every invocation of a subclassed
# model's `call` during compile + fit, with the `training` value it received and what kind of
# tensor it ran on (eager, symbolic KerasTensor, a graph or jit trace). Unbuilt and built models,
# compiled and eager (run_eagerly=True) fit, with and without validation data.

X = np.random.default_rng(0).normal(size=(8, 5)).astype("float32")
Y = np.ones((8, 5), dtype="float32")


def kind(x):
    """What `call` ran on: eager data, a symbolic KerasTensor, a torch meta tensor, or a graph / jit trace."""
    if K3 and isinstance(x, keras.KerasTensor):
        return "symbolic"
    if not K3:
        import tensorflow as tf

        if not tf.executing_eagerly():
            return "graph"
        return "eager"
    name = type(x).__name__
    if "Tracer" in name:
        return "jit-trace"
    if getattr(getattr(x, "device", None), "type", "") == "meta":
        return "meta-tensor"  # torch's symbolic pass: tensors without data
    if BACKEND == "tensorflow":
        import tensorflow as tf

        return "eager" if tf.executing_eagerly() else "graph"
    return "eager"


class MyModel(keras.Model):
    """The model of tensorflow/tensorflow#39547."""

    def __init__(self):
        super().__init__()
        self.dense1 = keras.layers.Dense(4, activation="relu")
        self.dense2 = keras.layers.Dense(5, activation="softmax")
        self.dropout = keras.layers.Dropout(0.5)
        self.calls = []

    def call(self, inputs, training=None):
        self.calls.append(f"{training!r}:{kind(inputs)}")
        x = self.dense1(inputs)
        if training is True:
            x = self.dropout(x, training=training)
        return self.dense2(x)


def fit_calls(build_first, run_eagerly, validation):
    m = MyModel()
    if build_first:
        m(X[:2])
        m.calls.clear()
    m.compile(optimizer="sgd", loss="categorical_crossentropy", run_eagerly=run_eagerly)
    compiled_calls = list(m.calls)
    kw = {"validation_data": (X, Y)} if validation else {}
    m.fit(X, Y, epochs=2, batch_size=4, verbose=0, **kw)
    return {"during_compile": compiled_calls, "during_fit": m.calls[len(compiled_calls):]}


@case
def unbuilt_compiled_fit():
    return fit_calls(build_first=False, run_eagerly=False, validation=False)


@case
def built_compiled_fit():
    return fit_calls(build_first=True, run_eagerly=False, validation=False)


@case
def unbuilt_eager_fit():
    return fit_calls(build_first=False, run_eagerly=True, validation=False)


@case
def unbuilt_compiled_fit_with_validation():
    return fit_calls(build_first=False, run_eagerly=False, validation=True)


class DenseBN(keras.Model):
    """Dense + BatchNormalization, `training` forwarded to the BN: how many moving-statistics
    updates does fit make over one batch (one training step) on an unbuilt model?"""

    def __init__(self):
        super().__init__()
        self.dense = keras.layers.Dense(3)
        self.bn = keras.layers.BatchNormalization()

    def call(self, x, training=None):
        return self.bn(self.dense(x), training=training)


@case
def unbuilt_fit_one_step_batchnorm_updates():
    m = DenseBN()
    m.compile(optimizer=keras.optimizers.SGD(learning_rate=0.0), loss="mse")
    m.fit(X, Y[:, :3], epochs=1, batch_size=len(X), shuffle=False, verbose=0)
    h = X @ to_np(m.dense.kernel) + to_np(m.dense.bias)
    mm = to_np(m.bn.moving_mean)
    one = 0.01 * h.mean(axis=0)
    two = (1 - 0.99**2) * h.mean(axis=0)
    return {
        "moving_mean_is_one_update": bool(np.allclose(mm, one, rtol=1e-4, atol=1e-6)),
        "moving_mean_is_two_updates": bool(np.allclose(mm, two, rtol=1e-4, atol=1e-6)),
        "moving_mean_over_one_update": (mm / one).round(4).tolist(),
    }


if __name__ == "__main__":
    main()
