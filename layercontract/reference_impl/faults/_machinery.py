"""The fault machinery: the Fault record, the @fault registry, FaultyReference and the
patch helpers every area module uses (see the package docstring)."""

from __future__ import annotations

import dataclasses
import functools
import importlib
import inspect
import linecache
import sys
import textwrap
from collections.abc import Callable

from layercontract.backends.reference import ReferenceBackend


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
        importlib.import_module("layercontract.reference_impl")
        try:
            self.patch()
        except BaseException:
            reset()
            raise
        _active = self.name


FAULTS: dict[str, Fault] = {}
KNOWN_SURVIVORS: dict[str, Fault] = {}

_K2_ONLY = (
    "keras2-only clause: the faulty reference runs as edition keras3, where this clause's "
    "checks are not applicable, so no fault of the reference can make them fail; "
    "tests/suites/test_checks_can_fail.py shows its checks fail on the reference claiming keras2"
)
_NEEDS_COMPILED = (
    "the check needs backend capability 'compiled', which the reference backend lacks: "
    "it is reported unsupported under every fault; tests/suites/test_checks_can_fail.py shows "
    "it fails on an adapter with a broken compiled mode"
)
_DIFFERENTIAL = (
    "differential check of the backend against reference_impl: under a fault the `reference_K` "
    "side is the same patched reference_impl (one module per process), so both sides carry "
    "the fault and agree; tests/suites/test_checks_can_fail.py shows it fails on adapters with one "
    "skewed layer"
)
NO_FAULT_APPLIES: dict[str, str] = {
    "CALL.CONVERTS_NUMPY": (
        "the reference's backend tensor type is numpy.ndarray itself: a numpy input that skipped "
        "conversion already is a 'backend tensor', so no conversion mistake in __call__ is "
        "observable through ops.is_tensor (the rule is vacuous on numpy-typed backends: reference, "
        "keras-numpy). Its check can still fail through another rule: call_traced_before_build "
        "makes the probe record two calls"
    ),
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
        registry[patch.__name__] = Fault(patch.__name__, description, tuple(targets), patch, upstream, survives)
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
        + (f"; known survivors: {', '.join(KNOWN_SURVIVORS)}" if KNOWN_SURVIVORS else "")
    )


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
        return importlib.import_module(f"layercontract.reference_impl.{name}")


R = _Modules()


def _rebind(old, new):
    """Replace `old` by `new` wherever a reference_impl module binds it: module attributes
    (`from x import f`) and module-level dicts (name -> function registries)."""
    for module_name, module in list(sys.modules.items()):
        if module is None or not (
            module_name == "layercontract.reference_impl" or module_name.startswith("layercontract.reference_impl.")
        ):
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
            raise FaultSiteError(
                f"{target.__module__}.{target.__qualname__}: expected {old!r} exactly once "
                f"in its source, found it {found} times"
            )
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
