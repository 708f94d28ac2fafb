"""`Model`: a Layer with compile / fit / evaluate / predict and their *_on_batch forms.

Which `training` value the train and inference steps pass follows Keras 3
(keras/src/backend/*/trainer.py): `training=True` (resp. `False`) is passed only when the
model's `call` has a `training` parameter; otherwise the model is called without it
(clause TRAIN.FIT_NO_TRAINING_PARAM.K3).
"""
import inspect

import numpy as np

from layercontract.reference_impl import autodiff, losses, optimizers
from layercontract.reference_impl.layer import Layer


class History:
    def __init__(self):
        self.history = {"loss": []}


class Model(Layer):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.optimizer = None
        self.loss = None

    def compile(self, optimizer="sgd", loss="mse"):
        self.optimizer = optimizers.get(optimizer)
        self.loss = losses.get(loss)

    def _call_has_training_arg(self):
        return "training" in inspect.signature(self.call).parameters

    def _forward(self, x, training):
        if self._call_has_training_arg():
            return self(x, training=training)
        return self(x)

    def _require_compiled(self):
        if self.optimizer is None or self.loss is None:
            raise RuntimeError("You must call `compile()` before training or evaluating the model.")

    # ------------------------------------------------------------------ steps
    def train_on_batch(self, x, y):
        self._require_compiled()
        x, y = np.asarray(x, dtype="float32"), np.asarray(y, dtype="float32")
        with autodiff.tape() as tape:
            y_pred = self._forward(x, training=True)
            loss, loss_grad = self.loss(y, y_pred)
            variables = self.trainable_weights
            grads = tape.gradients(y_pred, loss_grad, variables)
        self.optimizer.apply(grads, variables)
        return float(loss)

    def test_on_batch(self, x, y):
        self._require_compiled()
        y_pred = self._forward(np.asarray(x, dtype="float32"), training=False)
        loss, _ = self.loss(np.asarray(y, dtype="float32"), y_pred)
        return float(loss)

    def predict_on_batch(self, x):
        return np.asarray(self._forward(np.asarray(x, dtype="float32"), training=False))

    # -------------------------------------------------------------- epochs
    def fit(self, x, y, batch_size=32, epochs=1, shuffle=True, verbose="auto", seed=None):
        history = History()
        n = len(x)
        order_rng = np.random.default_rng(seed)
        for _ in range(epochs):
            order = order_rng.permutation(n) if shuffle else np.arange(n)
            losses_ = [
                self.train_on_batch(np.asarray(x)[idx], np.asarray(y)[idx])
                for idx in np.array_split(order, max(1, -(-n // batch_size)))
            ]
            history.history["loss"].append(float(np.mean(losses_)))
        return history

    def evaluate(self, x, y, batch_size=32, verbose="auto"):
        n = len(x)
        batches = np.array_split(np.arange(n), max(1, -(-n // batch_size)))
        sizes = [len(b) for b in batches]
        losses_ = [self.test_on_batch(np.asarray(x)[b], np.asarray(y)[b]) for b in batches]
        return float(np.average(losses_, weights=sizes))

    def predict(self, x, batch_size=32, verbose="auto"):
        n = len(x)
        batches = np.array_split(np.arange(n), max(1, -(-n // batch_size)))
        return np.concatenate([self.predict_on_batch(np.asarray(x)[b]) for b in batches], axis=0)
