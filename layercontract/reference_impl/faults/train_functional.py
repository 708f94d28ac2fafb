"""Faults of the Functional area (suites/test_train_functional.py): construction-time `training`,
transfer learning."""

from __future__ import annotations

import inspect

from layercontract.reference_impl.faults._machinery import R, _rewrite, _set, fault


@fault(
    "TRAIN.FUNCTIONAL_PINNED_WINS",
    "TRAIN.TRANSFER_BASE_INFERENCE",
    upstream="keras 3.15.1 Functional re-injects the outer value into each op; fixed by keras-team/keras#23364",
)
def outer_training_overrides_pinned():
    """A functional model uses a node's construction-time `training` only when the outer value is None.

    The Keras 3.15.1 behaviour. Breaks: MC dropout under predict and `base(x, training=False)`
    under fit (TRAIN.FUNCTIONAL_PINNED_WINS, TRAIN.TRANSFER_BASE_INFERENCE).
    """
    _rewrite(R.model.Model, "_run_graph", ("**node.pinned,", "**(node.pinned if training is None else {}),  # FAULT"))


@fault(
    "TRAIN.FUNCTIONAL_PINNED_IS_LOCAL",
    "TRAIN.TRANSFER_HEAD_TRAINS",
    upstream="keras-nightly 3.16.0.dev: #23364 removed Functional's per-op re-injection",
)
def pinned_training_leaks_downstream():
    """A functional model does not reset the call context before each node.

    A construction-time value, written to the shared context, then reaches every later node.
    Breaks: predict must not train a BatchNormalization after an MC Dropout
    (TRAIN.FUNCTIONAL_PINNED_IS_LOCAL) and the head after `base(x, training=False)` must train
    (TRAIN.TRANSFER_HEAD_TRAINS).
    """
    _rewrite(
        R.model.Model, "_run_graph", ("        ctx.training = training\n        outputs", "        outputs")
    )  # FAULT: no reset


@fault("TRAIN.TRANSFER_FROZEN_BASE")
def trainable_not_propagated_to_sublayers():
    """Setting `trainable` on a layer or model leaves its sub-layers' own flags unchanged.

    Breaks: a frozen base model's BatchNormalization must run in inference under fit
    (TRAIN.TRANSFER_FROZEN_BASE).
    """
    current = inspect.getattr_static(R.layer.Layer, "trainable")

    def fset(self, value):
        self._trainable = bool(value)  # FAULT: sub-layers keep their flag

    _set(R.layer.Layer, "trainable", property(current.fget, fset, None, current.__doc__))
