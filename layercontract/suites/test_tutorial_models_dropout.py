"""TRAIN (tutorial models with Dropout): BadModel, GoodModel and ComplexModel under fit and evaluate.

Dense(64, relu) -> Dropout(0.5) -> Dense(1), with weights that make every hidden unit exactly 1
and the output their mean: the inference output is exactly 1 (the target), so the inference loss
is 0, and the training loss with SGD(0) is 0 only when Dropout is inactive (or when all 64 rows keep
exactly 32 units: probability 0.099**64)."""

import numpy as np
import pytest

from layercontract.spec.harness import clause, requires
from layercontract.suites._helpers import close, tolerance

X = np.ones((64, 8), dtype="float32")
Y = np.ones((64, 1), dtype="float32")
ACTIVE = 1e-6  # a training loss above this means Dropout dropped something


def _models(K):
    class BadModel(K.Model):
        """call() has no `training` parameter; Dropout is called without it."""

        def __init__(self):
            super().__init__()
            self.hidden = K.layers.Dense(64, activation="relu")
            self.drop = K.layers.Dropout(0.5)
            self.out = K.layers.Dense(1)

        def call(self, x):
            return self.out(self.drop(self.hidden(x)))

    class GoodModel(BadModel):
        """Same layers; call() accepts `training` and forwards it to Dropout."""

        def call(self, x, training=None):
            return self.out(self.drop(self.hidden(x), training=training))

    class ComplexModel(K.Model):
        """A list of layers run in order, `training` forwarded to Dropout."""

        def __init__(self):
            super().__init__()
            self.blocks = [K.layers.Dense(64, activation="relu"), K.layers.Dropout(0.5), K.layers.Dense(1)]

        def call(self, x, training=None):
            for layer in self.blocks:
                x = layer(x, training=training) if isinstance(layer, K.layers.Dropout) else layer(x)
            return x

    return {"BadModel": BadModel, "GoodModel": GoodModel, "ComplexModel": ComplexModel}


def _model(K, backend, name):
    model = _models(K)[name]()
    model(X[:2])
    hidden, out = (model.blocks[0], model.blocks[2]) if name == "ComplexModel" else (model.hidden, model.out)
    hidden.set_weights([np.full((8, 64), 1 / 8, "float32"), np.zeros(64, "float32")])
    out.set_weights([np.full((64, 1), 1 / 64, "float32"), np.zeros(1, "float32")])
    model.compile(optimizer=K.optimizers.SGD(learning_rate=0.0), loss="mse")
    backend.set_seed(11)
    return model


def _scalar(loss):
    return float(np.ravel(loss)[0]) if np.ndim(loss) else float(loss)


TRAIN = {
    "fit": lambda m: m.fit(X, Y, batch_size=64, epochs=1, shuffle=False, verbose=0).history["loss"][0],
    "train_on_batch": lambda m: m.train_on_batch(X, Y),
}
EVALUATE = {
    "evaluate": lambda m: m.evaluate(X, Y, batch_size=64, verbose=0),
    "test_on_batch": lambda m: m.test_on_batch(X, Y),
}


@clause("TRAIN.TUTORIAL_DROPOUT_FIT", "TRAIN.FIT_IS_TRAINING")
@requires("fit")
@pytest.mark.parametrize("method", sorted(TRAIN))
@pytest.mark.parametrize("name", ["GoodModel", "ComplexModel"])
def test_models_forwarding_training_apply_dropout_under_fit(K, backend, name, method):
    loss = _scalar(TRAIN[method](_model(K, backend, name)))
    assert loss > ACTIVE, f"{name}.{method} loss {loss}: Dropout was inactive in training"


@clause("TRAIN.TUTORIAL_DROPOUT_FIT", "TRAIN.INFERENCE_METHODS")
@requires("inference")
@pytest.mark.parametrize("method", sorted(EVALUATE))
@pytest.mark.parametrize("name", ["BadModel", "GoodModel", "ComplexModel"])
def test_tutorial_models_do_not_apply_dropout_under_evaluate(K, backend, name, method):
    loss = _scalar(EVALUATE[method](_model(K, backend, name)))
    close(loss, 0.0, **tolerance("TRAIN.TUTORIAL_DROPOUT_FIT"), what=f"{name}.{method} loss: Dropout was active")


@clause("TRAIN.FIT_NO_TRAINING_PARAM.K3")
@requires("fit")
@pytest.mark.parametrize("method", sorted(TRAIN))
def test_bad_model_does_not_apply_dropout_under_fit_keras3(K, backend, method):
    loss = _scalar(TRAIN[method](_model(K, backend, "BadModel")))
    close(loss, 0.0, **tolerance("TRAIN.TUTORIAL_DROPOUT_FIT"), what=f"BadModel.{method} loss: Dropout was active")


@clause("TRAIN.FIT_NO_TRAINING_PARAM.K2")
@requires("fit")
@pytest.mark.parametrize("method", sorted(TRAIN))
def test_bad_model_applies_dropout_under_fit_keras2(K, backend, method):
    loss = _scalar(TRAIN[method](_model(K, backend, "BadModel")))
    assert loss > ACTIVE, f"BadModel.{method} loss {loss}: Dropout was inactive"
