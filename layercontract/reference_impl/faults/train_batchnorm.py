"""Faults of the Batchnormalization area (suites/test_train_batchnorm.py)."""

from __future__ import annotations

from layercontract.reference_impl.faults._machinery import R, _rewrite, fault


@fault("TRAIN.BN_DEFAULTS", upstream="torch.nn.BatchNorm*d(eps=1e-05)")
def bn_epsilon_default_pytorch():
    """BatchNormalization's default epsilon is 1e-5 (PyTorch's) instead of 1e-3.

    Breaks: TRAIN.BN_DEFAULTS, and the numbers of every BN formula for small variances.
    """
    _rewrite(R.layers.BatchNormalization, "__init__", ("epsilon=1e-3", "epsilon=1e-5"))


@fault("TRAIN.BN_TRAINING_BATCH_STATS", "TRAIN.BN_MOVING_UPDATE")
def bn_unbiased_variance():
    """BatchNormalization uses the unbiased batch variance (divides by n - 1).

    Breaks: Keras normalizes with, and averages, the biased variance
    (TRAIN.BN_TRAINING_BATCH_STATS, TRAIN.BN_MOVING_UPDATE).
    """
    _rewrite(
        R.layers.BatchNormalization,
        "call",
        (
            "variance = x.var(axis=reduce_axes)  # biased (divides by n)",
            "variance = x.var(axis=reduce_axes, ddof=1)  # FAULT: unbiased",
        ),
    )


@fault("TRAIN.BN_MOVING_UPDATE", upstream="torch.nn.BatchNorm: running = (1 - momentum) * running + momentum * batch")
def bn_pytorch_momentum():
    """The moving average uses the PyTorch convention: moving = (1-m) * moving + m * batch.

    Breaks: with Keras's momentum 0.99 the moving statistics jump to the batch statistics
    (TRAIN.BN_MOVING_UPDATE).
    """
    _rewrite(
        R.layers.BatchNormalization,
        "call",
        (
            "moving.assign(self.momentum * moving.value + (1.0 - self.momentum) * batch)",
            "moving.assign((1.0 - self.momentum) * moving.value + self.momentum * batch)  # FAULT",
        ),
    )


@fault("TRAIN.BN_MOVING_UPDATE", upstream="torch.nn.BatchNorm updates running_var with the unbiased variance")
def bn_moving_variance_unbiased():
    """The moving variance averages the unbiased batch variance (normalization stays biased).

    Breaks: Keras averages the biased variance (TRAIN.BN_MOVING_UPDATE).
    """
    _rewrite(
        R.layers.BatchNormalization,
        "call",
        ("(self.moving_variance, variance)", "(self.moving_variance, x.var(axis=reduce_axes, ddof=1))"),
    )


@fault("TRAIN.BN_TRAINING_BATCH_STATS", "TRAIN.BN_INFERENCE")
def bn_epsilon_outside_sqrt():
    """BatchNormalization divides by sqrt(var) + epsilon instead of sqrt(var + epsilon).

    Breaks: the normalization formula (TRAIN.BN_TRAINING_BATCH_STATS, TRAIN.BN_INFERENCE).
    """
    _rewrite(
        R.layers.BatchNormalization,
        "call",
        (
            "inv_std = 1.0 / np.sqrt(variance + self.epsilon)",
            "inv_std = 1.0 / (np.sqrt(variance) + self.epsilon)  # FAULT",
        ),
    )


@fault("TRAIN.BN_INFERENCE")
def bn_batch_stats_in_inference():
    """In inference BatchNormalization normalizes with the batch statistics (updating nothing).

    Breaks: inference must use the moving statistics, so outputs do not depend on the rest of
    the batch (TRAIN.BN_INFERENCE).
    """
    _rewrite(
        R.layers.BatchNormalization,
        "call",
        (
            "mean, variance = self.moving_mean.value, self.moving_variance.value",
            "mean, variance = x.mean(axis=reduce_axes), x.var(axis=reduce_axes)  # FAULT",
        ),
    )


@fault("TRAIN.BN_INFERENCE", "TRAIN.INFERENCE_METHODS", "TRAIN.FIT_NO_TRAINING_PARAM.K3")
def bn_updates_in_inference():
    """BatchNormalization updates its moving statistics on every call, whatever `training` is.

    Like TF 1.x update ops run unconditionally. Breaks: inference must not change the model
    (TRAIN.BN_INFERENCE, TRAIN.INFERENCE_METHODS, TRAIN.FIT_NO_TRAINING_PARAM.K3).
    """
    _rewrite(
        R.layers.BatchNormalization,
        "call",
        (
            "mean, variance = self.moving_mean.value, self.moving_variance.value",
            "mean, variance = self.moving_mean.value, self.moving_variance.value\n"
            "        for moving, batch in ((self.moving_mean, x.mean(axis=reduce_axes)),  # FAULT\n"
            "                              (self.moving_variance, x.var(axis=reduce_axes))):\n"
            "            moving.assign(self.momentum * moving.value + (1.0 - self.momentum) * batch)",
        ),
    )


@fault("TRAIN.BN_FROZEN_IS_INFERENCE")
def bn_trainable_false_ignored():
    """BatchNormalization with `trainable=False` still uses batch statistics and updates in training.

    The pre-TF-2.0 behaviour. Breaks: a frozen BN must run in inference mode
    (TRAIN.BN_FROZEN_IS_INFERENCE), the basis of fine-tuning.
    """
    _rewrite(
        R.layers.BatchNormalization,
        "call",
        ("if training and self.trainable:", "if training:  # FAULT"),
        ("batch_stats = bool(training and self.trainable)", "batch_stats = bool(training)  # FAULT"),
    )


@fault("TRAIN.BN_FROZEN_IS_INFERENCE")
def trainable_flag_not_applied_to_weights():
    """`layer.trainable = False` does not remove the layer's weights from `trainable_weights`.

    Breaks: a frozen layer must list all its weights as non-trainable, or fit keeps
    training them (TRAIN.BN_FROZEN_IS_INFERENCE).
    """
    _rewrite(R.layer.Layer, "trainable_weights", ("if not self.trainable:", "if False:  # FAULT"))


@fault("TRAIN.BN_TRAINING_BATCH_STATS", "TRAIN.BN_MOVING_UPDATE")
def bn_axis_ignored():
    """BatchNormalization ignores `axis` and always normalizes over the last axis.

    Breaks: channels-first BatchNormalization(axis=1) (TRAIN.BN_TRAINING_BATCH_STATS,
    TRAIN.BN_MOVING_UPDATE).
    """
    _rewrite(R.layers.BatchNormalization, "__init__", ("self.axis = axis", "self.axis = -1  # FAULT"))


@fault("TRAIN.BN_TRAINING_BATCH_STATS", "TRAIN.BN_INFERENCE")
def bn_scale_and_center_ignored():
    """BatchNormalization never applies gamma and beta.

    Breaks: TRAIN.BN_TRAINING_BATCH_STATS ((x - mean) / sqrt(var + eps) * gamma + beta) and
    TRAIN.BN_INFERENCE once gamma and beta are trained.
    """
    _rewrite(
        R.layers.BatchNormalization,
        "call",
        ("outputs = (x_hat * b(gamma) + b(beta)).astype(x.dtype)", "outputs = x_hat.astype(x.dtype)  # FAULT"),
    )
