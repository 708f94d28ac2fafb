"""Faults of the Former Survivors area (checks strengthened after these faults survived the first version of the suites)."""
from __future__ import annotations

from layercontract.reference_impl.faults._machinery import R, _rewrite, fault


# These survived the first version of the suites; each check was strengthened so they die now.
@fault("CALL.MODEL_SEQUENTIAL")
def dense_activation_before_bias():
    """Dense applies its activation before adding the bias: relu(x W) + b.

    Breaks: CALL.MODEL_SEQUENTIAL (relu(x W1 + b1) W2 + b2) as soon as the bias is not zero.
    """
    _rewrite(R.layers.Dense, "call",
             ("outputs = ops.matmul(inputs, self.kernel)",
              "outputs = ACTIVATIONS[self.activation](ops.matmul(inputs, self.kernel))  # FAULT"),
             ("return ACTIVATIONS[self.activation](outputs)", "return outputs"))


@fault("INPUT.EACH_INPUT_CHECKED")
def only_last_input_checked():
    """Only the last input of a list is checked against its spec.

    Breaks: every input must be checked against its own spec (INPUT.EACH_INPUT_CHECKED).
    """
    _rewrite(R.input_spec, "assert_input_compatibility",
             ("for index, (x, spec) in enumerate(zip(tensors, specs)):",
              "for index, (x, spec) in list(enumerate(zip(tensors, specs)))[-1:]:  # FAULT"))


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
    _rewrite(R.layers.BatchNormalization, "call",
             ("outputs = (x_hat * b(gamma) + b(beta)).astype(x.dtype)",
              "outputs = x_hat.astype(x.dtype)  # FAULT"))
