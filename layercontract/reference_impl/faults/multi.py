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


@fault("MULTI.LIST_ITEM_NONE", upstream="keras-team/keras#21866")
def list_item_none_has_no_shape():
    """The build shapes of a list input are taken item by item with `.shape`, None included.

    Keras 3 before keras-team/keras#21866 (3.6.0: AttributeError 'NoneType' object has no
    attribute 'shape'). Breaks: `layer([x, None])` must build from the other items and reach
    `call`, eagerly and on `Input` (MULTI.LIST_ITEM_NONE).
    """
    _rewrite(R.layer, "_shape_of", ("lambda t: None if t is None else tuple(t.shape)", "lambda t: tuple(t.shape)"))


@fault("MULTI.MODEL_ON_MODEL_OUTPUTS")
def functional_model_does_not_track_nested_models():
    """A functional model tracks the layers of its graph but not the models called in it.

    The composed model computes B(A(x)), but holds none of A's or B's weights, so `fit` would
    train nothing and saving would lose them. Breaks: a model built on another model's outputs
    holds the weights of both (MULTI.MODEL_ON_MODEL_OUTPUTS).
    """
    _rewrite(
        R.model.Model,
        "_init_graph",
        (
            "self._graph_layers = layers  # tracked as sub-layers (weights, trainable)",
            "self._graph_layers = [x for x in layers if not isinstance(x, Model)]  # FAULT",
        ),
    )


@fault("MULTI.MODEL_TWO_ARGUMENT_CALL")
def model_second_positional_taken_as_training():
    """A model takes its second positional argument as `training`, as a functional model's
    `call(inputs, training=None)` does, whatever its own `call` declares.

    Breaks: a subclassed model with `call(self, key, query)` called as `model(a, b)`, directly or
    on two `Input`s, must pass `b` as `query` (MULTI.MODEL_TWO_ARGUMENT_CALL).
    """

    def make(original):
        def __call__(self, *args, **kwargs):
            if len(args) > 1:
                kwargs.setdefault("training", args[1])  # FAULT
                args = args[:1]
            return original(self, *args, **kwargs)

        return __call__

    _wrap(R.model.Model, "__call__", make)


@fault("MULTI.CONCAT_ONE_INPUT")
def concatenate_needs_two_inputs():
    """Concatenate's build requires at least two inputs, as tf.keras's did up to TF 1.12.

    Breaks: Concatenate on a list of one tensor must return that tensor
    (MULTI.CONCAT_ONE_INPUT; tensorflow/tensorflow#23176).
    """
    _rewrite(
        R.layers.Concatenate,
        "build",
        ("or not input_shape or", "or len(input_shape) < 2 or"),  # FAULT
    )


@fault("MULTI.LIST_INPUT_DIFFERENT_SHAPES")
def declared_output_shapes_taken_as_one():
    """The shapes `compute_output_shape` declares are made into one symbolic tensor, also when
    the layer returns several (a tuple of shapes).

    Breaks: a layer with two outputs that declares their shapes, called on `Input`s, must give
    two symbolic tensors of those shapes (MULTI.LIST_INPUT_DIFFERENT_SHAPES).
    """
    _rewrite(
        R.layer.Layer,
        "compute_output_spec",
        (
            "_map_shapes(lambda s: SymbolicTensor(s, self.compute_dtype), shape)",
            "SymbolicTensor(shape, self.compute_dtype)  # FAULT",
        ),
    )
