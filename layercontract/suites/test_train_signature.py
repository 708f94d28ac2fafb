"""TRAIN (signature defaults): a layer's own `call(..., training=<default>)` against what the
outer call gives."""

import numpy as np
import pytest

from layercontract.spec.harness import clause

X = np.ones((2, 3), dtype="float32")


def _recorder_with_default(K, backend, default):
    class WithDefault(K.Layer):
        """Identity layer whose `call` declares `training=<default>`; records each eager call."""

        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.seen = []

        if default is True:

            def call(self, x, training=True):
                return self._record(x, training)
        elif default is False:

            def call(self, x, training=False):
                return self._record(x, training)
        else:

            def call(self, x, training=None):
                return self._record(x, training)

        def _record(self, x, training):
            if not backend.is_symbolic(x):
                self.seen.append(training)
            return x

    return WithDefault()


def _outer(K, *children):
    class Outer(K.Layer):
        """No `training` parameter: calls its children in order, none with `training`."""

        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.children = list(children)

        def build(self, input_shape):
            pass  # nothing to build: no symbolic trace of `call` on the first call

        def call(self, x):
            for child in self.children:
                x = child(x)
            return x

    return Outer()


GIVEN = {"omitted": {}, "true": {"training": True}, "false": {"training": False}}


@clause("TRAIN.SIGNATURE_DEFAULT")
@pytest.mark.parametrize("given", sorted(GIVEN))
@pytest.mark.parametrize("default", [True, False], ids=["default-true", "default-false"])
@pytest.mark.parametrize("placement", ["alone", "nested"])
def test_layer_receives_its_signature_default_unless_a_value_is_given(K, backend, placement, default, given):
    layer = _recorder_with_default(K, backend, default)
    target = layer if placement == "alone" else _outer(K, layer)
    target(X, **GIVEN[given])
    expected = GIVEN[given].get("training", default)
    # The last value: Keras 3 may run a composite layer's first call twice (CALL.INVOKES_CALL).
    assert layer.seen and layer.seen[-1] is expected, f"received {layer.seen}, expected {expected} last"


@clause("TRAIN.SIGNATURE_DEFAULT_LOCAL")
@pytest.mark.parametrize(
    "first,second",
    [(True, None), (False, None), (True, False), (False, True)],
    ids=["true-then-none", "false-then-none", "true-then-false", "false-then-true"],
)
def test_signature_default_does_not_reach_later_siblings(K, backend, first, second):
    a = _recorder_with_default(K, backend, first)
    b = _recorder_with_default(K, backend, second)
    _outer(K, a, b)(X)
    assert (a.seen[-1], b.seen[-1]) == (first, second), (
        f"siblings with defaults {first}, {second} received {a.seen}, {b.seen}"
    )


@clause("TRAIN.SIGNATURE_DEFAULT", "TRAIN.PROPAGATES_TO_NESTED")
@pytest.mark.parametrize("given", [True, False])
def test_outer_value_overrides_every_siblings_default(K, backend, given):
    a = _recorder_with_default(K, backend, not given)
    b = _recorder_with_default(K, backend, None)
    _outer(K, a, b)(X, training=given)
    assert (a.seen[-1], b.seen[-1]) == (given, given), (a.seen, b.seen)
