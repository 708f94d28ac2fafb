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
