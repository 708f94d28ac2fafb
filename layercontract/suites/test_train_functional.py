"""TRAIN (functional graphs): a `training=` given at functional construction, against the value the
outer call brings (Monte-Carlo dropout, frozen BatchNormalization, transfer learning)."""

import numpy as np
import pytest

from layercontract.spec.harness import clause, requires
from layercontract.suites._helpers import assert_binomial, close, recorder_class, tolerance

ONES = np.ones((200, 100), dtype="float32")  # 20000 strictly positive elements
SHIFTED = (np.random.default_rng(0).standard_normal((16, 3)) + 3.0).astype("float32")  # batch mean ~3


def _compiled(K, model):
    model.compile(optimizer=K.optimizers.SGD(learning_rate=0.0), loss="mse")
    return model


# ---------------------------------------------------------------- pinned Dropout (MC dropout)
def _mc_dropout(K):
    inputs = K.Input((100,))
    return _compiled(K, K.Model(inputs, K.layers.Dropout(0.5)(inputs, training=True)))


DROPOUT_OUTPUTS = {
    "call-omitted": lambda m, x: m(x),
    "call-false": lambda m, x: m(x, training=False),
}
DROPOUT_OUTPUTS_INFERENCE = {
    "predict": lambda m, x: m.predict(x, verbose=0),
    "predict_on_batch": lambda m, x: m.predict_on_batch(x),
}
DROPOUT_LOSSES_INFERENCE = {
    "evaluate": lambda m, x: m.evaluate(x, np.ones_like(x), verbose=0),
    "test_on_batch": lambda m, x: m.test_on_batch(x, np.ones_like(x)),
}


def _assert_dropout_active(backend, out):
    zeros = int(np.sum(backend.to_numpy(out) == 0))
    assert_binomial(zeros, ONES.size, 0.5, "zeros of Dropout(0.5)(x, training=True) at construction")


@clause("TRAIN.FUNCTIONAL_PINNED_WINS")
@requires("functional")
@pytest.mark.parametrize("how", sorted(DROPOUT_OUTPUTS))
def test_dropout_pinned_to_training_at_construction_stays_active_when_called(K, backend, how):
    backend.set_seed(3)
    _assert_dropout_active(backend, DROPOUT_OUTPUTS[how](_mc_dropout(K), ONES))


@clause("TRAIN.FUNCTIONAL_PINNED_WINS")
@requires("functional", "inference")
@pytest.mark.parametrize("how", sorted(DROPOUT_OUTPUTS_INFERENCE))
def test_dropout_pinned_to_training_at_construction_stays_active_in_predict(K, backend, how):
    backend.set_seed(3)
    _assert_dropout_active(backend, DROPOUT_OUTPUTS_INFERENCE[how](_mc_dropout(K), ONES))


@clause("TRAIN.FUNCTIONAL_PINNED_WINS")
@requires("functional", "inference")
@pytest.mark.parametrize("how", sorted(DROPOUT_LOSSES_INFERENCE))
def test_dropout_pinned_to_training_at_construction_stays_active_in_evaluate(K, backend, how):
    # Dropout(0.5) of ones gives 0 or 2, so its mse against ones is exactly 1; inactive gives 0.
    loss = DROPOUT_LOSSES_INFERENCE[how](_mc_dropout(K), ONES)
    loss = float(np.ravel(loss)[0]) if np.ndim(loss) else float(loss)
    close(
        loss,
        1.0,
        **tolerance("TRAIN.FUNCTIONAL_PINNED_WINS"),
        what="mse against ones (0 means the pinned Dropout did not run)",
    )


# ---------------------------------------------------------------- pinned BatchNormalization
def _pinned_bn(K, training):
    inputs = K.Input((3,))
    bn = K.layers.BatchNormalization()
    model = _compiled(K, K.Model(inputs, bn(inputs, training=training)))
    return model, bn


def _moving_mean(backend, bn):
    return backend.to_numpy(bn.moving_mean)


def _assert_not_trained(backend, bn):
    np.testing.assert_array_equal(_moving_mean(backend, bn), 0, err_msg="moving mean updated")


def _assert_trained(backend, bn):
    assert np.all(_moving_mean(backend, bn) > 0.01), f"moving mean not updated: {_moving_mean(backend, bn)}"


@clause("TRAIN.FUNCTIONAL_PINNED_WINS")
@requires("functional")
def test_batchnorm_pinned_to_inference_at_construction_ignores_training_true(K, backend):
    model, bn = _pinned_bn(K, False)
    out = backend.to_numpy(model(SHIFTED, training=True))
    _assert_not_trained(backend, bn)
    close(
        out,
        SHIFTED / np.sqrt(1 + 1e-3),
        **tolerance("TRAIN.FUNCTIONAL_PINNED_WINS"),
        what="output not normalized with the moving statistics",
    )


FIT_RUNS = {
    "fit": lambda m, x, y: m.fit(x, y, batch_size=len(x), epochs=1, shuffle=False, verbose=0),
    "train_on_batch": lambda m, x, y: m.train_on_batch(x, y),
}


@clause("TRAIN.FUNCTIONAL_PINNED_WINS")
@requires("functional", "fit")
@pytest.mark.parametrize("method", sorted(FIT_RUNS))
def test_batchnorm_pinned_to_inference_at_construction_does_not_train_under_fit(K, backend, method):
    model, bn = _pinned_bn(K, False)
    FIT_RUNS[method](model, SHIFTED, SHIFTED)
    _assert_not_trained(backend, bn)


@clause("TRAIN.FUNCTIONAL_PINNED_WINS")
@requires("functional")
def test_batchnorm_pinned_to_training_at_construction_trains_when_called_with_false(K, backend):
    model, bn = _pinned_bn(K, True)
    model(SHIFTED, training=False)
    _assert_trained(backend, bn)


@clause("TRAIN.FUNCTIONAL_PINNED_WINS")
@requires("functional", "inference")
def test_batchnorm_pinned_to_training_at_construction_trains_in_predict(K, backend):
    model, bn = _pinned_bn(K, True)
    model.predict(SHIFTED, batch_size=len(SHIFTED), verbose=0)
    _assert_trained(backend, bn)


# ---------------------------------------------------------------- the pinned value stays local
def _mc_dropout_then_bn(K):
    inputs = K.Input((3,))
    bn = K.layers.BatchNormalization()
    outputs = bn(K.layers.Dropout(0.5)(inputs, training=True))
    return _compiled(K, K.Model(inputs, outputs)), bn


LOCAL_RUNS = {
    "call-omitted": lambda m: m(SHIFTED),
    "call-false": lambda m: m(SHIFTED, training=False),
}


@clause("TRAIN.FUNCTIONAL_PINNED_IS_LOCAL")
@requires("functional")
@pytest.mark.parametrize("how", sorted(LOCAL_RUNS))
def test_pinned_training_does_not_reach_downstream_batchnorm(K, backend, how):
    model, bn = _mc_dropout_then_bn(K)
    LOCAL_RUNS[how](model)
    _assert_not_trained(backend, bn)


@clause("TRAIN.FUNCTIONAL_PINNED_IS_LOCAL", "TRAIN.INFERENCE_METHODS")
@requires("functional", "inference")
@pytest.mark.parametrize("method", ["predict", "evaluate"])
def test_pinned_training_does_not_make_predict_train_downstream_batchnorm(K, backend, method):
    model, bn = _mc_dropout_then_bn(K)
    if method == "predict":
        model.predict(SHIFTED, verbose=0)
    else:
        model.evaluate(SHIFTED, SHIFTED, verbose=0)
    _assert_not_trained(backend, bn)


# ---------------------------------------------------------------- transfer learning
def _base(K):
    inputs = K.Input((3,))
    bn = K.layers.BatchNormalization()
    return K.Model(inputs, bn(K.layers.Dense(3)(inputs))), bn


def _transfer(K, backend, base_training=False, trainable=True, head_dropout=False):
    """inputs -> base(inputs, training=base_training) -> head recorder [-> Dropout(0.5)] -> Dense(1)."""
    base, bn = _base(K)
    base.trainable = trainable
    inputs = K.Input((3,))
    x = base(inputs) if base_training == "omitted" else base(inputs, training=base_training)
    head = recorder_class(K, backend)()
    x = head(x)
    if head_dropout:
        x = K.layers.Dropout(0.5)(x)
    else:
        x = K.layers.Dense(1)(x)
    return _compiled(K, K.Model(inputs, x)), bn, head


@clause("TRAIN.TRANSFER_BASE_INFERENCE")
@requires("functional")
def test_base_called_with_training_false_keeps_batchnorm_in_inference_when_called_with_true(K, backend):
    model, bn, _head = _transfer(K, backend)
    model(SHIFTED, training=True)
    _assert_not_trained(backend, bn)


@clause("TRAIN.TRANSFER_BASE_INFERENCE")
@requires("functional", "fit")
@pytest.mark.parametrize("method", sorted(FIT_RUNS))
def test_base_called_with_training_false_keeps_batchnorm_in_inference_under_fit(K, backend, method):
    model, bn, _head = _transfer(K, backend)
    FIT_RUNS[method](model, SHIFTED, np.zeros((len(SHIFTED), 1), "float32"))
    _assert_not_trained(backend, bn)


@clause("TRAIN.TRANSFER_HEAD_TRAINS")
@requires("functional")
def test_head_after_base_called_with_training_false_trains_when_called_with_true(K, backend):
    backend.set_seed(4)
    model, _bn, head = _transfer(K, backend, head_dropout=True)
    x = np.random.default_rng(1).standard_normal((5000, 3)).astype("float32") + 3.0
    out = backend.to_numpy(model(x, training=True))
    assert head.seen[-1] is True, f"head layer saw {head.seen}"
    assert_binomial(int(np.sum(out == 0)), out.size, 0.5, "zeros of the head Dropout(0.5)")


@clause("TRAIN.TRANSFER_HEAD_TRAINS")
@requires("functional", "fit")
@pytest.mark.parametrize("method", sorted(FIT_RUNS))
def test_head_after_base_called_with_training_false_trains_under_fit(K, backend, method):
    model, _bn, head = _transfer(K, backend)
    FIT_RUNS[method](model, SHIFTED, np.zeros((len(SHIFTED), 1), "float32"))
    # Build and tracing passes may record other values first (SYMBOLIC.CALL_RUNS_ON_INPUT).
    assert True in head.seen, f"the head layer never ran in training mode under {method}: {head.seen}"


@clause("TRAIN.TRANSFER_FROZEN_BASE")
@requires("functional", "fit")
@pytest.mark.parametrize("base_training", ["omitted", False, True], ids=["omitted", "false", "true"])
def test_frozen_base_has_no_trainable_weights_and_does_not_train_under_fit(K, backend, base_training):
    model, bn, _head = _transfer(K, backend, base_training=base_training, trainable=False)
    assert len(model.trainable_weights) == 2, [w.name for w in model.trainable_weights]
    model.fit(
        SHIFTED, np.zeros((len(SHIFTED), 1), "float32"), batch_size=len(SHIFTED), epochs=1, shuffle=False, verbose=0
    )
    _assert_not_trained(backend, bn)
