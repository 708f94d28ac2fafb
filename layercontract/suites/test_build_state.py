"""BUILD (state after build): new variables and sub-layers once a layer is built."""

import re

import numpy as np
import pytest

from layercontract.spec.harness import clause
from layercontract.suites._helpers import own_message

X = np.ones((2, 3), dtype="float32")


def _adds_weight_in_call(K, every_call):
    class AddsWeightInCall(K.Layer):
        """Creates a weight inside `call`: once (guarded by hasattr) or on every call."""

        def call(self, x):
            if every_call:  # not kept in an attribute: each call's weight is a new one
                return x * self.add_weight(shape=(3,), initializer="ones", name=f"w{len(self.weights)}")
            if not hasattr(self, "w"):
                self.w = self.add_weight(shape=(3,), initializer="ones", name="w")
            return x * self.w

    return AddsWeightInCall()


def _composite(K):
    class Composite(K.Layer):
        """Holds one Dense; uses `extra` too once it is assigned."""

        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.inner = K.layers.Dense(2)

        def call(self, x):
            x = self.inner(x)
            extra = getattr(self, "extra", None)
            return x if extra is None else extra(x)

    return Composite()


def _assert_already_built_error(info):
    # The clause asks for a message saying the layer is already built, in any wording ("already
    # built", "has been built"); the message without a call wrapper's frame (own_message).
    message = own_message(info.value)
    assert re.search(r"\b(?:already|been)\s+built\b", message, re.IGNORECASE), message


# ---------------------------------------------------------------- Keras 3: locked
@clause("BUILD.STATE_LOCKED_AFTER_BUILD.K3")
def test_add_weight_inside_call_raises_keras3(K):
    layer = _adds_weight_in_call(K, every_call=False)
    with pytest.raises(ValueError) as info:
        layer(X)
    _assert_already_built_error(info)
    assert layer.built and len(layer.weights) == 0


@clause("BUILD.STATE_LOCKED_AFTER_BUILD.K3")
def test_add_weight_on_a_built_layer_raises_keras3(K):
    dense = K.layers.Dense(2)
    dense(X)
    with pytest.raises(ValueError) as info:
        dense.add_weight(shape=(2,), initializer="zeros", name="late")
    _assert_already_built_error(info)
    assert len(dense.weights) == 2


@clause("BUILD.STATE_LOCKED_AFTER_BUILD.K3")
@pytest.mark.parametrize("kind", ["layer", "model"])
def test_sublayer_assigned_after_build_raises_keras3(K, kind):
    owner = _composite(K) if kind == "layer" else _composite_model(K)
    owner(X)
    with pytest.raises(ValueError) as info:
        owner.extra = K.layers.Dense(2)
    _assert_already_built_error(info)
    owner(X)
    assert len(owner.weights) == 2


def _composite_model(K):
    class CompositeModel(K.Model):
        def __init__(self):
            super().__init__()
            self.inner = K.layers.Dense(2)

        def call(self, x):
            x = self.inner(x)
            extra = getattr(self, "extra", None)
            return x if extra is None else extra(x)

    return CompositeModel()


# ---------------------------------------------------------------- tf-keras: tracked
@clause("BUILD.STATE_AFTER_BUILD_TRACKED.K2")
def test_add_weight_in_every_call_creates_a_weight_per_call_keras2(K):
    layer = _adds_weight_in_call(K, every_call=True)
    counts = []
    for _ in range(3):
        layer(X)
        counts.append(len(layer.weights))
    assert counts == [1, 2, 3], counts


@clause("BUILD.STATE_AFTER_BUILD_TRACKED.K2")
def test_add_weight_on_a_built_layer_is_tracked_keras2(K):
    dense = K.layers.Dense(2)
    dense(X)
    late = dense.add_weight(shape=(2,), initializer="zeros", name="late")
    assert len(dense.weights) == 3 and any(w is late for w in dense.weights)


@clause("BUILD.STATE_AFTER_BUILD_TRACKED.K2")
@pytest.mark.parametrize("kind", ["layer", "model"])
def test_sublayer_assigned_after_build_is_tracked_keras2(K, kind):
    owner = _composite(K) if kind == "layer" else _composite_model(K)
    owner(X)
    owner.extra = K.layers.Dense(2)
    owner(X)
    assert len(owner.weights) == 4 and owner.extra.built
