"""TRAIN (propagation): how a `training` value reaches nested layers."""

import numpy as np
import pytest

from layercontract.spec.harness import clause
from layercontract.suites._helpers import close, recorder_class, tolerance

X = np.ones((2, 3), dtype="float32")


def _nested(K, backend):
    """outer (no `training` parameter) -> middle (no parameter) -> leaf recorder, plus a direct leaf."""
    Recorder = recorder_class(K, backend)

    class Middle(K.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.leaf = Recorder()

        def call(self, x):
            return self.leaf(x)

    class Outer(K.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.direct = Recorder()
            self.middle = Middle()

        def call(self, x):
            return self.middle(self.direct(x))

    return Outer()


@clause("TRAIN.PROPAGATES_TO_NESTED")
@pytest.mark.parametrize("training", [True, False])
def test_training_given_to_outer_layer_reaches_nested_layers_at_any_depth(K, backend, training):
    outer = _nested(K, backend)
    outer(X, training=training)
    assert outer.direct.seen[-1] is training, (
        f"the direct child received training={outer.direct.seen[-1]!r} from outer(x, training={training})"
    )
    assert outer.middle.leaf.seen[-1] is training, (
        f"the grandchild received training={outer.middle.leaf.seen[-1]!r} from outer(x, training={training})"
    )


@clause("TRAIN.PROPAGATES_TO_NESTED")
@pytest.mark.parametrize("training", [True, False])
def test_training_given_to_a_model_reaches_its_layers(K, backend, training):
    Recorder = recorder_class(K, backend)

    class Plain(K.Model):
        def __init__(self):
            super().__init__()
            self.rec = Recorder()

        def call(self, x):
            return self.rec(x)

    model = Plain()
    model(X, training=training)
    assert model.rec.seen[-1] is training, (
        f"the model's layer received training={model.rec.seen[-1]!r} from model(x, training={training})"
    )


@clause("TRAIN.OMITTED_IS_NONE")
def test_omitted_training_reaches_nested_layers_as_none(K, backend):
    outer = _nested(K, backend)
    outer(X, training=True)  # a value left over from an earlier call must not leak into the next
    outer(X)
    assert outer.direct.seen[-1] is None
    assert outer.middle.leaf.seen[-1] is None


@clause("TRAIN.OMITTED_IS_NONE")
def test_omitted_training_makes_nested_dropout_and_batchnorm_infer(K, backend):
    class Block(K.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.bn = K.layers.BatchNormalization()
            self.drop = K.layers.Dropout(0.5, seed=3)

        def call(self, x):
            return self.drop(self.bn(x))

    block = Block()
    x = np.random.default_rng(0).standard_normal((8, 3)).astype("float32")
    y = backend.to_numpy(block(x))
    np.testing.assert_array_equal(backend.to_numpy(block.bn.moving_mean), 0)
    close(y, x / np.sqrt(1 + 1e-3), **tolerance("TRAIN.OMITTED_IS_NONE"))


def _siblings(K, backend):
    Recorder = recorder_class(K, backend)

    class Outer(K.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.before, self.pinned, self.after = Recorder(), Recorder(), Recorder()

        def call(self, x):
            x = self.before(x)
            x = self.pinned(x, training=False)
            return self.after(x)

    return Outer()


@clause("TRAIN.INNER_EXPLICIT_WINS")
def test_explicit_training_on_an_inner_call_wins_over_the_outer_value(K, backend):
    outer = _siblings(K, backend)
    outer(X, training=True)
    assert outer.before.seen[-1] is True, (
        f"the child before the pinned one received training={outer.before.seen[-1]!r} from outer(x, training=True)"
    )
    assert outer.pinned.seen[-1] is False, (
        f"the child called with training=False received training={outer.pinned.seen[-1]!r}"
    )


@clause("TRAIN.INNER_EXPLICIT_SCOPE.K3")
def test_explicit_inner_training_is_inherited_by_later_siblings_in_keras3(K, backend):
    outer = _siblings(K, backend)
    outer(X, training=True)
    assert outer.after.seen[-1] is False


@clause("TRAIN.INNER_EXPLICIT_SCOPE.K2")
def test_explicit_inner_training_does_not_reach_later_siblings_in_keras2(K, backend):
    outer = _siblings(K, backend)
    outer(X, training=True)
    assert outer.after.seen[-1] is True
