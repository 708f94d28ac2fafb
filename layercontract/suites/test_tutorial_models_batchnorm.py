"""The scenarios tutorials use, checked against the clauses they illustrate."""

import numpy as np
import pytest

from layercontract.spec.harness import clause, requires
from layercontract.suites._helpers import close, tolerance

X = np.random.default_rng(0).uniform(1.0, 2.0, (64, 8)).astype("float32")
Y = np.random.default_rng(1).standard_normal((64, 1)).astype("float32")


def _models(K):
    class BadModel(K.Model):
        """call() has no `training` parameter; inner BN/Dropout are called without it."""

        def __init__(self):
            super().__init__()
            self.dense = K.layers.Dense(8)
            self.bn = K.layers.BatchNormalization()
            self.drop = K.layers.Dropout(0.5, seed=1)
            self.out = K.layers.Dense(1)

        def call(self, x):
            return self.out(self.drop(self.bn(self.dense(x))))

    class GoodModel(BadModel):
        """Same layers; call() accepts `training` and forwards it."""

        def call(self, x, training=None):
            x = self.bn(self.dense(x), training=training)
            return self.out(self.drop(x, training=training))

    class ComplexModel(K.Model):
        """A list of layers, run in order with `training` forwarded."""

        def __init__(self):
            super().__init__()
            self.blocks = [
                K.layers.Dense(8),
                K.layers.BatchNormalization(),
                K.layers.Dropout(0.5, seed=2),
                K.layers.Dense(1),
            ]

        def call(self, x, training=None):
            for layer in self.blocks:
                x = (
                    layer(x, training=training)
                    if isinstance(layer, (K.layers.BatchNormalization, K.layers.Dropout))
                    else layer(x)
                )
            return x

    return {"BadModel": BadModel, "GoodModel": GoodModel, "ComplexModel": ComplexModel}


def _inner(model):
    """(dense, bn, dropout, out) of any tutorial model."""
    if hasattr(model, "blocks"):
        return tuple(model.blocks)
    return model.dense, model.bn, model.drop, model.out


def _manual_inference(model, backend, x):
    dense, bn, _drop, out = _inner(model)
    k1, b1 = (backend.to_numpy(w) for w in dense.weights)
    gamma, beta, mean, var = (backend.to_numpy(w) for w in bn.weights)
    k2, b2 = (backend.to_numpy(w) for w in out.weights)
    h = (x @ k1 + b1 - mean) / np.sqrt(var + bn.epsilon) * gamma + beta
    return h @ k2 + b2


@clause("CALL.MODEL_SEQUENTIAL", "TRAIN.DROPOUT_INFERENCE_IDENTITY", "TRAIN.BN_INFERENCE")
@pytest.mark.parametrize("name", ["BadModel", "GoodModel", "ComplexModel"])
def test_tutorial_model_in_inference_is_deterministic_and_matches_the_formula(K, backend, name):
    model = _models(K)[name]()
    model(X)
    bn = _inner(model)[1]
    # Non-trivial BatchNormalization weights, so the formula exercises gamma, beta and statistics.
    bn.set_weights(
        [
            np.linspace(0.5, 2.0, 8, dtype="float32"),
            np.linspace(-1, 1, 8, dtype="float32"),
            np.linspace(-0.5, 0.5, 8, dtype="float32"),
            np.linspace(0.5, 3.0, 8, dtype="float32"),
        ]
    )
    first = backend.to_numpy(model(X, training=False))
    second = backend.to_numpy(model(X))
    np.testing.assert_array_equal(first, second)
    close(first, _manual_inference(model, backend, X), **tolerance("CALL.MODEL_SEQUENTIAL"))


@clause("TRAIN.PROPAGATES_TO_NESTED", "TRAIN.BN_MOVING_UPDATE")
@pytest.mark.parametrize("name", ["BadModel", "GoodModel", "ComplexModel"])
def test_tutorial_model_called_with_training_true_trains_its_inner_layers(K, backend, name):
    # The tutorial claim "BadModel ignores training=True" is false when the model is called
    # directly: the value travels through the call context to the inner BN and Dropout.
    model = _models(K)[name]()
    backend.set_seed(5)
    model(X, training=True)
    _dense, bn, drop, _out = _inner(model)
    moving_mean = backend.to_numpy(bn.moving_mean)
    assert np.any(moving_mean != 0), f"the inner BatchNormalization's moving mean not updated: {moving_mean}"
    h = backend.to_numpy(drop(np.ones((100, 100), dtype="float32"), training=True))
    assert (h == 0).any(), "the inner Dropout dropped nothing under training=True"


def _fit_tutorial_model(K, name):
    model = _models(K)[name]()
    model.compile(optimizer=K.optimizers.SGD(learning_rate=0.01), loss="mse")
    model.fit(X, Y, batch_size=16, epochs=1, shuffle=False, verbose=0)
    return model


@clause("TRAIN.FIT_IS_TRAINING")
@requires("fit")
@pytest.mark.parametrize("name", ["GoodModel", "ComplexModel"])
def test_models_forwarding_training_train_their_inner_layers_under_fit(K, backend, name):
    model = _fit_tutorial_model(K, name)
    assert np.any(backend.to_numpy(_inner(model)[1].moving_mean) != 0)


@clause("TRAIN.FIT_NO_TRAINING_PARAM.K3")
@requires("fit")
def test_bad_model_under_fit_runs_its_inner_layers_in_inference_keras3(K, backend):
    model = _fit_tutorial_model(K, "BadModel")
    np.testing.assert_array_equal(backend.to_numpy(model.bn.moving_mean), 0)


@clause("TRAIN.FIT_NO_TRAINING_PARAM.K2")
@requires("fit")
def test_bad_model_under_fit_trains_its_inner_layers_keras2(K, backend):
    model = _fit_tutorial_model(K, "BadModel")
    assert np.any(backend.to_numpy(model.bn.moving_mean) != 0)


@clause("BUILD.TRACKS_SUBLAYERS")
def test_complex_model_tracks_the_weights_of_its_layer_list(K):
    model = _models(K)["ComplexModel"]()
    model(X)
    dense, bn, _drop, out = model.blocks
    expected = [*dense.weights, *bn.weights, *out.weights]
    assert len(expected) == 8
    # Order differs between editions (BUILD.WEIGHTS_ORDER_*); here: the same weights, once each.
    assert sorted(id(w) for w in model.weights) == sorted(id(w) for w in expected)
    assert len(model.weights) == 8
    assert sorted(id(w) for w in model.non_trainable_weights) == sorted([id(bn.moving_mean), id(bn.moving_variance)])
    assert len(model.trainable_weights) == 6
