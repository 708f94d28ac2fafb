"""Faults of the Multi area (suites/test_multi.py)."""

from __future__ import annotations

import numpy as np

from layercontract.reference_impl.faults._machinery import R, _rewrite, _wrap, fault


@fault("MULTI.LIST_INPUT", "BUILD.LIST_SHAPES")
def list_input_stacked_into_array():
    """A list of arrays is converted with one `np.asarray(list)` instead of tensor by tensor.

    Breaks: a list input must reach `call` as a list (MULTI.LIST_INPUT); inputs of different
    shapes cannot even be stacked.
    """
    layer = R.layer

    def stack(x):
        if isinstance(x, list) and x and all(isinstance(t, np.ndarray) for t in x):
            return np.asarray(x)  # FAULT
        return x

    def make(original):
        def _convert_inputs(self, args, kwargs):
            return original(self, tuple(stack(a) for a in args), kwargs)

        return _convert_inputs

    _wrap(layer.Layer, "_convert_inputs", make)


@fault("MULTI.CONCAT_BUILD")
def concatenate_axis_ignored():
    """Concatenate's `call` does not pass `axis` on: it always joins on the last axis.

    Breaks: Concatenate(axis=1) and axis=0 (MULTI.CONCAT_BUILD).
    """
    _rewrite(
        R.layers.Concatenate,
        "call",
        ("ops.concatenate(list(inputs), axis=self.axis)", "ops.concatenate(list(inputs))  # FAULT"),
    )


@fault("MULTI.CONCAT_SHAPE_MISMATCH")
def concatenate_does_not_check_shapes():
    """Concatenate's build does not compare the non-concatenation axes of its inputs.

    Breaks: the mismatch surfaces as a backend error that does not show the received shapes
    (MULTI.CONCAT_SHAPE_MISMATCH).
    """
    _rewrite(R.layers.Concatenate, "build", ("if len(known) > 1:", "if False:  # FAULT"))


@fault("MULTI.CONCAT_SINGLE_TENSOR")
def concatenate_single_tensor_not_rejected():
    """Concatenate's build does not check that it received a list of shapes.

    Breaks: a single tensor must be rejected with a ValueError showing its shape, not fail
    with a TypeError deeper down (MULTI.CONCAT_SINGLE_TENSOR).
    """
    _rewrite(
        R.layers.Concatenate,
        "build",
        (
            "if not isinstance(input_shape, (list, tuple)) or not input_shape or not isinstance(input_shape[0], "
            "tuple):",
            "if not input_shape:  # FAULT",
        ),
    )


@fault("MULTI.CONCAT_SHAPE_MISMATCH")
def concatenate_unchecked_behind_a_call_wrapper():
    """Concatenate checks no shapes, and its `call` re-raises the op's error as Keras's call wrapper does.

    Breaks: the mismatch is rejected by np.concatenate with a ValueError ("all the input array
    dimensions except for the concatenation axis must match exactly", AxisError) that does not
    show the shapes; only the wrapper's echo of the call's arguments ("Arguments received by
    Concatenate.call(): • inputs=['np.ndarray(shape=(2, 3), ...)', ...]") does, as for every
    exception Keras 3 sees in a `call` (MULTI.CONCAT_SHAPE_MISMATCH). An oracle reading the whole
    message, wrapper included, accepts it; suites/_helpers.own_message reads the rejection alone.
    """
    _rewrite(
        R.layers.Concatenate, "build", ("ranks = {len(s) for s in input_shape}", "return  # FAULT: no shape checks")
    )

    def make(original):
        def call(self, inputs):
            try:
                return original(self, inputs)
            except Exception as e:  # FAULT's wrapper, worded as keras/src/utils/traceback_utils.py
                echo = [f"np.ndarray(shape={tuple(np.shape(x))}, dtype={np.asarray(x).dtype})" for x in inputs]
                raise type(e)(
                    "Exception encountered when calling Concatenate.call().\n\n"
                    f"\x1b[1m{e}\x1b[0m\n\nArguments received by Concatenate.call():\n"
                    f"  • inputs={echo}"
                ) from None

        return call

    _wrap(R.layers.Concatenate, "call", make)
