"""Faults of the Dropout area (suites/test_train_dropout.py)."""

from __future__ import annotations

from layercontract.reference_impl.faults._machinery import _K2_ONLY, NO_FAULT_APPLIES, R, _rewrite, fault


@fault("TRAIN.DROPOUT_SCALE")
def dropout_not_rescaled():
    """Dropout zeroes elements in training but does not scale the survivors by 1/(1-rate).

    Breaks: TRAIN.DROPOUT_SCALE (the expected activation shrinks by (1-rate) in training).
    """
    _rewrite(
        R.layers.Dropout, "call", ("scale = 0.0 if self.rate == 1 else 1.0 / (1.0 - self.rate)", "scale = 1.0  # FAULT")
    )


@fault("TRAIN.DROPOUT_INFERENCE_IDENTITY", "TRAIN.OMITTED_IS_NONE")
def dropout_none_means_training():
    """Dropout tests `training is False` instead of truthiness: None means training.

    Breaks: Dropout called with training None or omitted must be the identity
    (TRAIN.DROPOUT_INFERENCE_IDENTITY, TRAIN.OMITTED_IS_NONE).
    """
    _rewrite(
        R.layers.Dropout,
        "call",
        ("if not training or self.rate == 0:", "if training is False or self.rate == 0:  # FAULT"),
    )


@fault(
    "TRAIN.DROPOUT_INFERENCE_IDENTITY",
    "TRAIN.DROPOUT_SCALE",
    upstream="original (non-inverted) dropout, Srivastava et al. 2014: scale by the keep probability at test time",
)
def dropout_scaled_at_inference():
    """Non-inverted dropout: survivors are not scaled in training; inference multiplies by 1-rate.

    Breaks: Keras uses inverted dropout, identity at inference (TRAIN.DROPOUT_INFERENCE_IDENTITY)
    and survivors scaled by 1/(1-rate) in training (TRAIN.DROPOUT_SCALE).
    """
    _rewrite(
        R.layers.Dropout,
        "call",
        (
            "if not training or self.rate == 0:\n        return inputs",
            "if not training or self.rate == 0:  # FAULT: scale at inference\n"
            "        return ops.multiply(inputs, np.asarray(1.0 - self.rate, dtype=inputs.dtype))",
        ),
        ("scale = 0.0 if self.rate == 1 else 1.0 / (1.0 - self.rate)", "scale = 1.0  # FAULT"),
    )


@fault(
    "TRAIN.DROPOUT_RATE",
    "TRAIN.DROPOUT_RATE_ZERO",
    "TRAIN.DROPOUT_SCALE",
    upstream="TF 1.x tf.nn.dropout(x, keep_prob) vs Keras Dropout(rate)",
)
def dropout_rate_as_keep_probability():
    """Dropout reads `rate` as the keep probability (the TF 1.x `keep_prob` argument).

    Breaks: Dropout(0.1) drops 90% of the elements and scales survivors by 1/0.1
    (TRAIN.DROPOUT_RATE, TRAIN.DROPOUT_SCALE); Dropout(0.0) drops everything
    (TRAIN.DROPOUT_RATE_ZERO).
    """
    _rewrite(
        R.layers.Dropout,
        "call",
        ("if not training or self.rate == 0:", "if not training or self.rate == 1:  # FAULT"),
        (
            "keep = generator.random(inputs.shape) >= self.rate",
            "keep = generator.random(inputs.shape) < self.rate  # FAULT: rate kept",
        ),
        (
            "scale = 0.0 if self.rate == 1 else 1.0 / (1.0 - self.rate)",
            "scale = 0.0 if self.rate == 0 else 1.0 / self.rate  # FAULT",
        ),
    )


@fault("TRAIN.DROPOUT_FRESH_MASK", "TRAIN.DROPOUT_PER_POSITION_RATE", "TRAIN.DROPOUT_SEEDED")
def dropout_frozen_mask():
    """A seeded Dropout creates its generator from the seed inside `call`: the same mask every call.

    Breaks: each training call must draw a new mask (TRAIN.DROPOUT_FRESH_MASK).
    """
    _rewrite(
        R.layers.Dropout,
        "call",
        (
            "generator = self._generator or random.global_generator()",
            "generator = np.random.default_rng(self.seed) if self.seed is not None "
            "else random.global_generator()  # FAULT",
        ),
    )


@fault("TRAIN.DROPOUT_INVALID_RATE")
def dropout_accepts_invalid_rate():
    """Dropout does not validate `rate` at construction.

    Breaks: rates outside [0, 1] must raise ValueError at construction
    (TRAIN.DROPOUT_INVALID_RATE); rate=1.5 would silently drop everything later.
    """
    _rewrite(R.layers.Dropout, "__init__", ("if not 0 <= rate <= 1:", "if False:  # FAULT"))


@fault("TRAIN.DROPOUT_SEED_ALONE.K3", "TRAIN.DROPOUT_SEEDED")
def dropout_seed_ignored():
    """Dropout(seed=s) ignores its seed and draws from the global generator.

    Breaks: in Keras 3 a seeded Dropout's masks depend on its seed alone
    (TRAIN.DROPOUT_SEED_ALONE.K3), and two layers with the same seed give the same masks
    (TRAIN.DROPOUT_SEEDED).
    """
    _rewrite(
        R.layers.Dropout,
        "__init__",
        ("self._generator = None if seed is None else np.random.default_rng(seed)", "self._generator = None  # FAULT"),
    )


@fault("TRAIN.DROPOUT_RATE", "TRAIN.DROPOUT_FRESH_MASK", "TRAIN.DROPOUT_GLOBAL_SEED")
def dropout_mask_shared_across_batch():
    """Dropout draws one mask for the feature axes and broadcasts it over the batch.

    A `noise_shape=(1, features)` default. Breaks: elements must be dropped independently
    (TRAIN.DROPOUT_RATE); the zero count and the changed-mask count become 200 times a
    Binomial(100, p), far more spread than Binomial(20000, p) (TRAIN.DROPOUT_FRESH_MASK).
    """
    _rewrite(
        R.layers.Dropout,
        "call",
        (
            "keep = generator.random(inputs.shape) >= self.rate",
            "keep = generator.random((1, *inputs.shape[1:])) >= self.rate  # FAULT",
        ),
    )


@fault("TRAIN.DROPOUT_RATE_ONE.K3")
def dropout_rate_one_divides_by_zero():
    """Dropout scales kept elements by 1/(1-rate) without guarding rate 1: 0 * inf gives NaN.

    Breaks: Keras 3 Dropout(1.0) in training returns zeros (TRAIN.DROPOUT_RATE_ONE.K3).
    """
    _rewrite(
        R.layers.Dropout,
        "call",
        (
            "scale = 0.0 if self.rate == 1 else 1.0 / (1.0 - self.rate)",
            "scale = np.float32(1.0) / np.float32(1.0 - self.rate)  # FAULT",
        ),
    )


NO_FAULT_APPLIES["TRAIN.DROPOUT_RATE_ONE.K2"] = _K2_ONLY
