"""DIFF: with identical weights and inputs, the backend agrees with the reference
implementation. Weights are copied from the backend's layers into the reference's."""

import numpy as np
import pytest
from hypothesis import given

from layercontract.spec.harness import clause, requires
from layercontract.suites import strategies
from layercontract.suites._helpers import close, copy_weights, tolerance

RNG = np.random.default_rng(2026)
X = RNG.standard_normal((16, 5)).astype("float32") * 2 + 0.5
Y = RNG.standard_normal((16, 1)).astype("float32")


def _pair(K, reference_K, backend, make, x):
    """The same architecture on the backend and on the reference, with the backend's weights."""
    ours, theirs = make(K), make(reference_K)
    ours(x)
    theirs(x)
    copy_weights(backend, ours, theirs)
    return ours, theirs


def _dense_bn_model(K):
    class DenseBN(K.Model):
        def __init__(self):
            super().__init__()
            self.dense = K.layers.Dense(4)
            self.bn = K.layers.BatchNormalization()
            self.drop = K.layers.Dropout(0.5, seed=3)
            self.out = K.layers.Dense(1)

        def call(self, x, training=None):
            h = self.bn(self.dense(x), training=training)
            return self.out(self.drop(h, training=training))

    return DenseBN()


@clause("DIFF.DENSE")
def test_dense_forward_agrees_with_reference(K, reference_K, backend):
    ours, theirs = _pair(K, reference_K, backend, lambda ns: ns.layers.Dense(3, activation="relu"), X)
    close(backend.to_numpy(ours(X)), theirs(X), **tolerance("DIFF.DENSE"))


@clause("DIFF.BATCHNORM")
@pytest.mark.parametrize("training", [True, False])
def test_batchnorm_output_agrees_with_reference(K, reference_K, backend, training):
    ours, theirs = _pair(K, reference_K, backend, lambda ns: ns.layers.BatchNormalization(), X)
    close(backend.to_numpy(ours(X, training=training)), theirs(X, training=training), **tolerance("DIFF.BATCHNORM"))


@clause("DIFF.MOVING_STATISTICS")
def test_moving_statistics_after_several_training_calls_agree_with_reference(K, reference_K, backend):
    ours, theirs = _pair(K, reference_K, backend, lambda ns: ns.layers.BatchNormalization(momentum=0.9), X)
    for step in range(5):
        x = X * (step + 1) + step
        ours(x, training=True)
        theirs(x, training=True)
    for mine, ref in zip(ours.weights, theirs.weights):
        close(backend.to_numpy(mine), ref.numpy(), **tolerance("DIFF.MOVING_STATISTICS"))


@clause("DIFF.CONCATENATE")
def test_concatenate_agrees_with_reference(K, reference_K, backend):
    parts = [X[:, :2], X[:, 2:]]
    # exact: concatenation moves values, it computes none
    np.testing.assert_array_equal(
        backend.to_numpy(K.layers.Concatenate()(parts)), reference_K.layers.Concatenate()(parts)
    )


@clause("DIFF.TUTORIAL_MODELS")
def test_dense_batchnorm_dropout_model_in_inference_agrees_with_reference(K, reference_K, backend):
    ours, theirs = _pair(K, reference_K, backend, _dense_bn_model, X)
    close(backend.to_numpy(ours(X, training=False)), theirs(X, training=False), **tolerance("DIFF.TUTORIAL_MODELS"))


@clause("DIFF.FIT_STEP")
@requires("fit")
def test_fit_with_sgd_agrees_with_reference(K, reference_K, backend):
    # Dense + BatchNormalization (no dropout: random streams differ by design), SGD, no shuffle,
    # two batches of 8: the weights after fit must agree.
    def make(ns):
        class DenseBN(ns.Model):
            def __init__(self):
                super().__init__()
                self.dense = ns.layers.Dense(4)
                self.bn = ns.layers.BatchNormalization()
                self.out = ns.layers.Dense(1)

            def call(self, x, training=None):
                return self.out(self.bn(self.dense(x), training=training))

        return DenseBN()

    ours, theirs = _pair(K, reference_K, backend, make, X)
    for model, ns in ((ours, K), (theirs, reference_K)):
        model.compile(optimizer=ns.optimizers.SGD(learning_rate=0.05), loss="mse")
        model.fit(X, Y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    for mine, ref in zip(ours.weights, theirs.weights):
        close(backend.to_numpy(mine), ref.numpy(), **tolerance("DIFF.FIT_STEP"), what=getattr(mine, "name", ""))


# ------------------------------------------------ generated cases (hypothesis, `ci` profile)
@clause("DIFF.DENSE")
@given(case=strategies.dense_layer_cases())
def test_dense_forward_agrees_with_reference_for_generated_parameters(K, reference_K, backend, case):
    x, n_units, activation = case
    ours = K.layers.Dense(n_units, activation=activation)
    theirs = reference_K.layers.Dense(n_units, activation=activation)
    out = backend.to_numpy(ours(x))
    theirs(x)
    copy_weights(backend, ours, theirs)
    close(out, theirs(x), **tolerance("DIFF.DENSE"))


def _batchnorm_pair(K, reference_K, backend, x, momentum, epsilon, weights):
    """A backend BatchNormalization with `weights` set, and the reference one with its weights."""
    ours = K.layers.BatchNormalization(momentum=momentum, epsilon=epsilon)
    theirs = reference_K.layers.BatchNormalization(momentum=momentum, epsilon=epsilon)
    ours(x)  # inference: builds, updates nothing
    theirs(x)
    ours.set_weights(weights)
    copy_weights(backend, ours, theirs)
    return ours, theirs


@clause("DIFF.BATCHNORM")
@given(case=strategies.batchnorm_cases(with_weights=True))
def test_batchnorm_agrees_with_reference_in_inference_then_training(K, reference_K, backend, case):
    x, momentum, epsilon, weights = case
    ours, theirs = _batchnorm_pair(K, reference_K, backend, x, momentum, epsilon, weights)
    for training in (False, True):
        close(
            backend.to_numpy(ours(x, training=training)),
            theirs(x, training=training),
            **tolerance("DIFF.BATCHNORM"),
            what=f"training={training}",
        )


@clause("DIFF.MOVING_STATISTICS")
@given(case=strategies.moving_statistics_cases())
def test_moving_statistics_after_k_training_calls_agree_with_reference(K, reference_K, backend, case):
    xs, momentum, epsilon, weights = case
    ours, theirs = _batchnorm_pair(K, reference_K, backend, xs[0], momentum, epsilon, weights)
    for x in xs:
        ours(x, training=True)
        theirs(x, training=True)
    names = ("gamma", "beta", "moving_mean", "moving_variance")
    for name, mine, ref in zip(names, ours.weights, theirs.weights):
        close(
            backend.to_numpy(mine),
            ref.numpy(),
            **tolerance("DIFF.MOVING_STATISTICS"),
            what=f"{name} after {len(xs)} training calls",
        )
