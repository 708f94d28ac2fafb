"""Faults of the Symbolic area (suites/test_symbolic.py)."""

from __future__ import annotations

import numpy as np

from layercontract.reference_impl.faults._machinery import (
    _K2_ONLY,
    NO_FAULT_APPLIES,
    R,
    _is_symbolic,
    _rewrite,
    _set,
    _wrap,
    fault,
)


def _concrete(x):
    """Zeros standing in for a symbolic tensor, unknown sizes set to 1 (a dummy batch)."""
    if _is_symbolic(x):
        return np.zeros(tuple(1 if d is None else d for d in x.shape), dtype=x.dtype)
    return x


@fault("SYMBOLIC.OUTPUT_SHAPE")
def symbolic_none_batch_replaced():
    """Symbolic output shapes are inferred with a dummy batch of 1 and keep it: (1, 3), not (None, 3).

    Breaks: the batch dimension of a symbolic output must stay None (SYMBOLIC.OUTPUT_SHAPE).
    """
    symbolic = R.symbolic

    def make(original):
        def compute_output_spec(self, *args, **kwargs):
            out = original(self, *args, **kwargs)
            return R.layer._map_structure(
                lambda t: (
                    symbolic.SymbolicTensor(tuple(1 if d is None else d for d in t.shape), t.dtype)
                    if _is_symbolic(t)
                    else t
                ),
                out,
            )  # FAULT

        return compute_output_spec

    _wrap(R.layer.Layer, "compute_output_spec", make)


@fault("SYMBOLIC.BUILDS", "INPUT.SYMBOLIC_CHECKED")
def symbolic_call_does_not_build():
    """A symbolic call propagates shapes without building the layer (but marks it built).

    Breaks: a layer called on `Input` must have its weights (SYMBOLIC.BUILDS), and Dense's
    input spec is not pinned (INPUT.SYMBOLIC_CHECKED).
    """
    _rewrite(
        R.layer.Layer,
        "__call__",
        (
            "self._maybe_build(args, kwargs, first_input)",
            "if not any(is_symbolic(x) for x in _flatten_all(args, kwargs)):  # FAULT\n"
            "        self._maybe_build(args, kwargs, first_input)",
        ),
    )


@fault("SYMBOLIC.NO_DATA")
def symbolic_call_updates_bn_state():
    """Symbolic shapes are inferred by running `call` on zeros: stateful layers update their state.

    A dummy forward pass for shape inference. Breaks: a symbolic call must change no state;
    BatchNormalization(training=True) on `Input` moves its moving variance (SYMBOLIC.NO_DATA).
    """
    symbolic = R.symbolic
    layer = R.layer

    def compute_output_spec(self, *args, **kwargs):
        outputs = self.call(
            *layer._map_structure(_concrete, args), **{k: layer._map_structure(_concrete, v) for k, v in kwargs.items()}
        )  # FAULT
        return layer._map_structure(
            lambda t: symbolic.SymbolicTensor((None, *np.shape(t)[1:]), np.asarray(t).dtype), outputs
        )

    _set(layer.Layer, "compute_output_spec", compute_output_spec)


@fault("SYMBOLIC.CALL_RUNS_ON_INPUT")
def symbolic_call_skips_call():
    """A symbolic call of a layer without `compute_output_shape` assumes the input's shape, without running `call`.

    Breaks: `call` must run at least once on `Input` (SYMBOLIC.CALL_RUNS_ON_INPUT).
    """
    symbolic = R.symbolic

    def compute_output_spec(self, *args, **kwargs):
        first = args[0] if args else next(iter(kwargs.values()))
        return symbolic.SymbolicTensor(first.shape, first.dtype)  # FAULT

    _set(R.layer.Layer, "compute_output_spec", compute_output_spec)


@fault("SYMBOLIC.OUTPUT_SHAPE_DECLARED.K3")
def declared_output_shape_ignored_on_input():
    """A symbolic call traces `call` even when the layer defines `compute_output_shape`, as tf-keras does.

    Breaks: in Keras 3 the declared shape is the symbolic output's shape, and the next layer
    builds from it (SYMBOLIC.OUTPUT_SHAPE_DECLARED.K3).
    """
    _rewrite(
        R.layer.Layer,
        "compute_output_spec",
        ("if type(self).compute_output_shape is not Layer.compute_output_shape:", "if False:  # FAULT"),
    )


NO_FAULT_APPLIES["SYMBOLIC.OUTPUT_SHAPE_TRACED.K2"] = _K2_ONLY


@fault("SYMBOLIC.NON_TENSOR_OUTPUTS_DECLARED")
def layer_outputs_converted_to_tensors():
    """Every output of an eager call is converted to a tensor, Python ints included.

    Breaks: the sizes a layer returns next to a tensor must come back as the ints `call`
    returned, for code that uses them in Python (SYMBOLIC.NON_TENSOR_OUTPUTS_DECLARED).
    """

    def make(original):
        def __call__(self, *args, **kwargs):
            outputs = original(self, *args, **kwargs)
            return R.layer._map_structure(lambda t: t if _is_symbolic(t) else np.asarray(t), outputs)  # FAULT

        return __call__

    _wrap(R.layer.Layer, "__call__", make)
