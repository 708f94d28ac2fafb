"""Named faults for the reference backend: mutation testing of the conformance suites.

Each fault is one realistic mistake of the kind Keras, tf-keras and Keras ports have shipped
(or that porting from PyTorch / TF 1.x invites), written as a small function that monkeypatches
`reference_impl`: it replaces or wraps one method or function. The reference code itself stays
clean: it has no fault branches. Most faults are *edits*: the patched method is re-compiled from
the reference's own source with one textual change (`_rewrite`), so each fault reads like a
one-line diff, and a fault whose edit site has gone from the reference fails loudly
(`FaultSiteError`) instead of silently patching nothing.

    python -m pytest suites --fault dropout_not_rescaled     # the suites must fail

`FAULTS` maps each name to a `Fault`: its one-line description, the clauses it must break
(`targets`; tests/test_faults.py checks that each of them fails), an optional pointer to where
the mistake comes from (`upstream`), and `apply()`. Faults are applied once, in the process that
runs the suites, by `FaultyReference.load()`. `reset()` undoes the active fault.

`NO_FAULT_APPLIES` names the clauses no fault targets, with the reason; every other clause of
spec/clauses.toml is the target of at least one fault. `KNOWN_SURVIVORS` are realistic
faults the suites do not catch yet: each names the check that is too weak.
"""
from __future__ import annotations

import contextlib
import dataclasses
import functools
import importlib
import inspect
import linecache
import sys
import textwrap
from typing import Callable

import numpy as np

from backends.reference import ReferenceBackend


class UnknownFault(Exception):
    """A fault name that is not in FAULTS."""


class FaultSiteError(RuntimeError):
    """The reference code no longer contains what a fault edits: update the fault."""


@dataclasses.dataclass(frozen=True)
class Fault:
    name: str
    description: str
    targets: tuple[str, ...]
    patch: Callable[[], None]
    upstream: str = ""
    weak_check: str = ""  # KNOWN_SURVIVORS only: which check misses it, and why

    @property
    def doc(self) -> str:
        return inspect.getdoc(self.patch) or ""

    def apply(self):
        """Switch this fault on in reference_impl (once per process; see `reset`)."""
        global _active
        if _active == self.name:
            return
        if _active is not None:
            raise RuntimeError(f"fault {_active!r} is already active; call faults.reset() first")
        importlib.import_module("reference_impl")
        try:
            self.patch()
        except BaseException:
            reset()
            raise
        _active = self.name


FAULTS: dict[str, Fault] = {}
KNOWN_SURVIVORS: dict[str, Fault] = {}

_K2_ONLY = ("keras2-only clause: the faulty reference runs as edition keras3, where this clause's "
            "checks are not applicable, so no fault of the reference can make them fail; "
            "tests/test_checks_can_fail.py shows its checks fail on the reference claiming keras2")
_NEEDS_COMPILED = ("the check needs backend capability 'compiled', which the reference backend lacks: "
                   "it is reported unsupported under every fault; tests/test_checks_can_fail.py shows "
                   "it fails on an adapter with a broken compiled mode")
_DIFFERENTIAL = ("differential check of the backend against reference_impl: under a fault the `reference_K` "
                 "side is the same patched reference_impl (one module per process), so both sides carry "
                 "the fault and agree; tests/test_checks_can_fail.py shows it fails on adapters with one "
                 "skewed layer")
NO_FAULT_APPLIES: dict[str, str] = {
    "CALL.CONVERTS_NUMPY": (
        "the reference's backend tensor type is numpy.ndarray itself: a numpy input that skipped "
        "conversion already is a 'backend tensor', so no conversion mistake in __call__ is "
        "observable through ops.is_tensor (the rule is vacuous on numpy-typed backends: reference, "
        "keras-numpy). Its check can still fail through another rule: call_traced_before_build "
        "makes the probe record two calls"),
    "INPUT.DTYPE_CHECKED_BEFORE_AUTOCAST.K2": _K2_ONLY,
    "TRAIN.INNER_EXPLICIT_SCOPE.K2": _K2_ONLY,
    "TRAIN.DROPOUT_SEED_WITH_GLOBAL.K2": _K2_ONLY,
    "TRAIN.FIT_NO_TRAINING_PARAM.K2": _K2_ONLY,
    "BUILD.EXPLICIT_BUILD_NEEDS_SUPER.K2": _K2_ONLY,
    "BUILD.WEIGHTS_ORDER_TRAINABLE_FIRST.K2": _K2_ONLY,
    "MODE.COMPILED_BUILD_ONCE": _NEEDS_COMPILED,
    "MODE.COMPILED_DROPOUT": _NEEDS_COMPILED,
    "MODE.COMPILED_BATCHNORM": _NEEDS_COMPILED,
    "DIFF.DENSE": _DIFFERENTIAL,
    "DIFF.BATCHNORM": _DIFFERENTIAL,
    "DIFF.MOVING_STATISTICS": _DIFFERENTIAL,
    "DIFF.CONCATENATE": _DIFFERENTIAL,
    "DIFF.TUTORIAL_MODELS": _DIFFERENTIAL,
    "DIFF.FIT_STEP": _DIFFERENTIAL,
}


def fault(*targets, upstream="", survives=""):
    """Register the decorated patch function as a fault named after it.

    Its docstring's first line is the description; the rest says what it breaks. With
    `survives` (the weak check's explanation) it goes to KNOWN_SURVIVORS instead of FAULTS.
    """

    def register(patch):
        doc = inspect.getdoc(patch) or ""
        description = doc.split("\n", 1)[0].strip()
        registry = KNOWN_SURVIVORS if survives else FAULTS
        if patch.__name__ in FAULTS or patch.__name__ in KNOWN_SURVIVORS:
            raise ValueError(f"duplicate fault {patch.__name__}")
        registry[patch.__name__] = Fault(patch.__name__, description, tuple(targets), patch, upstream,
                                         survives)
        return patch

    return register


def get(name: str) -> Fault:
    """The fault (or known survivor) called `name`; UnknownFault listing the known names."""
    if name in FAULTS:
        return FAULTS[name]
    if name in KNOWN_SURVIVORS:
        return KNOWN_SURVIVORS[name]
    raise UnknownFault(
        f"unknown fault {name!r}. Known faults: {', '.join(FAULTS)}"
        + (f"; known survivors: {', '.join(KNOWN_SURVIVORS)}" if KNOWN_SURVIVORS else ""))


class FaultyReference(ReferenceBackend):
    """The reference backend with one fault switched on."""

    def __init__(self, fault_name: str):
        self.fault = get(fault_name)
        self.name = f"reference+fault={fault_name}"

    def load(self):
        impl = super().load()
        self.fault.apply()
        return impl

    def versions(self):
        return {**super().versions(), "fault": self.fault.name}


# ------------------------------------------------------------ patch machinery
_active: str | None = None
_undo: list[Callable[[], None]] = []
_MISSING = object()


def active() -> str | None:
    return _active


def reset():
    """Undo every patch of the active fault (classes created meanwhile keep what they saw)."""
    global _active
    while _undo:
        _undo.pop()()
    _active = None


def _set(owner, attr, value):
    previous = vars(owner).get(attr, _MISSING)

    def undo():
        if previous is _MISSING:
            delattr(owner, attr)
        else:
            setattr(owner, attr, previous)

    _undo.append(undo)
    setattr(owner, attr, value)


def _set_item(mapping, key, value):
    previous = mapping[key]
    _undo.append(lambda: mapping.__setitem__(key, previous))
    mapping[key] = value


class _Modules:
    """`R.layer` is `reference_impl.layer`, imported on first use."""

    def __getattr__(self, name):
        return importlib.import_module(f"reference_impl.{name}")


R = _Modules()


def _rebind(old, new):
    """Replace `old` by `new` wherever a reference_impl module binds it: module attributes
    (`from x import f`) and module-level dicts (name -> function registries)."""
    for module_name, module in list(sys.modules.items()):
        if module is None or not (module_name == "reference_impl" or module_name.startswith("reference_impl.")):
            continue
        for key, value in list(vars(module).items()):
            if value is old:
                _set(module, key, new)
            elif type(value) is dict:
                for k, v in list(value.items()):
                    if v is old:
                        _set_item(value, k, new)


def _edited(func, edits, owner=None):
    """A copy of `func` compiled from its source with each (old, new) edit applied once."""
    target = inspect.unwrap(func)
    lines = textwrap.dedent(inspect.getsource(target)).splitlines(keepends=True)
    while lines and lines[0].lstrip().startswith("@"):
        lines.pop(0)  # decorators are re-applied by the caller
    source = "".join(lines)
    for old, new in edits:
        found = source.count(old)
        if found != 1:
            raise FaultSiteError(f"{target.__module__}.{target.__qualname__}: expected {old!r} exactly once "
                                 f"in its source, found it {found} times")
        source = source.replace(old, new)
    freevars = set(target.__code__.co_freevars)
    if freevars - {"__class__"}:
        raise FaultSiteError(f"cannot re-create {target.__qualname__}: it closes over {sorted(freevars)}")
    filename = f"<fault edit of {target.__module__}.{target.__qualname__}>"
    if "__class__" in freevars:  # zero-argument super() needs the __class__ cell
        source = f"def _make(__class__):\n{textwrap.indent(source, '    ')}    return {target.__name__}\n"
    linecache.cache[filename] = (len(source), None, source.splitlines(keepends=True), filename)
    namespace = {}
    exec(compile(source, filename, "exec"), target.__globals__, namespace)
    new = namespace["_make"](owner) if "__class__" in freevars else namespace[target.__name__]
    new.__qualname__ = target.__qualname__
    new.__module__ = target.__module__
    return new


def _rewrite(owner, attr, *edits, decorate=None):
    """Replace `owner.attr` (a method, property or module function) by an edited copy."""
    current = inspect.getattr_static(owner, attr)
    if isinstance(current, property):
        new = property(_edited(current.fget, edits, owner), current.fset, current.fdel, current.__doc__)
    else:
        new = _edited(current, edits, owner if isinstance(owner, type) else None)
        if getattr(current, "_marks_built", False):  # Layer subclasses' build sets `built`
            new = R.layer._marks_built(new)
        if decorate is not None:
            new = decorate(new)
    _set(owner, attr, new)
    if not isinstance(owner, type):
        _rebind(current, new)


def _wrap(owner, attr, make):
    """Replace `owner.attr` by `make(original)`."""
    current = inspect.getattr_static(owner, attr)
    new = make(current)
    if callable(new) and callable(current) and not isinstance(current, type):
        functools.update_wrapper(new, current)
    _set(owner, attr, new)
    if not isinstance(owner, type):
        _rebind(current, new)


def _is_symbolic(x):
    return R.symbolic.is_symbolic(x)


def _leaves(structure):
    leaves = []
    R.layer._map_structure(leaves.append, structure)
    return leaves


# ======================================================================= CALL
@fault("CALL.INVOKES_CALL", "BUILD.BEFORE_CALL",
       upstream="keras/src/layers/layer.py Layer._maybe_build: for a layer without build() that may "
                "have unbuilt state, traces call with backend.compute_output_spec (symbolically), "
                "ignoring errors when eager")
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
    _rewrite(R.layer.Layer, "_convert_inputs",
             ("x = x.astype(self.compute_dtype)", "pass  # FAULT: no autocast"))


@fault("CALL.INTEGER_NOT_CAST")
def integers_autocast_to_float():
    """Autocast applies to every numeric input, integers included.

    Breaks: integer ids and indices arrive in `call` as float32 (CALL.INTEGER_NOT_CAST).
    """
    _rewrite(R.layer.Layer, "_convert_inputs",
             ("if np.issubdtype(x.dtype, np.floating) and x.dtype != self.compute_dtype:",
              "if np.issubdtype(x.dtype, np.number) and x.dtype != self.compute_dtype:  # FAULT"))


@fault("CALL.MODEL_SEQUENTIAL")
def dense_activation_ignored():
    """Dense stores its `activation` but `call` never applies it.

    Breaks: Dense(4, activation="relu") is linear, so a model chaining Dense layers no longer
    computes relu(x W1 + b1) W2 + b2 (CALL.MODEL_SEQUENTIAL).
    """
    _rewrite(R.layers.Dense, "call",
             ("return ACTIVATIONS[self.activation](outputs)", "return outputs  # FAULT: activation dropped"))


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


# ====================================================================== BUILD
@fault("BUILD.LAZY", upstream="keras/src/layers/layer.py Layer._build_at_init: built=True at "
                              "construction only if `build` is not overridden (utils.is_default)")
def built_at_construction():
    """`Layer.__init__` marks every layer built, so the first call never runs `build`.

    Keras 3 marks some layers whose `build` is not overridden built at construction; here the
    "not overridden" test is lost and every layer starts built. Breaks: a layer must be unbuilt
    until its first call, which creates its weights (BUILD.LAZY).
    """

    def make(original):
        def __init__(self, *args, **kwargs):
            original(self, *args, **kwargs)
            self.built = True  # FAULT

        return __init__

    _wrap(R.layer.Layer, "__init__", make)


@fault("BUILD.ONCE", "BUILD.NOT_FOR_NEW_BATCH", "BUILD.CALL_SEQUENCES", "BUILD.EXPLICIT_BUILD_WITH_SUPER")
def build_runs_every_call():
    """`_maybe_build` ignores `built`: `build` runs on every call.

    Breaks: each call re-creates the weights (BUILD.ONCE, BUILD.NOT_FOR_NEW_BATCH).
    """
    _rewrite(R.layer.Layer, "_maybe_build", ("if self.built:", "if False:  # FAULT: ignores built"))


@fault("BUILD.NOT_FOR_NEW_BATCH")
def build_again_for_new_batch_size():
    """The build cache is keyed on the full input shape, batch size included.

    Like a retrace keyed on the whole shape. Breaks: a call with a new batch size rebuilds the
    layer and re-creates its weights (BUILD.NOT_FOR_NEW_BATCH).
    """
    _rewrite(R.layer.Layer, "_maybe_build",
             ("if self.built:",
              "if self.built and getattr(self, '_fault_build_shape', None) == _shape_of(first_input):"),
             ("self.built = True",
              "self.built = True; self._fault_build_shape = _shape_of(first_input)  # FAULT"))


@fault("BUILD.INPUT_SHAPE", "BUILD.LIST_SHAPES", "BUILD.MULTI_ARG_FIRST_SHAPE")
def build_shape_batch_none():
    """`build` receives the input shape with the batch dimension replaced by None.

    A port standardises shapes as in functional construction. Breaks: `build(input_shape)`
    must receive the full shape of the actual input, (4, 3) not (None, 3) (BUILD.INPUT_SHAPE,
    BUILD.LIST_SHAPES, BUILD.MULTI_ARG_FIRST_SHAPE).
    """

    def make(original):
        def _shape_of(x):
            return R.layer._map_structure(lambda t: (None, *tuple(t.shape)[1:]) if t.shape else (), x)

        return _shape_of

    _wrap(R.layer, "_shape_of", make)


@fault("BUILD.LIST_SHAPES")
def multi_input_build_receives_only_first_shape():
    """For a list input, `build` receives the shape of the first tensor only.

    The rule for `call(self, a, b)` (first tensor's shape) applied to list inputs too. Breaks:
    `build` of a layer called on `[a, b]` must get both shapes (BUILD.LIST_SHAPES); Concatenate
    cannot validate its inputs.
    """
    _rewrite(R.layer.Layer, "_maybe_build",
             ("self.build(*([_shape_of(first_input)] if params else []))",
              "self.build(*([_shape_of(_flatten_all([first_input], {})[0])] if params else []))  # FAULT"))


@fault("BUILD.MULTI_ARG_FIRST_SHAPE")
def multi_arg_build_receives_all_shapes():
    """For `call(self, a, b)` with a one-argument `build`, `build` receives a list of all shapes.

    Breaks: Keras gives a single-argument `build` the first tensor's shape
    (BUILD.MULTI_ARG_FIRST_SHAPE); `input_shape[-1]` then indexes the wrong thing.
    """
    _rewrite(R.layer.Layer, "_maybe_build",
             ("self.build(*([_shape_of(first_input)] if params else []))",
              "self.build(*([_shape_of(first_input if len(args) < 2 else list(args))] if params else []))"
              "  # FAULT"))


@fault("BUILD.BUILT_FLAG", "BUILD.STATELESS_BUILT")
def built_flag_not_set():
    """Build state is tracked privately; the public `built` attribute always reads False.

    Builds still happen once. Breaks: callers use `built` to know whether weights exist
    (BUILD.BUILT_FLAG, BUILD.STATELESS_BUILT, BUILD.EXPLICIT_BUILD.K3, SYMBOLIC.BUILDS).
    """
    _rewrite(R.layer.Layer, "_maybe_build",
             ("if self.built:", "if self.__dict__.get('_fault_built'):  # FAULT"))
    _set(R.layer.Layer, "built", property(lambda self: False,
                                          lambda self, value: self.__dict__.__setitem__("_fault_built", value)))


@fault("BUILD.EXPLICIT_BUILD.K3", upstream="tf-keras: only Layer.build sets `built`; overrides must call "
                                           "super().build() (clause BUILD.EXPLICIT_BUILD_NEEDS_SUPER.K2)")
def explicit_build_reinitializes():
    """An explicit `layer.build(shape)` does not set `built` unless `build` calls super().build().

    The tf-keras behaviour. Breaks: after an explicit build the first call builds again and
    re-creates (re-initializes) the weights (BUILD.EXPLICIT_BUILD.K3).
    """
    layer = R.layer

    def _marks_built(build):  # classes defined from now on: build is not wrapped
        return build

    _set(layer, "_marks_built", _marks_built)

    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    for cls in list(subclasses(layer.Layer)):  # classes already defined: unwrap their build
        build = vars(cls).get("build")
        if build is not None and getattr(build, "_marks_built", False):
            _set(cls, "build", build.__wrapped__)

    def base_build(self, input_shape=None):
        self.built = True

    _set(layer.Layer, "build", base_build)


@fault("BUILD.WEIGHT_IDENTITY", "BUILD.EXPLICIT_BUILD.K3")
def weights_returns_copies():
    """`weights` returns fresh Variable snapshots instead of the layer's own weight objects.

    `weights` confused with `get_weights()`. Breaks: the objects in `weights` change on every
    access, so optimizers and checkpoints hold stale copies (BUILD.WEIGHT_IDENTITY,
    BUILD.EXPLICIT_BUILD.K3).
    """
    _rewrite(R.layer.Layer, "weights",
             ("return _unique(ordered)",
              "return [Variable(w.numpy(), w.name, w.trainable) for w in _unique(ordered)]  # FAULT"))


@fault("BUILD.NON_TRAINABLE_WEIGHTS", "BUILD.TRACKS_SUBLAYERS")
def non_trainable_weight_listed_as_trainable():
    """`add_weight(trainable=False)` does not pass `trainable` on: every weight is trainable.

    Breaks: BatchNormalization's moving statistics land in `trainable_weights`
    (BUILD.NON_TRAINABLE_WEIGHTS, BUILD.TRACKS_SUBLAYERS).
    """
    _rewrite(R.layer.Layer, "add_weight",
             ("trainable=trainable)", "trainable=True)  # FAULT: flag not forwarded"))


@fault("BUILD.NON_TRAINABLE_WEIGHTS")
def weights_in_creation_order():
    """`weights` lists a layer's own weights in creation order, not trainable first.

    Breaks: created a, n1, b, n2 -> `weights` must be [a, b, n1, n2], which get_weights /
    set_weights rely on (BUILD.NON_TRAINABLE_WEIGHTS).
    """
    _rewrite(R.layer.Layer, "weights",
             ("ordered = [w for w in self._own_weights if w.trainable] + [",
              "ordered = list(self._own_weights) + [  # FAULT: creation order"))


@fault("BUILD.WEIGHTS_ORDER_BY_LAYER.K3",
       upstream="tf-keras Layer.weights = trainable_weights + non_trainable_weights "
                "(clause BUILD.WEIGHTS_ORDER_TRAINABLE_FIRST.K2)")
def weights_trainable_first_across_layers():
    """A composite's `weights` lists all trainable weights of all sub-layers, then all non-trainable.

    The tf-keras order. Breaks: Keras 3 lists each sub-layer's weights together
    (BUILD.WEIGHTS_ORDER_BY_LAYER.K3), so get_weights() arrays no longer line up.
    """

    def make(original):
        def weights(self):
            listed = original.fget(self)
            return [w for w in listed if w.trainable] + [w for w in listed if not w.trainable]

        return property(weights)

    _wrap(R.layer.Layer, "weights", make)


@fault("BUILD.TRACKS_SUBLAYERS", upstream="PyTorch registers no module held in a plain list "
                                          "(hence nn.ModuleList)")
def sublayers_in_lists_not_tracked():
    """Sub-layers held in lists (or tuples) are not tracked; only direct attributes are.

    Breaks: the weights of `self.blocks = [Dense(3), Dense(2)]` are missing from the parent's
    `weights` and `trainable_weights`, so fit never trains them (BUILD.TRACKS_SUBLAYERS).
    """
    _rewrite(R.layer.Layer, "_sublayers",
             ("elif isinstance(value, (list, tuple)):", "elif isinstance(value, ()):  # FAULT: lists ignored"))


@fault("BUILD.SHARED_LAYER_ONE_SET", "CALL.MODEL_SHARED_CONCAT")
def shared_layer_creates_weights_per_call():
    """A layer called a second time inside one parent call builds a new set of weights.

    Like TF 1.x variable scopes without `reuse=True`: each call site creates variables. Breaks:
    a shared layer must hold one set of weights (BUILD.SHARED_LAYER_ONE_SET,
    CALL.MODEL_SHARED_CONCAT).
    """
    context = R.context

    def make(original):
        def __call__(self, *args, **kwargs):
            ctx = context._current
            if ctx is not None:
                seen = ctx.__dict__.setdefault("_fault_called", [])
                if any(self is layer for layer in seen):
                    self.built = False  # FAULT: a new call site builds again
                else:
                    seen.append(self)
            return original(self, *args, **kwargs)

        return __call__

    _wrap(R.layer.Layer, "__call__", make)


@fault("BUILD.STATELESS_BUILT")
def built_not_set_without_build():
    """Only an overridden `build` sets `built`; `__call__` never does.

    Breaks: a layer without `build()` (Dropout, a custom stateless layer) never reports
    built (BUILD.STATELESS_BUILT).
    """
    _rewrite(R.layer.Layer, "__call__", ("self.built = True", "pass  # FAULT"))
    _rewrite(R.layer.Layer, "_maybe_build", ("self.built = True", "pass  # FAULT"))


@fault("BUILD.DENSE_WEIGHT_SHAPES", upstream="torch.nn.Linear.weight has shape (out_features, in_features)")
def dense_kernel_transposed():
    """Dense stores its kernel as (units, input_dim) and multiplies by its transpose.

    The PyTorch layout. Outputs are right. Breaks: the kernel must be (input_dim, units) for
    weight transfer and set_weights (BUILD.DENSE_WEIGHT_SHAPES).
    """
    _rewrite(R.layers.Dense, "build",
             ("shape=(input_dim, self.units)", "shape=(self.units, input_dim)"))
    autodiff = R.autodiff

    def call(self, inputs):
        kernel = self.kernel.value
        outputs = autodiff.record(
            np.matmul(inputs, kernel.T), [inputs, self.kernel],
            lambda g: [np.matmul(g, kernel),
                       np.matmul(g.reshape(-1, g.shape[-1]).T, np.reshape(inputs, (-1, inputs.shape[-1])))])
        if self.use_bias:
            outputs = R.ops.add(outputs, self.bias)
        return R.layers.ACTIVATIONS[self.activation](outputs)

    _set(R.layers.Dense, "call", call)


# ====================================================================== INPUT
@fault("INPUT.NDIM", "INPUT.MIN_NDIM", "INPUT.MAX_NDIM", "INPUT.AXIS_VALUE", "INPUT.SHAPE", "INPUT.DTYPE",
       "INPUT.DENSE_LAST_AXIS", "INPUT.NUMBER_OF_INPUTS", "INPUT.EACH_INPUT_CHECKED",
       "INPUT.BEFORE_BUILD_AND_CALL", "INPUT.SYMBOLIC_CHECKED")
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
    _rewrite(R.input_spec, "assert_input_compatibility",
             ("if spec.ndim is not None and ndim != spec.ndim:",
              "if spec.ndim is not None and ndim < spec.ndim:  # FAULT"))


@fault("INPUT.MIN_NDIM", "INPUT.MAX_NDIM")
def min_max_ndim_swapped():
    """The comparisons of the min_ndim and max_ndim checks are swapped.

    Breaks: inputs below `min_ndim` and above `max_ndim` are accepted (INPUT.MIN_NDIM,
    INPUT.MAX_NDIM), and valid ones may be rejected.
    """
    _rewrite(R.input_spec, "assert_input_compatibility",
             ("ndim > spec.max_ndim:", "ndim < spec.max_ndim:  # FAULT"),
             ("ndim < spec.min_ndim:", "ndim > spec.min_ndim:  # FAULT"))


@fault("INPUT.SPEC_ACCEPTS_VALID")
def max_ndim_off_by_one():
    """The max_ndim check uses >=: an input of exactly `max_ndim` dimensions is rejected.

    Breaks: inputs meeting the spec must be accepted (INPUT.SPEC_ACCEPTS_VALID).
    """
    _rewrite(R.input_spec, "assert_input_compatibility",
             ("ndim > spec.max_ndim:", "ndim >= spec.max_ndim:  # FAULT"))


@fault("INPUT.AXIS_VALUE", "INPUT.DENSE_LAST_AXIS", "INPUT.SYMBOLIC_CHECKED")
def negative_axis_not_checked():
    """An axes entry is checked only if `0 <= axis < ndim`: negative axes are skipped.

    Breaks: `InputSpec(axes={-1: 5})`, which Dense sets in build, accepts any last-axis size
    (INPUT.AXIS_VALUE, INPUT.DENSE_LAST_AXIS, INPUT.SYMBOLIC_CHECKED).
    """
    _rewrite(R.input_spec, "assert_input_compatibility",
             ("if value is not None and shape[axis] not in (value, None):",
              "if value is not None and 0 <= axis < ndim and shape[axis] not in (value, None):  # FAULT"))


@fault("INPUT.SPEC_ACCEPTS_VALID")
def axis_check_reads_wrong_axis():
    """A negative axis is normalised as `axis + ndim - 1`: axes={-1: n} reads axis 0 of a 2-D input.

    Breaks: an input whose last axis matches is rejected because its batch size does not
    (INPUT.SPEC_ACCEPTS_VALID); Dense rejects most inputs after its first call.
    """
    _rewrite(R.input_spec, "assert_input_compatibility",
             ("if value is not None and shape[axis] not in (value, None):",
              "if value is not None and shape[axis + ndim - 1 if axis < 0 else axis] not in (value, None):"
              "  # FAULT"))


@fault("INPUT.SHAPE", "INPUT.SPEC_ACCEPTS_VALID")
def shape_none_not_wildcard():
    """A None in `InputSpec(shape=...)` is compared literally instead of matching any size.

    Breaks: `shape=(None, 3)` must accept (11, 3) (INPUT.SHAPE, INPUT.SPEC_ACCEPTS_VALID).
    """
    _rewrite(R.input_spec, "assert_input_compatibility",
             ("if spec_dim is not None and dim is not None and spec_dim != dim:",
              "if dim is not None and spec_dim != dim:  # FAULT"))


@fault("INPUT.DTYPE")
def dtype_not_checked():
    """`InputSpec(dtype=...)` is stored but never checked.

    Breaks: an int32 input passes a float32 spec (INPUT.DTYPE).
    """
    _rewrite(R.input_spec, "assert_input_compatibility",
             ("if spec.dtype is not None and str(np.dtype(x.dtype)) != spec.dtype:", "if False:  # FAULT"))


@fault("INPUT.DTYPE_CHECKED_AFTER_AUTOCAST.K3",
       upstream="tf-keras base_layer.__call__ checks input compatibility before casting "
                "(clause INPUT.DTYPE_CHECKED_BEFORE_AUTOCAST.K2)")
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
    _rewrite(R.input_spec, "assert_input_compatibility",
             ("if len(tensors) != len(specs):", "if False:  # FAULT"))


@fault("INPUT.EACH_INPUT_CHECKED")
def only_first_input_checked():
    """Only the first input of a list is checked against its spec.

    Breaks: every input must be checked against its own spec (INPUT.EACH_INPUT_CHECKED).
    """
    _rewrite(R.input_spec, "assert_input_compatibility",
             ("zip(tensors, specs)", "zip(tensors[:1], specs[:1])"))


@fault("INPUT.BEFORE_BUILD_AND_CALL", "INPUT.REJECTED_CALL_CHANGES_NOTHING")
def spec_checked_after_build():
    """`__call__` builds first and checks the InputSpec afterwards.

    Breaks: a rejected first call has already run `build`, created weights and marked the
    layer built (INPUT.BEFORE_BUILD_AND_CALL, INPUT.REJECTED_CALL_CHANGES_NOTHING).
    """
    _rewrite(R.layer.Layer, "__call__",
             ("assert_input_compatibility(self.input_spec, first_input, self.name)\n"
              "    self._maybe_build(args, kwargs, first_input)",
              "self._maybe_build(args, kwargs, first_input)  # FAULT: build first\n"
              "    assert_input_compatibility(self.input_spec, first_input, self.name)"))


@fault("INPUT.ERROR_MESSAGE")
def error_message_without_layer_name():
    """The input-compatibility error does not name the layer.

    Breaks: the user cannot tell which layer rejected the input (INPUT.ERROR_MESSAGE).
    """
    _rewrite(R.input_spec, "assert_input_compatibility",
             ("f\"Input {index} of layer '{layer_name}' is incompatible", "f\"Input {index} is incompatible"))


@fault("INPUT.ERROR_FULL_SHAPE")
def error_message_without_full_shape():
    """The input-compatibility error does not show the full received shape.

    Breaks: INPUT.ERROR_FULL_SHAPE (e.g. 'expected ndim=2, found ndim=3' alone).
    """
    _rewrite(R.input_spec, "assert_input_compatibility",
             ('f"expected {expected}, found {found}. Full shape received: {shape}"',
              'f"expected {expected}, found {found}."  # FAULT'))


@fault("INPUT.DENSE_LAST_AXIS", "INPUT.SYMBOLIC_CHECKED")
def dense_input_spec_not_refined_in_build():
    """Dense keeps `InputSpec(min_ndim=2)` after build instead of pinning the last axis.

    Breaks: a wrong feature size is caught only by matmul, with a backend error that names
    neither the layer nor axis -1 (INPUT.DENSE_LAST_AXIS), and not at all symbolically
    (INPUT.SYMBOLIC_CHECKED).
    """
    _rewrite(R.layers.Dense, "build",
             ("self.input_spec = InputSpec(min_ndim=2, axes={-1: input_dim})", "pass  # FAULT"))


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


# ==================================================================== DROPOUT
@fault("TRAIN.DROPOUT_SCALE")
def dropout_not_rescaled():
    """Dropout zeroes elements in training but does not scale the survivors by 1/(1-rate).

    Breaks: TRAIN.DROPOUT_SCALE (the expected activation shrinks by (1-rate) in training).
    """
    _rewrite(R.layers.Dropout, "call",
             ("scale = 0.0 if self.rate == 1 else 1.0 / (1.0 - self.rate)", "scale = 1.0  # FAULT"))


@fault("TRAIN.DROPOUT_INFERENCE_IDENTITY", "TRAIN.OMITTED_IS_NONE")
def dropout_none_means_training():
    """Dropout tests `training is False` instead of truthiness: None means training.

    Breaks: Dropout called with training None or omitted must be the identity
    (TRAIN.DROPOUT_INFERENCE_IDENTITY, TRAIN.OMITTED_IS_NONE).
    """
    _rewrite(R.layers.Dropout, "call",
             ("if not training or self.rate == 0:", "if training is False or self.rate == 0:  # FAULT"))


@fault("TRAIN.DROPOUT_INFERENCE_IDENTITY", "TRAIN.DROPOUT_SCALE",
       upstream="original (non-inverted) dropout, Srivastava et al. 2014: scale by the keep "
                "probability at test time")
def dropout_scaled_at_inference():
    """Non-inverted dropout: survivors are not scaled in training; inference multiplies by 1-rate.

    Breaks: Keras uses inverted dropout, identity at inference (TRAIN.DROPOUT_INFERENCE_IDENTITY)
    and survivors scaled by 1/(1-rate) in training (TRAIN.DROPOUT_SCALE).
    """
    _rewrite(R.layers.Dropout, "call",
             ("if not training or self.rate == 0:\n        return inputs",
              "if not training or self.rate == 0:  # FAULT: scale at inference\n"
              "        return ops.multiply(inputs, np.asarray(1.0 - self.rate, dtype=inputs.dtype))"),
             ("scale = 0.0 if self.rate == 1 else 1.0 / (1.0 - self.rate)", "scale = 1.0  # FAULT"))


@fault("TRAIN.DROPOUT_RATE", "TRAIN.DROPOUT_RATE_ZERO", "TRAIN.DROPOUT_SCALE",
       upstream="TF 1.x tf.nn.dropout(x, keep_prob) vs Keras Dropout(rate)")
def dropout_rate_as_keep_probability():
    """Dropout reads `rate` as the keep probability (the TF 1.x `keep_prob` argument).

    Breaks: Dropout(0.1) drops 90% of the elements and scales survivors by 1/0.1
    (TRAIN.DROPOUT_RATE, TRAIN.DROPOUT_SCALE); Dropout(0.0) drops everything
    (TRAIN.DROPOUT_RATE_ZERO).
    """
    _rewrite(R.layers.Dropout, "call",
             ("if not training or self.rate == 0:", "if not training or self.rate == 1:  # FAULT"),
             ("keep = generator.random(inputs.shape) >= self.rate",
              "keep = generator.random(inputs.shape) < self.rate  # FAULT: rate kept"),
             ("scale = 0.0 if self.rate == 1 else 1.0 / (1.0 - self.rate)",
              "scale = 0.0 if self.rate == 0 else 1.0 / self.rate  # FAULT"))


@fault("TRAIN.DROPOUT_FRESH_MASK", "TRAIN.DROPOUT_PER_POSITION_RATE", "TRAIN.DROPOUT_SEEDED")
def dropout_frozen_mask():
    """A seeded Dropout creates its generator from the seed inside `call`: the same mask every call.

    Breaks: each training call must draw a new mask (TRAIN.DROPOUT_FRESH_MASK).
    """
    _rewrite(R.layers.Dropout, "call",
             ("generator = self._generator or random.global_generator()",
              "generator = np.random.default_rng(self.seed) if self.seed is not None "
              "else random.global_generator()  # FAULT"))


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
    _rewrite(R.layers.Dropout, "__init__",
             ("self._generator = None if seed is None else np.random.default_rng(seed)",
              "self._generator = None  # FAULT"))


@fault("TRAIN.DROPOUT_RATE", "TRAIN.DROPOUT_FRESH_MASK", "TRAIN.DROPOUT_GLOBAL_SEED")
def dropout_mask_shared_across_batch():
    """Dropout draws one mask for the feature axes and broadcasts it over the batch.

    A `noise_shape=(1, features)` default. Breaks: elements must be dropped independently
    (TRAIN.DROPOUT_RATE); the zero count and the changed-mask count become 200 times a
    Binomial(100, p), far more spread than Binomial(20000, p) (TRAIN.DROPOUT_FRESH_MASK).
    """
    _rewrite(R.layers.Dropout, "call",
             ("keep = generator.random(inputs.shape) >= self.rate",
              "keep = generator.random((1, *inputs.shape[1:])) >= self.rate  # FAULT"))


# ========================================================= BATCHNORMALIZATION
@fault("TRAIN.BN_DEFAULTS", upstream="torch.nn.BatchNorm*d(eps=1e-05)")
def bn_epsilon_default_pytorch():
    """BatchNormalization's default epsilon is 1e-5 (PyTorch's) instead of 1e-3.

    Breaks: TRAIN.BN_DEFAULTS, and the numbers of every BN formula for small variances.
    """
    _rewrite(R.layers.BatchNormalization, "__init__", ("epsilon=1e-3", "epsilon=1e-5"))


@fault("TRAIN.BN_TRAINING_BATCH_STATS", "TRAIN.BN_MOVING_UPDATE")
def bn_unbiased_variance():
    """BatchNormalization uses the unbiased batch variance (divides by n - 1).

    Breaks: Keras normalizes with, and averages, the biased variance
    (TRAIN.BN_TRAINING_BATCH_STATS, TRAIN.BN_MOVING_UPDATE).
    """
    _rewrite(R.layers.BatchNormalization, "call",
             ("variance = x.var(axis=reduce_axes)  # biased (divides by n)",
              "variance = x.var(axis=reduce_axes, ddof=1)  # FAULT: unbiased"))


@fault("TRAIN.BN_MOVING_UPDATE",
       upstream="torch.nn.BatchNorm: running = (1 - momentum) * running + momentum * batch")
def bn_pytorch_momentum():
    """The moving average uses the PyTorch convention: moving = (1-m) * moving + m * batch.

    Breaks: with Keras's momentum 0.99 the moving statistics jump to the batch statistics
    (TRAIN.BN_MOVING_UPDATE).
    """
    _rewrite(R.layers.BatchNormalization, "call",
             ("moving.assign(self.momentum * moving.value + (1.0 - self.momentum) * batch)",
              "moving.assign((1.0 - self.momentum) * moving.value + self.momentum * batch)  # FAULT"))


@fault("TRAIN.BN_MOVING_UPDATE", upstream="torch.nn.BatchNorm updates running_var with the unbiased variance")
def bn_moving_variance_unbiased():
    """The moving variance averages the unbiased batch variance (normalization stays biased).

    Breaks: Keras averages the biased variance (TRAIN.BN_MOVING_UPDATE).
    """
    _rewrite(R.layers.BatchNormalization, "call",
             ("(self.moving_variance, variance)",
              "(self.moving_variance, x.var(axis=reduce_axes, ddof=1))"))


@fault("TRAIN.BN_TRAINING_BATCH_STATS", "TRAIN.BN_INFERENCE")
def bn_epsilon_outside_sqrt():
    """BatchNormalization divides by sqrt(var) + epsilon instead of sqrt(var + epsilon).

    Breaks: the normalization formula (TRAIN.BN_TRAINING_BATCH_STATS, TRAIN.BN_INFERENCE).
    """
    _rewrite(R.layers.BatchNormalization, "call",
             ("inv_std = 1.0 / np.sqrt(variance + self.epsilon)",
              "inv_std = 1.0 / (np.sqrt(variance) + self.epsilon)  # FAULT"))


@fault("TRAIN.BN_INFERENCE")
def bn_batch_stats_in_inference():
    """In inference BatchNormalization normalizes with the batch statistics (updating nothing).

    Breaks: inference must use the moving statistics, so outputs do not depend on the rest of
    the batch (TRAIN.BN_INFERENCE).
    """
    _rewrite(R.layers.BatchNormalization, "call",
             ("mean, variance = self.moving_mean.value, self.moving_variance.value",
              "mean, variance = x.mean(axis=reduce_axes), x.var(axis=reduce_axes)  # FAULT"))


@fault("TRAIN.BN_INFERENCE", "TRAIN.INFERENCE_METHODS", "TRAIN.FIT_NO_TRAINING_PARAM.K3")
def bn_updates_in_inference():
    """BatchNormalization updates its moving statistics on every call, whatever `training` is.

    Like TF 1.x update ops run unconditionally. Breaks: inference must not change the model
    (TRAIN.BN_INFERENCE, TRAIN.INFERENCE_METHODS, TRAIN.FIT_NO_TRAINING_PARAM.K3).
    """
    _rewrite(R.layers.BatchNormalization, "call",
             ("mean, variance = self.moving_mean.value, self.moving_variance.value",
              "mean, variance = self.moving_mean.value, self.moving_variance.value\n"
              "        for moving, batch in ((self.moving_mean, x.mean(axis=reduce_axes)),  # FAULT\n"
              "                              (self.moving_variance, x.var(axis=reduce_axes))):\n"
              "            moving.assign(self.momentum * moving.value + (1.0 - self.momentum) * batch)"))


@fault("TRAIN.BN_FROZEN_IS_INFERENCE")
def bn_trainable_false_ignored():
    """BatchNormalization with `trainable=False` still uses batch statistics and updates in training.

    The pre-TF-2.0 behaviour. Breaks: a frozen BN must run in inference mode
    (TRAIN.BN_FROZEN_IS_INFERENCE), the basis of fine-tuning.
    """
    _rewrite(R.layers.BatchNormalization, "call",
             ("if training and self.trainable:", "if training:  # FAULT"),
             ("batch_stats = bool(training and self.trainable)", "batch_stats = bool(training)  # FAULT"))


@fault("TRAIN.BN_FROZEN_IS_INFERENCE")
def trainable_flag_not_applied_to_weights():
    """`layer.trainable = False` does not remove the layer's weights from `trainable_weights`.

    Breaks: a frozen layer must list all its weights as non-trainable, or fit keeps
    training them (TRAIN.BN_FROZEN_IS_INFERENCE).
    """
    _rewrite(R.layer.Layer, "trainable_weights", ("if not self.trainable:", "if False:  # FAULT"))


# ================================================================ PROPAGATION
@fault("TRAIN.PROPAGATES_TO_NESTED", "TRAIN.FIT_IS_TRAINING")
def training_not_propagated():
    """A layer called without `training` does not inherit the value of the enclosing call.

    Breaks: `model(x, training=True)` must reach nested Dropout/BN called without it
    (TRAIN.PROPAGATES_TO_NESTED, TRAIN.FIT_IS_TRAINING).
    """
    _rewrite(R.context, "resolve_training", ("elif ctx.training is not None:", "elif False:  # FAULT"))


@fault("TRAIN.PROPAGATES_TO_NESTED")
def training_dropped_by_call_without_param():
    """A `training` value given to a layer whose `call` has no `training` parameter is discarded.

    Breaks: the value must still reach the nested layers through the call context
    (TRAIN.PROPAGATES_TO_NESTED).
    """
    _rewrite(R.layer.Layer, "__call__",
             ("training = context.resolve_training(ctx, explicit, default)",
              "training = context.resolve_training(ctx, explicit if param is not None else {}, default)"
              "  # FAULT"))


@fault("TRAIN.OMITTED_IS_NONE", "CALL.MODEL_CONDITIONAL_TRAINING", "TRAIN.DROPOUT_INFERENCE_IDENTITY",
       "TRAIN.BN_INFERENCE", upstream="torch.nn.Module starts in train mode")
def omitted_training_treated_as_true():
    """When `training` is omitted everywhere, layers run in training mode.

    Breaks: eager calls default to inference (TRAIN.OMITTED_IS_NONE,
    CALL.MODEL_CONDITIONAL_TRAINING, TRAIN.DROPOUT_INFERENCE_IDENTITY, TRAIN.BN_INFERENCE).
    """
    _rewrite(R.context, "resolve_training",
             ("value = signature_default", "value = True if signature_default is None else signature_default"))


@fault("TRAIN.OMITTED_IS_NONE")
def omitted_training_becomes_false():
    """When `training` is omitted everywhere, nested layers receive False instead of None.

    Breaks: TRAIN.OMITTED_IS_NONE (code that tells 'not given' from 'inference' sees False).
    """
    _rewrite(R.context, "resolve_training",
             ("value = signature_default", "value = False if signature_default is None else signature_default"))


@fault("TRAIN.OMITTED_IS_NONE")
def training_context_leaks_across_calls():
    """The call context is never cleared: a later top-level call inherits the last `training`.

    Like a global learning phase left set. Breaks: a top-level call without `training` must
    start from None (TRAIN.OMITTED_IS_NONE).
    """
    _rewrite(R.context, "call_context",
             ("if created:\n            _current = None", "pass  # FAULT: context kept"),
             decorate=contextlib.contextmanager)


@fault("TRAIN.INNER_EXPLICIT_WINS", "TRAIN.INNER_EXPLICIT_SCOPE.K3")
def inner_explicit_training_overridden_by_outer():
    """An inner call's explicit `training=` is ignored when the enclosing call has a value.

    Breaks: the explicit value must win for that call (TRAIN.INNER_EXPLICIT_WINS).
    """
    _rewrite(R.context, "resolve_training",
             ('if "training" in explicit_kwargs:',
              'if "training" in explicit_kwargs and ctx.training is None:  # FAULT'))


@fault("TRAIN.INNER_EXPLICIT_SCOPE.K3",
       upstream="tf-keras restores the call-context training value on exit "
                "(clause TRAIN.INNER_EXPLICIT_SCOPE.K2)")
def inner_explicit_training_scoped_to_call():
    """An inner explicit `training=` applies to that call only; later siblings get the outer value.

    The tf-keras behaviour. Breaks: Keras 3 writes it to the shared context, so later siblings
    inherit it (TRAIN.INNER_EXPLICIT_SCOPE.K3).
    """
    context = R.context

    def make(original):
        def __call__(self, *args, **kwargs):
            ctx = context._current
            if ctx is None or "training" not in kwargs:
                return original(self, *args, **kwargs)
            saved = ctx.training
            try:
                return original(self, *args, **kwargs)
            finally:
                ctx.training = saved  # FAULT: restored on exit

        return __call__

    _wrap(R.layer.Layer, "__call__", make)


# ======================================================================== FIT
@fault("TRAIN.FIT_IS_TRAINING")
def fit_never_passes_training():
    """The train step calls the model as `self(x)`, without `training=True`.

    Breaks: fit must train nested Dropout/BN of a model whose call accepts `training`
    (TRAIN.FIT_IS_TRAINING).
    """
    _rewrite(R.model.Model, "train_on_batch",
             ("y_pred = self._forward(x, training=True)", "y_pred = self(x)  # FAULT"))


@fault("TRAIN.FIT_NO_TRAINING_PARAM.K3",
       upstream="tf-keras Model.train_step: self(x, training=True) (clause TRAIN.FIT_NO_TRAINING_PARAM.K2)")
def fit_passes_training_true_always():
    """The train and inference steps pass `training=` even when the model's call has no such parameter.

    The tf-keras behaviour. Breaks: Keras 3 calls such a model without `training`, so its nested
    layers run in inference under fit (TRAIN.FIT_NO_TRAINING_PARAM.K3).
    """
    _rewrite(R.model.Model, "_forward", ("if self._call_has_training_arg():", "if True:  # FAULT"))


@fault("TRAIN.INFERENCE_METHODS", upstream="PyTorch: inference without model.eval() runs Dropout/BN "
                                           "in training mode")
def predict_runs_training():
    """`predict` / `predict_on_batch` run the model with `training=True`.

    Breaks: prediction must not train BN or apply Dropout (TRAIN.INFERENCE_METHODS).
    """
    _rewrite(R.model.Model, "predict_on_batch", ("training=False", "training=True"))


@fault("TRAIN.INFERENCE_METHODS")
def evaluate_runs_training():
    """`evaluate` / `test_on_batch` reuse the training forward pass (`training=True`).

    Breaks: evaluation must not change the model (TRAIN.INFERENCE_METHODS).
    """
    _rewrite(R.model.Model, "test_on_batch", ("training=False", "training=True"))


@fault("TRAIN.FIT_SGD_STEP")
def sgd_wrong_sign():
    """SGD adds the scaled gradient: w <- w + learning_rate * grad.

    Breaks: gradient ascent (TRAIN.FIT_SGD_STEP).
    """
    _rewrite(R.optimizers.SGD, "apply",
             ("variable.value - self.learning_rate * grad", "variable.value + self.learning_rate * grad"))


@fault("TRAIN.FIT_SGD_STEP")
def mse_gradient_not_averaged():
    """The mse gradient is that of the summed loss while the reported loss is the mean.

    A reduction mismatch. Breaks: the step is batch-size times too large (TRAIN.FIT_SGD_STEP).
    """
    _rewrite(R.losses, "mean_squared_error",
             ("(2.0 * diff / diff.size)", "(2.0 * diff)"))


# ====================================================================== MULTI
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
    _rewrite(R.layers.Concatenate, "call",
             ("ops.concatenate(list(inputs), axis=self.axis)", "ops.concatenate(list(inputs))  # FAULT"))


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
    _rewrite(R.layers.Concatenate, "build",
             ("if not isinstance(input_shape, (list, tuple)) or not input_shape or not isinstance(input_shape[0], "
              "tuple):", "if not input_shape:  # FAULT"))


# =================================================================== SYMBOLIC
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
                lambda t: symbolic.SymbolicTensor(tuple(1 if d is None else d for d in t.shape), t.dtype)
                if _is_symbolic(t) else t, out)  # FAULT

        return compute_output_spec

    _wrap(R.layer.Layer, "compute_output_spec", make)


@fault("SYMBOLIC.BUILDS", "INPUT.SYMBOLIC_CHECKED")
def symbolic_call_does_not_build():
    """A symbolic call propagates shapes without building the layer (but marks it built).

    Breaks: a layer called on `Input` must have its weights (SYMBOLIC.BUILDS), and Dense's
    input spec is not pinned (INPUT.SYMBOLIC_CHECKED).
    """
    _rewrite(R.layer.Layer, "__call__",
             ("self._maybe_build(args, kwargs, first_input)",
              "if not any(is_symbolic(x) for x in _flatten_all(args, kwargs)):  # FAULT\n"
              "        self._maybe_build(args, kwargs, first_input)"))


@fault("SYMBOLIC.NO_DATA")
def symbolic_call_updates_bn_state():
    """Symbolic shapes are inferred by running `call` on zeros: stateful layers update their state.

    A dummy forward pass for shape inference. Breaks: a symbolic call must change no state;
    BatchNormalization(training=True) on `Input` moves its moving variance (SYMBOLIC.NO_DATA).
    """
    symbolic = R.symbolic
    layer = R.layer

    def compute_output_spec(self, *args, **kwargs):
        outputs = self.call(*layer._map_structure(_concrete, args),
                            **{k: layer._map_structure(_concrete, v) for k, v in kwargs.items()})  # FAULT
        return layer._map_structure(
            lambda t: symbolic.SymbolicTensor((None, *np.shape(t)[1:]), np.asarray(t).dtype), outputs)

    _set(layer.Layer, "compute_output_spec", compute_output_spec)


# ================================================ FORMER SURVIVORS (checks strengthened)
# These survived the first version of the suites; each check was strengthened so they die now.
@fault("CALL.MODEL_SEQUENTIAL")
def dense_activation_before_bias():
    """Dense applies its activation before adding the bias: relu(x W) + b.

    Breaks: CALL.MODEL_SEQUENTIAL (relu(x W1 + b1) W2 + b2) as soon as the bias is not zero.
    """
    _rewrite(R.layers.Dense, "call",
             ("outputs = ops.matmul(inputs, self.kernel)",
              "outputs = ACTIVATIONS[self.activation](ops.matmul(inputs, self.kernel))  # FAULT"),
             ("return ACTIVATIONS[self.activation](outputs)", "return outputs"))


@fault("INPUT.EACH_INPUT_CHECKED")
def only_last_input_checked():
    """Only the last input of a list is checked against its spec.

    Breaks: every input must be checked against its own spec (INPUT.EACH_INPUT_CHECKED).
    """
    _rewrite(R.input_spec, "assert_input_compatibility",
             ("for index, (x, spec) in enumerate(zip(tensors, specs)):",
              "for index, (x, spec) in list(enumerate(zip(tensors, specs)))[-1:]:  # FAULT"))


@fault("TRAIN.BN_TRAINING_BATCH_STATS", "TRAIN.BN_MOVING_UPDATE")
def bn_axis_ignored():
    """BatchNormalization ignores `axis` and always normalizes over the last axis.

    Breaks: channels-first BatchNormalization(axis=1) (TRAIN.BN_TRAINING_BATCH_STATS,
    TRAIN.BN_MOVING_UPDATE).
    """
    _rewrite(R.layers.BatchNormalization, "__init__", ("self.axis = axis", "self.axis = -1  # FAULT"))


@fault("TRAIN.BN_TRAINING_BATCH_STATS", "TRAIN.BN_INFERENCE")
def bn_scale_and_center_ignored():
    """BatchNormalization never applies gamma and beta.

    Breaks: TRAIN.BN_TRAINING_BATCH_STATS ((x - mean) / sqrt(var + eps) * gamma + beta) and
    TRAIN.BN_INFERENCE once gamma and beta are trained.
    """
    _rewrite(R.layers.BatchNormalization, "call",
             ("outputs = (x_hat * b(gamma) + b(beta)).astype(x.dtype)",
              "outputs = x_hat.astype(x.dtype)  # FAULT"))


