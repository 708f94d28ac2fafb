"""TRAIN (fit vs inference methods): which mode layers run in under each Model method."""

import numpy as np
import pytest

from layercontract.spec.harness import clause, requires
from layercontract.suites._helpers import close, recorder_class, tolerance

X = np.random.default_rng(0).standard_normal((8, 3)).astype("float32")
Y = np.random.default_rng(1).standard_normal((8, 2)).astype("float32")


def _bn_model(K, backend, with_training_param):
    Recorder = recorder_class(K, backend)

    class WithParam(K.Model):
        def __init__(self):
            super().__init__()
            self.dense = K.layers.Dense(2)
            self.bn = K.layers.BatchNormalization()
            self.rec = Recorder()

        def call(self, x, training=None):
            return self.rec(self.bn(self.dense(x)))

    class WithoutParam(WithParam):
        def call(self, x):
            return self.rec(self.bn(self.dense(x)))

    model = (WithParam if with_training_param else WithoutParam)()
    model.compile(optimizer=K.optimizers.SGD(learning_rate=0.01), loss="mse")
    return model


def _moving_mean_changed(model, backend):
    return bool(np.any(backend.to_numpy(model.bn.moving_mean) != 0))


TRAIN_METHODS = {
    "fit": lambda m: m.fit(X, Y, batch_size=8, epochs=1, shuffle=False, verbose=0),
    "train_on_batch": lambda m: m.train_on_batch(X, Y),
}
INFERENCE_METHODS = {
    "predict": lambda m: m.predict(X, verbose=0),
    "evaluate": lambda m: m.evaluate(X, Y, verbose=0),
    "predict_on_batch": lambda m: m.predict_on_batch(X),
    "test_on_batch": lambda m: m.test_on_batch(X, Y),
}


@clause("TRAIN.FIT_IS_TRAINING")
@requires("fit")
@pytest.mark.parametrize("method", sorted(TRAIN_METHODS))
def test_fit_runs_layers_in_training_mode(K, backend, method):
    model = _bn_model(K, backend, with_training_param=True)
    TRAIN_METHODS[method](model)
    assert _moving_mean_changed(model, backend), "BatchNormalization did not update its moving mean"
    # Only `True in seen`: Keras traces call() while compiling/building (torch and jax trace with
    # real-looking tensors and training=False), so other values may be recorded too.
    assert True in model.rec.seen, model.rec.seen


@clause("TRAIN.FIT_NO_TRAINING_PARAM.K3")
@requires("fit")
@pytest.mark.parametrize("method", sorted(TRAIN_METHODS))
def test_fit_on_model_without_training_param_runs_nested_layers_in_inference_keras3(K, backend, method):
    model = _bn_model(K, backend, with_training_param=False)
    TRAIN_METHODS[method](model)
    assert not _moving_mean_changed(model, backend), "BatchNormalization updated its moving mean"
    assert True not in model.rec.seen, model.rec.seen


@clause("TRAIN.FIT_NO_TRAINING_PARAM.K2")
@requires("fit")
@pytest.mark.parametrize("method", sorted(TRAIN_METHODS))
def test_fit_on_model_without_training_param_still_trains_nested_layers_keras2(K, backend, method):
    model = _bn_model(K, backend, with_training_param=False)
    TRAIN_METHODS[method](model)
    assert _moving_mean_changed(model, backend), "BatchNormalization did not update its moving mean"


@clause("TRAIN.INFERENCE_METHODS")
@requires("inference")
@pytest.mark.parametrize("with_param", [True, False], ids=["with-training-param", "without"])
@pytest.mark.parametrize("method", sorted(INFERENCE_METHODS))
def test_predict_and_evaluate_run_layers_in_inference(K, backend, method, with_param):
    model = _bn_model(K, backend, with_training_param=with_param)
    INFERENCE_METHODS[method](model)
    assert not _moving_mean_changed(model, backend), "BatchNormalization updated its moving mean"
    assert True not in model.rec.seen, model.rec.seen


def _recording_model(K, backend):
    """A model whose `call` has a `training` parameter, records it, and calls a nested recorder
    without `training`."""
    Recorder = recorder_class(K, backend)

    class Recording(K.Model):
        def __init__(self):
            super().__init__()
            self.dense = K.layers.Dense(2)
            self.rec = Recorder()
            self.seen = []

        def call(self, x, training=None):
            if not backend.is_symbolic(x):
                self.seen.append(training)
            return self.rec(self.dense(x))

    model = Recording()
    model.compile(optimizer=K.optimizers.SGD(learning_rate=0.0), loss="mse")
    return model


@clause("TRAIN.INFERENCE_METHODS_PASS_FALSE")
@requires("inference")
@pytest.mark.parametrize("method", sorted(INFERENCE_METHODS))
def test_inference_methods_pass_training_false_to_the_model_and_its_layers(K, backend, method):
    model = _recording_model(K, backend)
    INFERENCE_METHODS[method](model)
    # The last value is the one of the step that computed the result; build or tracing passes
    # before it may record None (SYMBOLIC.CALL_RUNS_ON_INPUT).
    assert model.seen and model.seen[-1] is False, f"the model's call received {model.seen}"
    assert model.rec.seen and model.rec.seen[-1] is False, f"the nested layer received {model.rec.seen}"


def _functional_bn_model(K, backend):
    inputs = K.Input((3,))
    bn = K.layers.BatchNormalization()
    rec = recorder_class(K, backend)()
    model = K.Model(inputs, rec(bn(K.layers.Dense(2)(inputs))))
    model.compile(optimizer=K.optimizers.SGD(learning_rate=0.01), loss="mse")
    return model, bn, rec


@clause("TRAIN.FIT_IS_TRAINING")
@requires("fit", "functional")
@pytest.mark.parametrize("method", sorted(TRAIN_METHODS))
def test_fit_runs_the_layers_of_a_functional_model_in_training_mode(K, backend, method):
    model, bn, rec = _functional_bn_model(K, backend)
    TRAIN_METHODS[method](model)
    assert np.any(backend.to_numpy(bn.moving_mean) != 0), "BatchNormalization did not update its moving mean"
    assert True in rec.seen, rec.seen


@clause("TRAIN.INFERENCE_METHODS_PASS_FALSE", "TRAIN.INFERENCE_METHODS")
@requires("inference", "functional")
@pytest.mark.parametrize("method", sorted(INFERENCE_METHODS))
def test_inference_methods_run_the_layers_of_a_functional_model_with_false(K, backend, method):
    model, bn, rec = _functional_bn_model(K, backend)
    INFERENCE_METHODS[method](model)
    np.testing.assert_array_equal(backend.to_numpy(bn.moving_mean), 0)
    assert rec.seen and rec.seen[-1] is False, rec.seen


@clause("TRAIN.FIT_SGD_STEP")
@requires("fit")
def test_one_train_on_batch_step_applies_the_sgd_update_of_the_mse_gradient(K, backend):
    class Linear(K.Model):
        def __init__(self):
            super().__init__()
            self.dense = K.layers.Dense(2)

        def call(self, x):
            return self.dense(x)

    model = Linear()
    model(X)
    w0 = np.float32([[0.5, -1.0], [0.25, 0.0], [-0.75, 1.5]])
    b0 = np.float32([0.1, -0.2])
    model.dense.set_weights([w0, b0])
    lr = 0.1
    model.compile(optimizer=K.optimizers.SGD(learning_rate=lr), loss="mse")
    loss = model.train_on_batch(X, Y)
    residual = X @ w0 + b0 - Y
    expected_loss = np.mean(residual**2)
    grad_out = 2 * residual / residual.size
    w1, b1 = (backend.to_numpy(w) for w in model.dense.weights)
    tol = tolerance("TRAIN.FIT_SGD_STEP")
    close(np.ravel(loss)[0] if np.ndim(loss) else loss, expected_loss, **tol, what="loss")
    close(w1, w0 - lr * X.T @ grad_out, **tol, what="kernel")
    close(b1, b0 - lr * grad_out.sum(0), **tol, what="bias")


MOMENTUM = 0.99


@clause("TRAIN.FIT_BUILD_PASSES_INERT")
@requires("fit")
def test_fit_of_an_unbuilt_model_updates_batchnorm_once_per_step_and_steps_last(K, backend):
    class DenseBN(K.Model):
        """Unbuilt until fit; records the `training` value of every run of its call, whatever
        the run is (a build or tracing pass, or a training step)."""

        def __init__(self):
            super().__init__()
            self.dense = K.layers.Dense(3)
            self.bn = K.layers.BatchNormalization()
            self.seen = []

        def call(self, x, training=None):
            self.seen.append(training)
            return self.bn(self.dense(x), training=training)

    x = (np.random.default_rng(2).standard_normal((16, 4)) * 2 + 1).astype("float32")
    model = DenseBN()
    # learning rate 0: the one step leaves the Dense as built, so the batch statistics are known
    model.compile(optimizer=K.optimizers.SGD(learning_rate=0.0), loss="mse")
    model.fit(x, np.zeros((16, 3), dtype="float32"), batch_size=16, epochs=1, shuffle=False, verbose=0)
    assert model.seen and model.seen[-1] is True, (
        f"the last run of call under fit received training={model.seen[-1:]} (all runs: {model.seen})"
    )
    h = x.astype("float64") @ backend.to_numpy(model.dense.kernel) + backend.to_numpy(model.dense.bias)
    tol = tolerance("TRAIN.FIT_BUILD_PASSES_INERT")
    close(
        backend.to_numpy(model.bn.moving_mean),
        (1 - MOMENTUM) * h.mean(axis=0),
        **tol,
        what=f"moving mean after fit over one batch: not one update (runs of call: {model.seen})",
    )
    close(
        backend.to_numpy(model.bn.moving_variance),
        MOMENTUM + (1 - MOMENTUM) * h.var(axis=0),
        **tol,
        what=f"moving variance after fit over one batch: not one update (runs of call: {model.seen})",
    )
