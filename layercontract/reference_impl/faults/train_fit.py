"""Faults of the Fit area (suites/test_train_fit.py)."""

from __future__ import annotations

from layercontract.reference_impl.faults._machinery import R, _rewrite, fault


@fault("TRAIN.FIT_IS_TRAINING", "TRAIN.TUTORIAL_DROPOUT_FIT")
def fit_never_passes_training():
    """The train step calls the model as `self(x)`, without `training=True`.

    Breaks: fit must train nested Dropout/BN of a model whose call accepts `training`
    (TRAIN.FIT_IS_TRAINING), and GoodModel's Dropout must be active (TRAIN.TUTORIAL_DROPOUT_FIT).
    """
    _rewrite(R.model.Model, "train_on_batch", ("y_pred = self._forward(x, training=True)", "y_pred = self(x)  # FAULT"))


@fault(
    "TRAIN.FIT_NO_TRAINING_PARAM.K3",
    upstream="tf-keras Model.train_step: self(x, training=True) (clause TRAIN.FIT_NO_TRAINING_PARAM.K2)",
)
def fit_passes_training_true_always():
    """The train and inference steps pass `training=` even when the model's call has no such parameter.

    The tf-keras behaviour. Breaks: Keras 3 calls such a model without `training`, so its nested
    layers run in inference under fit (TRAIN.FIT_NO_TRAINING_PARAM.K3).
    """
    _rewrite(R.model.Model, "_forward", ("if self._call_has_training_arg():", "if True:  # FAULT"))


@fault("TRAIN.INFERENCE_METHODS", upstream="PyTorch: inference without model.eval() runs Dropout/BN in training mode")
def predict_runs_training():
    """`predict` / `predict_on_batch` run the model with `training=True`.

    Breaks: prediction must not train BN or apply Dropout (TRAIN.INFERENCE_METHODS).
    """
    _rewrite(R.model.Model, "predict_on_batch", ("training=False", "training=True"))


@fault("TRAIN.INFERENCE_METHODS")
def evaluate_runs_training():
    """`evaluate` / `test_on_batch` reuse the training forward pass (`training=True`).

    Breaks: evaluation must not change the model (TRAIN.INFERENCE_METHODS).
    """
    _rewrite(R.model.Model, "test_on_batch", ("training=False", "training=True"))


@fault("TRAIN.FIT_SGD_STEP")
def sgd_wrong_sign():
    """SGD adds the scaled gradient: w <- w + learning_rate * grad.

    Breaks: gradient ascent (TRAIN.FIT_SGD_STEP).
    """
    _rewrite(
        R.optimizers.SGD,
        "apply",
        ("variable.value - self.learning_rate * grad", "variable.value + self.learning_rate * grad"),
    )


@fault("TRAIN.FIT_SGD_STEP")
def mse_gradient_not_averaged():
    """The mse gradient is that of the summed loss while the reported loss is the mean.

    A reduction mismatch. Breaks: the step is batch-size times too large (TRAIN.FIT_SGD_STEP).
    """
    _rewrite(R.losses, "mean_squared_error", ("(2.0 * diff / diff.size)", "(2.0 * diff)"))


@fault("TRAIN.INFERENCE_METHODS_PASS_FALSE")
def inference_steps_pass_no_training():
    """The steps pass `training` only when it is True: predict and evaluate call `self(x)`.

    Built-in layers treat None as inference, so only code that reads the value sees it. Breaks:
    a model with a `training` parameter and its nested layers must receive False
    (TRAIN.INFERENCE_METHODS_PASS_FALSE).
    """
    _rewrite(
        R.model.Model,
        "_forward",
        ("if self._call_has_training_arg():", "if self._call_has_training_arg() and training:  # FAULT"),
    )


@fault("TRAIN.FIT_BUILD_PASSES_INERT")
def fit_builds_an_unbuilt_model_with_a_training_call():
    """`fit` builds an unbuilt model by calling it on the data with training=True before its steps.

    A build pass that is a real training-mode call. Breaks: BatchNormalization's moving statistics
    take one update more than the steps give (TRAIN.FIT_BUILD_PASSES_INERT).
    """
    _rewrite(
        R.model.Model,
        "fit",
        (
            "history = History()\n",
            "history = History()\n"
            "    if not self.built:  # FAULT: a build pass that trains\n"
            "        self._forward(_floats(x), training=True)\n",
        ),
    )
