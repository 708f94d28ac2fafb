"""Faults of the DTYPE area (suites/test_dtype.py)."""

from __future__ import annotations

from layercontract.reference_impl.faults._machinery import R, _rewrite, fault


@fault(
    "DTYPE.LAYER_DTYPE_HONOURED",
    "DTYPE.UNHONOURED_DTYPE_SAYS_SO",
    upstream="keras-numpy: Variable initialisation converts float64 to float32 (result_type)",
)
def variables_always_float32():
    """A variable holds float32 whatever dtype it was created with.

    Breaks: a float64 layer holds float32 weights behind its float64 policy
    (DTYPE.LAYER_DTYPE_HONOURED), and says nothing about it (DTYPE.UNHONOURED_DTYPE_SAYS_SO).
    """
    _rewrite(
        R.variables.Variable,
        "__init__",
        ("self._value = np.array(value, dtype=dtype)", 'self._value = np.array(value, dtype="float32")  # FAULT'),
    )


@fault("DTYPE.MIXED_POLICY")
def no_variable_autocast():
    """A mixed-policy layer's call reads its variables in their own dtype (no autocast scope).

    Breaks: `x * w` and Dense under mixed_float16 compute and return float32 (DTYPE.MIXED_POLICY).
    """
    _rewrite(
        R.layer.Layer,
        "__call__",
        (
            "autocast = self.compute_dtype if self.compute_dtype != self.variable_dtype else None",
            "autocast = None  # FAULT",
        ),
    )


@fault("DTYPE.MIXED_BATCHNORM")
def batchnorm_statistics_in_compute_dtype():
    """BatchNormalization creates its moving statistics in the compute dtype.

    Breaks: under mixed_float16 the moving mean is float16 (DTYPE.MIXED_BATCHNORM).
    """
    _rewrite(
        R.layers.BatchNormalization,
        "build",
        ('trainable=False, name="moving_mean",', 'trainable=False, name="moving_mean", dtype=self.compute_dtype,'),
    )


@fault("DTYPE.MIXED_DROPOUT")
def dropout_mask_in_float64():
    """Dropout builds its scaled mask in float64 and does not cast it to the input's dtype.

    Breaks: under mixed_float16 a training Dropout returns float64, not float16 (DTYPE.MIXED_DROPOUT).
    """
    _rewrite(
        R.layers.Dropout,
        "call",
        (
            "return ops.multiply(inputs, (keep * scale).astype(inputs.dtype))",
            "return ops.multiply(inputs, keep * scale)  # FAULT",
        ),
    )


@fault("DTYPE.MIXED_NOISE", upstream="keras-team/keras#19437 (Keras 3.1: backend.random.normal without dtype)")
def noise_drawn_in_floatx():
    """GaussianDropout and GaussianNoise draw their noise in float32 (floatx), not the compute dtype.

    Breaks: under mixed_bfloat16 and mixed_float16 the noisy output is promoted to float32
    (Keras 3.1.1 raised a dtype mismatch instead) (DTYPE.MIXED_NOISE).
    """
    _rewrite(
        R.layers._Noise,
        "_normal",
        (
            "return generator.normal(mean, stddev, size=like.shape).astype(like.dtype)",
            'return generator.normal(mean, stddev, size=like.shape).astype("float32")  # FAULT: floatx',
        ),
    )


@fault("DTYPE.MIXED_NOISE")
def gaussian_dropout_stddev_sqrt_rate():
    """GaussianDropout's noise has standard deviation sqrt(rate) instead of sqrt(rate / (1 - rate)).

    Breaks: fewer outputs than expected lie one standard deviation away from the input (DTYPE.MIXED_NOISE).
    """
    _rewrite(
        R.layers.GaussianDropout,
        "call",
        ("np.sqrt(self.rate / (1.0 - self.rate))", "np.sqrt(self.rate)"),
    )


@fault("DTYPE.MIXED_EMBEDDING", upstream="tensorflow/tensorflow#42631 (tf 2.2: Embedding returned float32)")
def embedding_returns_its_table_dtype():
    """Embedding returns its rows in the table's dtype: its integer ids are not autocast, so
    nothing casts the output to the compute dtype.

    Breaks: under mixed_bfloat16 Embedding returns float32 while Dense returns bfloat16 (DTYPE.MIXED_EMBEDDING).
    """
    _rewrite(
        R.layers.Embedding,
        "call",
        (
            "outputs = self.embeddings.value[ids].astype(self.compute_dtype)",
            "outputs = self.embeddings.numpy()[ids]  # FAULT: the table's dtype",
        ),
    )
