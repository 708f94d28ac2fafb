"""Faults of the Call area (suites/test_call.py)."""

from __future__ import annotations

import contextlib

import numpy as np

from layercontract.reference_impl.faults._machinery import _K2_ONLY, NO_FAULT_APPLIES, R, _rewrite, _wrap, fault


@fault(
    "CALL.INVOKES_CALL",
    "BUILD.BEFORE_CALL",
    upstream="keras/src/layers/layer.py Layer._maybe_build: for a layer without build() that may "
    "have unbuilt state, traces call with backend.compute_output_spec (symbolically), "
    "ignoring errors when eager",
)
def call_traced_before_build():
    """Before the first build, `call` is traced once on the real inputs (errors swallowed).

    Keras 3's build-by-tracing done eagerly, on the actual data, and for every layer. Breaks:
    `call` runs twice on a layer's first call (CALL.INVOKES_CALL) and runs before `build`
    (BUILD.BEFORE_CALL).
    """

    def make(original):
        def _maybe_build(self, args, kwargs, first_input):
            if not self.built:
                with contextlib.suppress(Exception):
                    self.call(*args, **kwargs)
            return original(self, args, kwargs, first_input)

        return _maybe_build

    _wrap(R.layer.Layer, "_maybe_build", make)


@fault("CALL.AUTOCAST_FLOAT", "INPUT.DTYPE_CHECKED_AFTER_AUTOCAST.K3")
def float64_not_autocast():
    """Floating inputs are converted but keep their dtype (no autocast to the compute dtype).

    Breaks: float64 data reaches `call` as float64 and promotes the layer's outputs
    (CALL.AUTOCAST_FLOAT), and fails a float32 InputSpec (INPUT.DTYPE_CHECKED_AFTER_AUTOCAST.K3).
    """
    _rewrite(R.layer.Layer, "_convert_inputs", ("x = x.astype(self.compute_dtype)", "pass  # FAULT: no autocast"))


@fault("INPUT.DTYPE_CHECKED_AFTER_AUTOCAST.K3", "DTYPE.LAYER_DTYPE_HONOURED")
def autocast_to_floatx():
    """Floating inputs are autocast to float32 (floatx), whatever the layer's compute dtype.

    Breaks: a float64 layer receives float32, so its float64 InputSpec rejects a float32 input
    (INPUT.DTYPE_CHECKED_AFTER_AUTOCAST.K3) and it does not compute in float64 (DTYPE.LAYER_DTYPE_HONOURED).
    """
    _rewrite(
        R.layer.Layer,
        "_convert_inputs",
        ("x = x.astype(self.compute_dtype)", 'x = x.astype("float32")  # FAULT: floatx, not the compute dtype'),
    )


@fault(
    "CALL.INTEGER_NOT_CAST",
    "CALL.AUTOCAST_PER_ELEMENT",
    upstream="keras-team/keras#19629 (Keras < 3.4: numpy arrays converted to the compute dtype)",
)
def integers_autocast_to_float():
    """Autocast applies to every numeric input, integers included.

    Breaks: integer ids and indices arrive in `call` as float32 (CALL.INTEGER_NOT_CAST), also
    inside a tuple, list or dict of inputs (CALL.AUTOCAST_PER_ELEMENT).
    """
    _rewrite(
        R.layer.Layer,
        "_convert_inputs",
        (
            "x = np.asarray(x)\n        if variables.is_floating(x.dtype) and x.dtype != self.compute_dtype:",
            "x = np.asarray(x)\n        if np.issubdtype(x.dtype, np.number) and x.dtype != self.compute_dtype:  # FAULT",
        ),
    )


@fault("CALL.AUTOCAST_PER_ELEMENT")
def structures_not_autocast():
    """Only an array passed as an argument itself is converted and autocast; the arrays inside a
    tuple, list or dict argument reach `call` as they were given.

    Breaks: a float64 feature next to an int id in a tuple of inputs stays float64 (CALL.AUTOCAST_PER_ELEMENT).
    """
    _rewrite(
        R.layer.Layer,
        "_convert_inputs",
        (
            "return _map_structure(convert, args), {",
            "return tuple(convert(a) if _is_array_like(a) else a for a in args), {  # FAULT",
        ),
    )


@fault("CALL.MODEL_SEQUENTIAL")
def dense_activation_ignored():
    """Dense stores its `activation` but `call` never applies it.

    Breaks: Dense(4, activation="relu") is linear, so a model chaining Dense layers no longer
    computes relu(x W1 + b1) W2 + b2 (CALL.MODEL_SEQUENTIAL).
    """
    _rewrite(
        R.layers.Dense,
        "call",
        ("return ACTIVATIONS[self.activation](outputs)", "return outputs  # FAULT: activation dropped"),
    )


@fault("MULTI.POSITIONAL_AND_KEYWORD")
def call_kwargs_dropped():
    """`__call__` forwards only the keyword arguments it knows (`training`, `mask`) to `call`.

    Breaks: a tensor passed by keyword, `layer(a, b=b)`, never reaches `call(self, a, b)`
    (MULTI.POSITIONAL_AND_KEYWORD).
    """

    def make(original):
        def __call__(self, *args, **kwargs):
            kwargs = {k: v for k, v in kwargs.items() if k in ("training", "mask")}
            return original(self, *args, **kwargs)

        return __call__

    _wrap(R.layer.Layer, "__call__", make)


# ------------------------------------------------ issue 19, cluster 1: arguments that are not tensors
@fault("CALL.NON_TENSOR_KEYWORD_UNCHANGED")
def call_converts_every_argument():
    """`__call__` converts every argument but None to an array, not only array-likes.

    Breaks: `layer(x, n=3)` gives `call` a 0-d int array and `mode='x'` a 0-d string array, so
    Python control flow on them changes (CALL.NON_TENSOR_KEYWORD_UNCHANGED).
    """
    _rewrite(R.layer.Layer, "_convert_inputs", ("if not _is_array_like(x):", "if x is None:  # FAULT"))


@fault("CALL.NON_TENSOR_POSITIONAL_REJECTED.K3")
def call_accepts_non_tensor_positional_arguments():
    """`__call__` lets non-tensor positional arguments through to `call` (tf-keras's behaviour).

    Breaks: Keras 3 rejects `layer(x, 2)` before build and call (CALL.NON_TENSOR_POSITIONAL_REJECTED.K3).
    """
    _rewrite(R.layer.Layer, "__call__", ("if leaf is not None and not _is_array_like(leaf):", "if False:  # FAULT"))


NO_FAULT_APPLIES["CALL.NON_TENSOR_POSITIONAL_PASSED.K2"] = _K2_ONLY
NO_FAULT_APPLIES["CALL.PYTHON_NUMBERS_INPUT_SCALARS.K2"] = _K2_ONLY


@fault("CALL.MODEL_SEQUENTIAL")
def dense_activation_before_bias():
    """Dense applies its activation before adding the bias: relu(x W) + b.

    Breaks: CALL.MODEL_SEQUENTIAL (relu(x W1 + b1) W2 + b2) as soon as the bias is not zero.
    """
    _rewrite(
        R.layers.Dense,
        "call",
        (
            "outputs = ops.matmul(inputs, self.kernel)",
            "outputs = ACTIVATIONS[self.activation](ops.matmul(inputs, self.kernel))  # FAULT",
        ),
        ("return ACTIVATIONS[self.activation](outputs)", "return outputs"),
    )


@fault("CALL.PYTHON_NUMBERS_INPUT_REJECTED.K3")
def python_numbers_converted_to_tensors():
    """Python numbers in a layer's input (its first argument) are converted to 0-d tensors, as
    tf-keras does.

    Breaks: Keras 3 rejects `layer([12.0, -3.0, 0.0])` before build and call, a number not being
    a tensor (CALL.PYTHON_NUMBERS_INPUT_REJECTED.K3); here the layer builds from three empty
    shapes and runs.
    """

    def make(original):
        def _convert_inputs(self, args, kwargs):
            def number_to_tensor(v):
                if isinstance(v, (int, float)) and not isinstance(v, bool):
                    return np.asarray(v, dtype=self.compute_dtype)  # FAULT
                return v

            if args:
                args = (R.layer._map_structure(number_to_tensor, args[0]), *args[1:])
            return original(self, args, kwargs)

        return _convert_inputs

    _wrap(R.layer.Layer, "_convert_inputs", make)
