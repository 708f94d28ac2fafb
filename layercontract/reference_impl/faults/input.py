"""Faults of the Input area (suites/test_input.py)."""

from __future__ import annotations

import numpy as np

from layercontract.reference_impl.faults._machinery import R, _is_symbolic, _leaves, _rewrite, _wrap, fault


@fault(
    "INPUT.NDIM",
    "INPUT.MIN_NDIM",
    "INPUT.MAX_NDIM",
    "INPUT.AXIS_VALUE",
    "INPUT.SHAPE",
    "INPUT.DTYPE",
    "INPUT.DENSE_LAST_AXIS",
    "INPUT.NUMBER_OF_INPUTS",
    "INPUT.EACH_INPUT_CHECKED",
    "INPUT.BEFORE_BUILD_AND_CALL",
    "INPUT.SYMBOLIC_CHECKED",
)
def input_spec_not_checked():
    """`__call__` never checks `input_spec`.

    Breaks: every InputSpec rule (INPUT.NDIM, MIN_NDIM, MAX_NDIM, AXIS_VALUE, SHAPE, DTYPE, ...).
    """

    def make(original):
        def assert_input_compatibility(input_spec, inputs, layer_name):
            return None

        return assert_input_compatibility

    _wrap(R.input_spec, "assert_input_compatibility", make)


@fault("INPUT.NDIM")
def ndim_treated_as_min_ndim():
    """`InputSpec(ndim=n)` rejects only inputs of lower rank.

    Breaks: an input of higher rank than `ndim` must be rejected too (INPUT.NDIM).
    """
    _rewrite(
        R.input_spec,
        "assert_input_compatibility",
        ("if spec.ndim is not None and ndim != spec.ndim:", "if spec.ndim is not None and ndim < spec.ndim:  # FAULT"),
    )


@fault("INPUT.MIN_NDIM", "INPUT.MAX_NDIM")
def min_max_ndim_swapped():
    """The comparisons of the min_ndim and max_ndim checks are swapped.

    Breaks: inputs below `min_ndim` and above `max_ndim` are accepted (INPUT.MIN_NDIM,
    INPUT.MAX_NDIM), and valid ones may be rejected.
    """
    _rewrite(
        R.input_spec,
        "assert_input_compatibility",
        ("ndim > spec.max_ndim:", "ndim < spec.max_ndim:  # FAULT"),
        ("ndim < spec.min_ndim:", "ndim > spec.min_ndim:  # FAULT"),
    )


@fault("INPUT.SPEC_ACCEPTS_VALID")
def max_ndim_off_by_one():
    """The max_ndim check uses >=: an input of exactly `max_ndim` dimensions is rejected.

    Breaks: inputs meeting the spec must be accepted (INPUT.SPEC_ACCEPTS_VALID).
    """
    _rewrite(R.input_spec, "assert_input_compatibility", ("ndim > spec.max_ndim:", "ndim >= spec.max_ndim:  # FAULT"))


@fault("INPUT.AXIS_VALUE", "INPUT.DENSE_LAST_AXIS", "INPUT.SYMBOLIC_CHECKED")
def negative_axis_not_checked():
    """An axes entry is checked only if `0 <= axis < ndim`: negative axes are skipped.

    Breaks: `InputSpec(axes={-1: 5})`, which Dense sets in build, accepts any last-axis size
    (INPUT.AXIS_VALUE, INPUT.DENSE_LAST_AXIS, INPUT.SYMBOLIC_CHECKED).
    """
    _rewrite(
        R.input_spec,
        "assert_input_compatibility",
        (
            "if value is not None and shape[axis] not in (value, None):",
            "if value is not None and 0 <= axis < ndim and shape[axis] not in (value, None):  # FAULT",
        ),
    )


@fault("INPUT.SPEC_ACCEPTS_VALID")
def axis_check_reads_wrong_axis():
    """A negative axis is normalised as `axis + ndim - 1`: axes={-1: n} reads axis 0 of a 2-D input.

    Breaks: an input whose last axis matches is rejected because its batch size does not
    (INPUT.SPEC_ACCEPTS_VALID); Dense rejects most inputs after its first call.
    """
    _rewrite(
        R.input_spec,
        "assert_input_compatibility",
        (
            "if value is not None and shape[axis] not in (value, None):",
            "if value is not None and shape[axis + ndim - 1 if axis < 0 else axis] not in (value, None):  # FAULT",
        ),
    )


@fault("INPUT.SHAPE", "INPUT.SPEC_ACCEPTS_VALID")
def shape_none_not_wildcard():
    """A None in `InputSpec(shape=...)` is compared literally instead of matching any size.

    Breaks: `shape=(None, 3)` must accept (11, 3) (INPUT.SHAPE, INPUT.SPEC_ACCEPTS_VALID).
    """
    _rewrite(
        R.input_spec,
        "assert_input_compatibility",
        (
            "if spec_dim is not None and dim is not None and spec_dim != dim:",
            "if dim is not None and spec_dim != dim:  # FAULT",
        ),
    )


@fault("INPUT.DTYPE")
def dtype_not_checked():
    """`InputSpec(dtype=...)` is stored but never checked.

    Breaks: an int32 input passes a float32 spec (INPUT.DTYPE).
    """
    _rewrite(
        R.input_spec,
        "assert_input_compatibility",
        ("if spec.dtype is not None and str(np.dtype(x.dtype)) != spec.dtype:", "if False:  # FAULT"),
    )


@fault(
    "INPUT.DTYPE_CHECKED_AFTER_AUTOCAST.K3",
    upstream="tf-keras base_layer.__call__ checks input compatibility before casting "
    "(clause INPUT.DTYPE_CHECKED_BEFORE_AUTOCAST.K2)",
)
def spec_checked_before_autocast():
    """The InputSpec is checked on the inputs as given, before autocasting (the tf-keras order).

    Breaks: Keras 3 autocasts first, so float64 data passes `InputSpec(dtype="float32")`
    (INPUT.DTYPE_CHECKED_AFTER_AUTOCAST.K3).
    """
    layer = R.layer

    def as_given(x):
        return np.asarray(x) if layer._is_array_like(x) and not _is_symbolic(x) else x

    def make(original):
        def __call__(self, *args, **kwargs):
            first = args[0] if args else next(iter(kwargs.values()), None)
            layer.assert_input_compatibility(self.input_spec, layer._map_structure(as_given, first), self.name)
            return original(self, *args, **kwargs)

        return __call__

    _wrap(layer.Layer, "__call__", make)


@fault("INPUT.NUMBER_OF_INPUTS")
def input_count_not_checked():
    """The number of inputs is not compared with the number of specs; zip() truncates silently.

    Breaks: three inputs against two specs must be rejected (INPUT.NUMBER_OF_INPUTS).
    """
    _rewrite(R.input_spec, "assert_input_compatibility", ("if len(tensors) != len(specs):", "if False:  # FAULT"))


@fault("INPUT.EACH_INPUT_CHECKED")
def only_first_input_checked():
    """Only the first input of a list is checked against its spec.

    Breaks: every input must be checked against its own spec (INPUT.EACH_INPUT_CHECKED).
    """
    _rewrite(R.input_spec, "assert_input_compatibility", ("zip(tensors, specs)", "zip(tensors[:1], specs[:1])"))


@fault("INPUT.BEFORE_BUILD_AND_CALL", "INPUT.REJECTED_CALL_CHANGES_NOTHING")
def spec_checked_after_build():
    """`__call__` builds first and checks the InputSpec afterwards.

    Breaks: a rejected first call has already run `build`, created weights and marked the
    layer built (INPUT.BEFORE_BUILD_AND_CALL, INPUT.REJECTED_CALL_CHANGES_NOTHING).
    """
    _rewrite(
        R.layer.Layer,
        "__call__",
        (
            "assert_input_compatibility(self.input_spec, first_input, self.name)\n"
            "    self._maybe_build(args, kwargs, first_input)",
            "self._maybe_build(args, kwargs, first_input)  # FAULT: build first\n"
            "    assert_input_compatibility(self.input_spec, first_input, self.name)",
        ),
    )


@fault("INPUT.ERROR_MESSAGE")
def error_message_without_layer_name():
    """The input-compatibility error does not name the layer.

    Breaks: the user cannot tell which layer rejected the input (INPUT.ERROR_MESSAGE).
    """
    _rewrite(
        R.input_spec,
        "assert_input_compatibility",
        ("f\"Input {index} of layer '{layer_name}' is incompatible", 'f"Input {index} is incompatible'),
    )


@fault("INPUT.ERROR_FULL_SHAPE")
def error_message_without_full_shape():
    """The input-compatibility error does not show the full received shape.

    Breaks: INPUT.ERROR_FULL_SHAPE (e.g. 'expected ndim=2, found ndim=3' alone).
    """
    _rewrite(
        R.input_spec,
        "assert_input_compatibility",
        (
            'f"expected {expected}, found {found}. Full shape received: {shape}"',
            'f"expected {expected}, found {found}."  # FAULT',
        ),
    )


@fault("INPUT.DENSE_LAST_AXIS", "INPUT.SYMBOLIC_CHECKED")
def dense_input_spec_not_refined_in_build():
    """Dense keeps `InputSpec(min_ndim=2)` after build instead of pinning the last axis.

    Breaks: a wrong feature size is caught only by matmul, with a backend error that names
    neither the layer nor axis -1 (INPUT.DENSE_LAST_AXIS), and not at all symbolically
    (INPUT.SYMBOLIC_CHECKED).
    """
    _rewrite(
        R.layers.Dense, "build", ("self.input_spec = InputSpec(min_ndim=2, axes={-1: input_dim})", "pass  # FAULT")
    )


@fault("INPUT.SYMBOLIC_CHECKED")
def symbolic_inputs_not_checked():
    """InputSpec checks run only on eager inputs, not on symbolic ones.

    Breaks: functional models must be checked at construction time (INPUT.SYMBOLIC_CHECKED).
    """

    def make(original):
        def assert_input_compatibility(input_spec, inputs, layer_name):
            if any(_is_symbolic(x) for x in _leaves(inputs)):
                return None  # FAULT
            return original(input_spec, inputs, layer_name)

        return assert_input_compatibility

    _wrap(R.input_spec, "assert_input_compatibility", make)


@fault("INPUT.FIRST_ARGUMENT_ONLY")
def input_spec_checks_every_positional_argument():
    """`input_spec` is matched against all positional arguments of the call, not the first one.

    Breaks: Keras checks the first positional argument only, so `call(a, b)` with a one-tensor
    spec must accept any `b` (INPUT.FIRST_ARGUMENT_ONLY).
    """
    _rewrite(
        R.layer.Layer,
        "__call__",
        (
            "assert_input_compatibility(self.input_spec, first_input, self.name)",
            "assert_input_compatibility(self.input_spec, list(args) if len(args) > 1 else first_input, "
            "self.name)  # FAULT",
        ),
    )


# ------------------------------------------------ issue 19, cluster 1: a model's inputs
@fault("INPUT.DICT_ROUTED_BY_NAME")
def model_dict_fed_in_insertion_order():
    """A functional model takes a dict's values in the caller's key order, not by name.

    Breaks: `{'b': B, 'a': A}` feeds B to input a and A to input b (INPUT.DICT_ROUTED_BY_NAME).
    """
    _rewrite(
        R.model.Model,
        "_route_inputs",
        ("given = [inputs[name] for name in names]", "given = list(inputs.values())[:len(names)]  # FAULT"),
    )


@fault("INPUT.DICT_EXTRA_KEYS_IGNORED", upstream="keras-team/keras#23258")
def model_dict_flattened_by_sorted_key():
    """A dict-built functional model flattens the runtime dict by sorted key and zips it with its inputs.

    Breaks: an extra key sorting before a declared one takes that input's place: {'a', 'aa', 'b'}
    feeds 'aa' to b (INPUT.DICT_EXTRA_KEYS_IGNORED). Keras 3.15.1's Functional did this
    (keras-team/keras#23258, fixed by #23261).
    """
    _rewrite(
        R.model.Model,
        "_route_inputs",
        (
            "given = [inputs[name] for name in names]",
            "given = [inputs[k] for k in (sorted(inputs) if isinstance(graph_inputs, dict) else names)]  # FAULT",
        ),
    )


@fault("INPUT.DICT_MISSING_KEY_REJECTED")
def model_dict_missing_key_not_checked():
    """A functional model looks the declared names up in the dict without checking them first.

    Breaks: a missing or misnamed key surfaces as a bare KeyError from the lookup, not a
    ValueError naming it (INPUT.DICT_MISSING_KEY_REJECTED).
    """
    _rewrite(
        R.model.Model,
        "_route_inputs",
        ("missing = [name for name in names if name not in inputs]", "missing = []  # FAULT"),
    )


@fault("INPUT.MODEL_INPUT_COUNT")
def model_extra_inputs_dropped():
    """A functional model rejects too few values but zips too many with its inputs, dropping the rest.

    Breaks: `[A, B, C]` into a two-input model runs on A and B (INPUT.MODEL_INPUT_COUNT).
    """
    _rewrite(
        R.model.Model, "_route_inputs", ("if len(given) != len(declared):", "if len(given) < len(declared):  # FAULT")
    )


@fault("INPUT.SINGLE_INPUT_ANY_WRAPPING")
def model_one_element_list_read_as_a_batch():
    """A one-input functional model converts whatever it is given to one array.

    Breaks: `[A]` becomes an array with a leading axis of 1, so the output has shape (1, 4, 3)
    instead of A's (INPUT.SINGLE_INPUT_ANY_WRAPPING).
    """
    _rewrite(
        R.model.Model,
        "_route_inputs",
        (
            "given = _flatten_all([inputs], {})",
            "given = [np.asarray(inputs)] if len(declared) == 1 else _flatten_all([inputs], {})  # FAULT",
        ),
    )


@fault("INPUT.SUBCLASSED_MODEL_STRUCTURES")
def tuples_converted_to_lists():
    """Mapping over a call's arguments rebuilds every tuple as a list.

    Breaks: a subclassed model called on `(a, b)` receives `[a, b]` in `call`
    (INPUT.SUBCLASSED_MODEL_STRUCTURES).
    """
    _rewrite(
        R.layer,
        "_map_structure",
        (
            "return type(x)(_map_structure(fn, item) for item in x)",
            "return [_map_structure(fn, item) for item in x]  # FAULT",
        ),
    )


@fault("INPUT.LIST_INTO_DICT_BUILT_MODEL")
def list_into_dict_model_in_written_order():
    """A list fed to a dict-built functional model is zipped with the dict's values in the order it was written.

    Breaks: a model built from {'b': b, 'a': a} fed [A, B] silently feeds A to b
    (INPUT.LIST_INTO_DICT_BUILT_MODEL).
    """
    _rewrite(
        R.model.Model,
        "_route_inputs",
        ("if isinstance(graph_inputs, dict) and list(graph_inputs) != sorted(graph_inputs):", "if False:  # FAULT"),
    )


@fault("INPUT.EACH_INPUT_CHECKED")
def only_last_input_checked():
    """Only the last input of a list is checked against its spec.

    Breaks: every input must be checked against its own spec (INPUT.EACH_INPUT_CHECKED).
    """
    _rewrite(
        R.input_spec,
        "assert_input_compatibility",
        (
            "for index, (x, spec) in enumerate(zip(tensors, specs)):",
            "for index, (x, spec) in list(enumerate(zip(tensors, specs)))[-1:]:  # FAULT",
        ),
    )
