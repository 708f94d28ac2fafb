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
