"""BUILD under call sequences: a hypothesis state machine drives one layer through random
sequences of valid calls (varying batch sizes and `training` values), an explicit build,
symbolic calls (backends with capability "symbolic") and calls its InputSpec rejects, and
checks the build-once and input-compatibility invariants after every step.

The machine class is built inside the test (a closure over the `K` and `backend` fixtures)
and run with `run_state_machine_as_test`: the active profile's max_examples, a short
sequence of steps (STEPS)."""

import numpy as np
import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from layercontract.spec.harness import clause
from layercontract.suites import strategies
from layercontract.suites._helpers import close, shape_tuple, tolerance

STEPS = 10  # steps per generated sequence; max_examples comes from the profile


def _counting_dense_class(K):
    class CountingDense(K.Layer):
        """The tutorial SimpleDense, plus what the machine observes: it counts its builds, sets
        an InputSpec (rank 2, float32) in __init__ and pins the last axis in build, and keeps a
        non-trainable running mean of its inputs that only training calls update.

        build() ends with super().build(input_shape), so an explicit build marks the layer
        built on both editions (BUILD.EXPLICIT_BUILD_WITH_SUPER)."""

        def __init__(self, units, momentum, **kwargs):
            super().__init__(**kwargs)
            self.units = units
            self.momentum = momentum
            self.builds = 0
            self.calls = 0  # every run of call(), symbolic traces included
            self.input_spec = K.InputSpec(ndim=2, dtype="float32")

        def build(self, input_shape):
            self.builds += 1
            features = int(input_shape[-1])
            self.w = self.add_weight(shape=(features, self.units), initializer="random_normal", name="w")
            self.b = self.add_weight(shape=(self.units,), initializer="random_normal", name="b")
            self.running = self.add_weight(shape=(1, features), initializer="zeros", trainable=False, name="running")
            self.input_spec = K.InputSpec(ndim=2, dtype="float32", axes={-1: features})
            super().build(input_shape)

        def call(self, x, training=None):
            self.calls += 1
            batch = x.shape[0]
            if training and isinstance(batch, int):  # symbolic tensors may have no concrete batch size
                mean = K.ops.matmul(np.full((1, batch), 1.0 / batch, dtype="float32"), x)  # (1, features)
                self.running.assign(
                    K.ops.add(K.ops.multiply(self.running, self.momentum), K.ops.multiply(mean, 1.0 - self.momentum))
                )
            return K.ops.add(K.ops.matmul(x, self.w), self.b)

    return CountingDense


@clause("BUILD.EXPLICIT_BUILD_WITH_SUPER")
@pytest.mark.parametrize("batch", [None, 4])
def test_explicit_build_that_calls_super_build_marks_built_and_the_first_call_keeps_weights(K, backend, batch):
    layer = _counting_dense_class(K)(2, 0.9)
    layer.build((batch, 3))
    assert layer.built
    weights = list(layer.weights)
    values = [backend.to_numpy(w).copy() for w in weights]
    layer(np.ones((5, 3), dtype="float32"))
    assert layer.builds == 1
    assert len(layer.weights) == len(weights) and all(a is b for a, b in zip(layer.weights, weights))
    for w, v in zip(layer.weights, values):
        np.testing.assert_array_equal(backend.to_numpy(w), v)


TRAINING = st.sampled_from(["omitted", None, False, True])


def _call(layer, x, training):
    return layer(x) if training == "omitted" else layer(x, training=training)


@clause("BUILD.CALL_SEQUENCES")
# keras-numpy traces a symbolic call by running call() on uninitialised placeholder arrays
# (batch sizes 83 and 89); their matmul may see NaNs. Nothing of it reaches the layer.
@pytest.mark.filterwarnings("ignore:invalid value encountered in matmul:RuntimeWarning")
def test_build_once_and_input_compatibility_hold_over_generated_call_sequences(K, backend):
    CountingDense = _counting_dense_class(K)
    symbolic = "symbolic" in backend.capabilities
    tol = tolerance("BUILD.CALL_SEQUENCES")

    class BuildOnceMachine(RuleBasedStateMachine):
        """Model: the feature size the layer is built for, the weight objects and the values
        recorded when it built, and the running mean the training calls so far imply."""

        @initialize(
            features=strategies.feature_sizes, units=strategies.units, momentum=st.sampled_from([0.0, 0.5, 0.9])
        )
        def make_layer(self, features, units, momentum):
            self.features, self.units, self.momentum = features, units, momentum
            self.layer = CountingDense(units, momentum)
            self.weights = None  # weight objects, recorded when the layer builds
            self.kernel = self.bias = None
            self.running = np.zeros((1, features))

        def _note_build(self):
            if self.weights is None and self.layer.builds:
                self.weights = list(self.layer.weights)
                self.kernel, self.bias = (backend.to_numpy(w).copy() for w in (self.layer.w, self.layer.b))

        def _x(self, data, batch, features=None):
            shape = (batch, self.features if features is None else features)
            return data.draw(strategies.float_arrays(shape, label="x"), label="x")

        # ------------------------------------------------------------ valid steps
        def _valid_call(self, data, batch, training):
            x = self._x(data, batch)
            y = backend.to_numpy(_call(self.layer, x, training))
            self._note_build()
            assert y.shape == (batch, self.units)
            close(y, x.astype("float64") @ self.kernel + self.bias, **tol, what="output against x @ w + b")
            return x

        @rule(batch=strategies.batch_sizes, training=st.sampled_from(["omitted", None, False]), data=st.data())
        def call(self, batch, training, data):
            self._valid_call(data, batch, training)

        @rule(batch=strategies.batch_sizes, data=st.data())
        def call_training(self, batch, data):
            x = self._valid_call(data, batch, True)
            self.running = self.momentum * self.running + (1 - self.momentum) * x.mean(0, keepdims=True)

        @precondition(lambda self: not self.layer.built)
        @rule(batch=st.one_of(st.none(), strategies.batch_sizes))
        def build(self, batch):
            self.layer.build((batch, self.features))
            assert self.layer.built
            self._note_build()

        @precondition(lambda self: symbolic)
        @rule(training=TRAINING)
        def call_symbolic(self, training):
            y = _call(self.layer, K.Input(shape=(self.features,)), training)
            self._note_build()
            assert backend.is_symbolic(y)
            assert shape_tuple(y.shape) == (None, self.units)

        # --------------------------------------------------------- rejected steps
        def _rejected(self, inputs):
            calls = self.layer.calls
            with pytest.raises(ValueError):
                self.layer(inputs)
            assert self.layer.calls == calls, "the InputSpec check must reject the input before call()"

        @precondition(lambda self: self.layer.built)
        @rule(batch=strategies.batch_sizes, data=st.data())
        def reject_wrong_last_axis(self, batch, data):
            features = data.draw(
                strategies.feature_sizes.filter(lambda f: f != self.features), label="wrong feature size"
            )
            self._rejected(self._x(data, batch, features))

        @rule(batch=strategies.batch_sizes, rank=st.sampled_from([1, 3]))
        def reject_wrong_rank(self, batch, rank):
            shape = (self.features,) if rank == 1 else (batch, 2, self.features)
            self._rejected(np.ones(shape, dtype="float32"))

        @rule(batch=strategies.batch_sizes, dtype=st.sampled_from(strategies.REJECTED_DTYPES["float32"]))
        def reject_wrong_dtype(self, batch, dtype):
            self._rejected(np.ones((batch, self.features), dtype=dtype))

        @rule(batch=strategies.batch_sizes, count=st.integers(2, 3))
        def reject_wrong_number_of_inputs(self, batch, count):
            self._rejected([np.ones((batch, self.features), dtype="float32") for _ in range(count)])

        # ------------------------------------------------------------- invariants
        @invariant()
        def built_at_most_once_and_built_flag_consistent(self):
            assert self.layer.builds <= 1, f"built {self.layer.builds} times"
            assert bool(self.layer.built) == (self.layer.builds == 1)
            if not self.layer.built:
                assert list(self.layer.weights) == []

        @invariant()
        def weights_keep_identity_and_only_training_changes_values(self):
            if self.weights is None:
                return
            current = list(self.layer.weights)
            assert len(current) == len(self.weights) and all(a is b for a, b in zip(current, self.weights))
            np.testing.assert_array_equal(backend.to_numpy(self.layer.w), self.kernel)
            np.testing.assert_array_equal(backend.to_numpy(self.layer.b), self.bias)
            close(backend.to_numpy(self.layer.running), self.running, **tol, what="running mean")

    run_state_machine_as_test(BuildOnceMachine, settings=settings(stateful_step_count=STEPS))
