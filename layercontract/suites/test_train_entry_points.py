"""TRAIN (entry points): the training flag through `Sequential`, `stateless_call` and a recompile
after a `trainable` change (issue 19, cluster 3; probes evidence/probes/train_*.py)."""

import numpy as np
import pytest

from layercontract.spec.harness import clause, requires
from layercontract.suites._helpers import assert_binomial, close, recorder_class, tolerance

EPS, MOMENTUM = 1e-3, 0.99
ONES = np.ones((100, 100), dtype="float32")
TRAININGS = [True, False, None, "omitted"]


def _x(shape=(8, 3), seed=0):
    return (np.random.default_rng(seed).standard_normal(shape) * 3 + 2).astype("float32")


def _call(layer, x, training):
    return layer(x) if training == "omitted" else layer(x, training=training)


def _tap_class(K, backend):
    """Identity layer recording the input of each eager call (a build pass may trace `call` on a
    backend's own symbolic tensors first: the last record is the call's)."""

    class Tap(K.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.inputs = []

        def call(self, x):
            if not backend.is_symbolic(x):
                self.inputs.append(x)
            return x

    return Tap


def _assert_sequential_follows(backend, model, first, tap, bn, training):
    """After `model(ONES, training=...)`: every layer saw the value; Dropout and BN trained iff True."""
    _call(model, ONES, training)
    expected = None if training == "omitted" else training
    assert first.seen and first.seen[-1] is expected, (
        f"the Sequential's first layer received training={first.seen[-1:]} from model(x, training={training})"
    )
    # (the layer after Dropout is not asked for `training`: Keras 3 before 3.16 leaks Dropout's signature
    # default False to later layers, TRAIN.SIGNATURE_DEFAULT_LOCAL; here it only shows Dropout's output)
    dropped = backend.to_numpy(tap.inputs[-1])
    moving_mean = backend.to_numpy(bn.moving_mean)
    if training is True:
        assert_binomial(int((dropped == 0).sum()), dropped.size, 0.5, "zeros after Dropout(0.5) in the Sequential")
        assert np.any(moving_mean != 0), "BatchNormalization in the Sequential did not update its moving mean"
    else:
        np.testing.assert_array_equal(
            dropped, ONES, err_msg=f"Dropout in the Sequential dropped with training={training}"
        )
        np.testing.assert_array_equal(moving_mean, 0, err_msg=f"BatchNormalization updated with training={training}")


def _stack(K, backend):
    Recorder, Tap = recorder_class(K, backend), _tap_class(K, backend)
    return Recorder(), K.layers.Dropout(0.5, seed=7), Tap(), K.layers.BatchNormalization()


@clause("TRAIN.SEQUENTIAL_FORWARDS_TRAINING")
@pytest.mark.parametrize("training", TRAININGS)
def test_sequential_built_on_first_call_forwards_training(K, backend, training):
    backend.set_seed(1234)
    first, drop, tap, bn = _stack(K, backend)
    model = K.Sequential([first, drop, tap, bn])
    _assert_sequential_follows(backend, model, first, tap, bn, training)


@clause("TRAIN.SEQUENTIAL_FORWARDS_TRAINING")
@requires("functional")
@pytest.mark.parametrize("training", TRAININGS)
def test_sequential_with_an_input_forwards_training(K, backend, training):
    backend.set_seed(1234)
    first, drop, tap, bn = _stack(K, backend)
    model = K.Sequential([K.Input(shape=(ONES.shape[1],)), first, drop, tap, bn])
    _assert_sequential_follows(backend, model, first, tap, bn, training)


def _recording_sequential(K, backend):
    rec, bn = recorder_class(K, backend)(), K.layers.BatchNormalization()
    model = K.Sequential([rec, bn])
    model.compile(optimizer=K.optimizers.SGD(learning_rate=0.0), loss="mse")
    return model, rec, bn


@clause("TRAIN.SEQUENTIAL_FORWARDS_TRAINING")
@requires("fit")
def test_sequential_train_on_batch_trains_its_layers(K, backend):
    model, rec, bn = _recording_sequential(K, backend)
    x = _x((16, 3))
    model.train_on_batch(x, np.zeros_like(x))
    # The last value is the training step's; a build or tracing pass before it may record None.
    assert rec.seen and rec.seen[-1] is True, f"a layer of the Sequential received {rec.seen} under train_on_batch"
    assert np.any(backend.to_numpy(bn.moving_mean) != 0), (
        "BatchNormalization in the Sequential did not update its moving mean under train_on_batch"
    )


@clause("TRAIN.SEQUENTIAL_FORWARDS_TRAINING")
@requires("inference")
def test_sequential_predict_runs_its_layers_in_inference(K, backend):
    model, rec, bn = _recording_sequential(K, backend)
    model.predict(_x((16, 3)), verbose=0)
    assert rec.seen and rec.seen[-1] is False, f"a layer of the Sequential received {rec.seen} under predict"
    np.testing.assert_array_equal(backend.to_numpy(bn.moving_mean), 0, err_msg="predict updated BatchNormalization")


# ----------------------------------------------------------------- stateless_call
def _tensor(K, x):
    """A backend tensor holding `x`: stateless_call runs the layer without __call__'s conversion
    of numpy inputs on some backends (keras-torch raises TypeError), so the checks pass tensors."""
    return K.ops.multiply(x, 1.0)


GIVEN_GAMMA, GIVEN_BETA = np.float32([1.5, 0.5, 2.0]), np.float32([0.25, -1.0, 3.0])
GIVEN_MEAN, GIVEN_VARIANCE = np.float32([1.0, -2.0, 0.5]), np.float32([4.0, 0.25, 9.0])


@clause("TRAIN.STATELESS_CALL_RETURNS_UPDATED_STATS")
@pytest.mark.parametrize("training", [True, False])
def test_stateless_call_of_batchnorm_returns_its_updated_statistics(K, backend, training):
    x = _x()
    bn = K.layers.BatchNormalization()
    bn(x, training=False)  # built; nothing updated
    outputs, returned = bn.stateless_call(
        [GIVEN_GAMMA, GIVEN_BETA], [GIVEN_MEAN, GIVEN_VARIANCE], _tensor(K, x), training=training
    )
    tol = tolerance("TRAIN.STATELESS_CALL_RETURNS_UPDATED_STATS")
    assert len(returned) == 2, f"stateless_call returned {len(returned)} non-trainable values, not BN's 2"
    returned = [backend.to_numpy(v) for v in returned]
    if training:
        mean, variance = x.mean(axis=0), x.var(axis=0)
        expected = [
            MOMENTUM * GIVEN_MEAN + (1 - MOMENTUM) * mean,
            MOMENTUM * GIVEN_VARIANCE + (1 - MOMENTUM) * variance,
        ]
    else:
        mean, variance = GIVEN_MEAN, GIVEN_VARIANCE
        expected = [GIVEN_MEAN, GIVEN_VARIANCE]
    close(returned[0], expected[0], **tol, what=f"returned moving mean, training={training}")
    close(returned[1], expected[1], **tol, what=f"returned moving variance, training={training}")
    close(
        backend.to_numpy(outputs),
        (x - mean) / np.sqrt(variance + EPS) * GIVEN_GAMMA + GIVEN_BETA,
        **tol,
        what=f"output of stateless_call, training={training}",
    )
    np.testing.assert_array_equal(
        backend.to_numpy(bn.moving_mean), 0, err_msg="stateless_call wrote the layer's moving mean"
    )
    np.testing.assert_array_equal(
        backend.to_numpy(bn.moving_variance), 1, err_msg="stateless_call wrote the layer's moving variance"
    )
    np.testing.assert_array_equal(backend.to_numpy(bn.gamma), 1, err_msg="stateless_call wrote the layer's gamma")


@clause("TRAIN.STATELESS_CALL_PROPAGATES")
@pytest.mark.parametrize("call_takes_training", [True, False], ids=["call-with-training", "call-without-training"])
def test_stateless_call_of_a_model_gives_training_to_nested_layers(K, backend, call_takes_training):
    Recorder = recorder_class(K, backend)

    class Net(K.Model):
        def __init__(self):
            super().__init__()
            self.rec = Recorder()
            self.bn = K.layers.BatchNormalization()

    if call_takes_training:

        class Model(Net):
            def call(self, x, training=None):  # does not forward `training`: nested layers inherit it
                return self.bn(self.rec(x))
    else:

        class Model(Net):
            def call(self, x):
                return self.bn(self.rec(x))

    x = _x()
    model = Model()
    model(x)  # built; nothing updated
    trainable = [backend.to_numpy(v) for v in model.trainable_variables]
    non_trainable = [backend.to_numpy(v) for v in model.non_trainable_variables]
    _outputs, returned = model.stateless_call(trainable, non_trainable, _tensor(K, x), training=True)
    assert model.rec.seen[-1] is True, (
        f"a nested layer received training={model.rec.seen[-1]!r} from model.stateless_call(..., training=True)"
    )
    means = [backend.to_numpy(v) for v in returned if np.shape(v) == (3,)]
    close(
        means[0],
        (1 - MOMENTUM) * x.mean(axis=0),
        **tolerance("TRAIN.STATELESS_CALL_PROPAGATES"),
        what="returned moving mean of the nested BatchNormalization",
    )


# ----------------------------------------------------------------- trainable, recompile
@clause("TRAIN.TRAINABLE_RECOMPILE")
@requires("fit")
def test_recompiling_after_a_trainable_change_makes_fit_honour_it(K, backend):
    x = _x((32, 3))
    y = np.ones((32, 2), dtype="float32")
    dense, bn = K.layers.Dense(2), K.layers.BatchNormalization()
    model = K.Sequential([bn, dense])

    def compile_and_fit():
        model.compile(optimizer=K.optimizers.SGD(learning_rate=0.1), loss="mse")
        model.fit(x, y, batch_size=32, epochs=1, shuffle=False, verbose=0)

    def state():
        return backend.to_numpy(dense.kernel).copy(), backend.to_numpy(bn.moving_mean).copy()

    compile_and_fit()
    dense.trainable, bn.trainable = False, False
    kernel, mean = state()
    compile_and_fit()
    after_kernel, after_mean = state()
    np.testing.assert_array_equal(after_kernel, kernel, err_msg="fit after freezing and recompiling updated the Dense")
    np.testing.assert_array_equal(
        after_mean, mean, err_msg="fit after freezing and recompiling updated BatchNormalization's moving mean"
    )
    dense.trainable = True
    compile_and_fit()
    assert np.any(state()[0] != kernel), "fit after unfreezing and recompiling did not update the Dense"


# ----------------------------------------------------------------- the mode is per call
def _mode_net(K, backend):
    """A model whose call has `training` and calls a recorder, a Dropout and a BatchNormalization
    without it: what they do is the mode the model's call resolved."""
    Recorder = recorder_class(K, backend)

    class Net(K.Model):
        def __init__(self):
            super().__init__()
            self.rec = Recorder()
            self.drop = K.layers.Dropout(0.5, seed=3)
            self.bn = K.layers.BatchNormalization()

        def call(self, x, training=None):
            return self.bn(self.drop(self.rec(x)))

    return Net()


def _assert_a_plain_call_is_inference(backend, model, after):
    x = _x((64, 8), seed=4)
    mean_before = backend.to_numpy(model.bn.moving_mean).copy()
    plain = backend.to_numpy(model(x))
    assert model.rec.seen and model.rec.seen[-1] is None, (
        f"after {after}, model(x) without training gave a nested layer training={model.rec.seen[-1:]}"
    )
    np.testing.assert_array_equal(
        backend.to_numpy(model.bn.moving_mean),
        mean_before,
        err_msg=f"after {after}, model(x) without training updated BatchNormalization's moving mean",
    )
    close(
        plain,
        backend.to_numpy(model(x, training=False)),
        **tolerance("TRAIN.MODE_IS_PER_CALL"),
        what=f"after {after}, model(x) without training differs from model(x, training=False)",
    )


@clause("TRAIN.MODE_IS_PER_CALL")
def test_a_call_without_training_after_a_training_call_runs_in_inference(K, backend):
    backend.set_seed(1234)
    model = _mode_net(K, backend)
    model(_x((64, 8)), training=True)
    _assert_a_plain_call_is_inference(backend, model, "model(x, training=True)")
    drop = K.layers.Dropout(0.5, seed=3)
    drop(ONES, training=True)
    np.testing.assert_array_equal(
        backend.to_numpy(drop(ONES)), ONES, err_msg="after drop(x, training=True), drop(x) without training dropped"
    )


@clause("TRAIN.MODE_IS_PER_CALL")
@requires("fit")
def test_a_call_without_training_after_fit_runs_in_inference(K, backend):
    backend.set_seed(1234)
    model = _mode_net(K, backend)
    model.compile(optimizer=K.optimizers.SGD(learning_rate=0.01), loss="mse")
    x = _x((64, 8))
    model.fit(x, np.zeros_like(x), batch_size=16, epochs=1, shuffle=False, verbose=0)
    _assert_a_plain_call_is_inference(backend, model, "fit")


# ----------------------------------------------------------------- custom training loops
def _dense_bn(K):
    """Dense(3) then BatchNormalization, `training` forwarded to the BN explicitly (what reaches a
    layer called without it is TRAIN.PROPAGATES_TO_NESTED's and TRAIN.STATELESS_CALL_PROPAGATES's)."""

    class DenseBN(K.Model):
        def __init__(self):
            super().__init__()
            self.dense = K.layers.Dense(3)
            self.bn = K.layers.BatchNormalization()

        def call(self, x, training=None):
            return self.bn(self.dense(x), training=training)

    return DenseBN()


KERNEL = np.float32([[0.5, -1.0, 0.25], [1.5, 0.5, -0.5], [-0.75, 0.25, 1.0], [0.0, 2.0, -1.25]])
BIAS = np.float32([0.1, -0.2, 0.3])


@clause("TRAIN.CUSTOM_LOOP_UPDATES_BATCHNORM")
@requires("gradients")
@pytest.mark.parametrize("training", [True, False])
def test_a_call_recorded_for_gradients_updates_batchnorm_and_reaches_its_weights(K, backend, training):
    x = _x((16, 4), seed=5).astype("float64")
    cotangent = np.random.default_rng(6).standard_normal((16, 3))
    model = _dense_bn(K)
    model(x.astype("float32"), training=False)  # built; nothing updated
    model.dense.set_weights([KERNEL, BIAS])
    out, grads = backend.recorded_call(model, x.astype("float32"), training, cotangent.astype("float32"))

    h = x @ KERNEL + BIAS
    if training:
        mean, variance = h.mean(axis=0), h.var(axis=0)
        expected_mean, expected_variance = (1 - MOMENTUM) * mean, MOMENTUM + (1 - MOMENTUM) * variance
    else:
        mean, variance = np.zeros(3), np.ones(3)
        expected_mean, expected_variance = mean, variance
    inv_std = 1 / np.sqrt(variance + EPS)
    x_hat = (h - mean) * inv_std
    n = len(x)
    # the gradient through the batch statistics (training) or through constants (inference)
    grad_h = (
        inv_std / n * (n * cotangent - cotangent.sum(0) - x_hat * (cotangent * x_hat).sum(0))
        if training
        else cotangent * inv_std
    )
    expected_grads = {
        "the Dense kernel": (model.dense.kernel, x.T @ grad_h),
        "the Dense bias": (model.dense.bias, grad_h.sum(0)),
        "gamma": (model.bn.gamma, (cotangent * x_hat).sum(0)),
        "beta": (model.bn.beta, cotangent.sum(0)),
    }
    tol = tolerance("TRAIN.CUSTOM_LOOP_UPDATES_BATCHNORM")
    what = f"a call with training={training} recorded for gradients"
    close(out, x_hat, **tol, what=f"output of {what}")
    close(backend.to_numpy(model.bn.moving_mean), expected_mean, **tol, what=f"moving mean after {what}")
    close(backend.to_numpy(model.bn.moving_variance), expected_variance, **tol, what=f"moving variance after {what}")
    weights = list(model.trainable_weights)
    assert len(grads) == len(weights) == 4, f"{len(grads)} gradients for {len(weights)} trainable weights (not 4)"
    for name, (weight, expected) in expected_grads.items():
        index = next(i for i, w in enumerate(weights) if w is weight)
        close(grads[index], expected, **tol, what=f"gradient of {name} in {what}")
    assert all(w is not model.bn.moving_mean and w is not model.bn.moving_variance for w in weights), (
        "a moving statistic is among the trainable weights"
    )
