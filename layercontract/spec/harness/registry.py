"""Resolving a backend name to an adapter instance.

A backend is named in one of three ways:

  * a built-in name (BUILTIN below);
  * a name registered by an installed distribution in the entry-point group
    "layercontract.backends" (name = "package.module:AdapterClass"), e.g. in its pyproject.toml:

        [project.entry-points."layercontract.backends"]
        example-keras-numpy = "layercontract_example_adapter:ExampleKerasNumpy"

  * "package.module:AdapterClass" directly: importable from sys.path, nothing to install.

A Keras 3 backend's name may carry a Keras version, `keras-jax@3.12.0` or `keras-numpy@nightly`:
the adapter is the one of the name before "@", run on that Keras from a cached overlay
(spec/harness/overlay.py). Its records keep "backend" = the adapter's name and add
"requested_backend" = the name as given.

Built-in names win over entry points of the same name (the entry point is listed as shadowed).
"""

from __future__ import annotations

import dataclasses
import importlib

from layercontract.spec.harness import overlay

ENTRY_POINT_GROUP = "layercontract.backends"

# name -> "module:factory" (factory called with no arguments returns an adapter)
BUILTIN = {
    "reference": "layercontract.backends.reference:ReferenceBackend",
    "keras-tensorflow": "layercontract.backends.keras3:KerasTensorflow",
    "keras-jax": "layercontract.backends.keras3:KerasJax",
    "keras-torch": "layercontract.backends.keras3:KerasTorch",
    "keras-numpy": "layercontract.backends.keras3:KerasNumpy",
    "keras-openvino": "layercontract.backends.keras3:KerasOpenvino",
    "tf-keras": "layercontract.backends.tf_keras:TfKeras",
}
BUILTIN_SOURCE = "built-in"


class BackendError(Exception):
    """A backend name that cannot be resolved or an adapter that cannot be loaded."""


@dataclasses.dataclass(frozen=True)
class KnownBackend:
    name: str
    spec: str  # "module:Class"
    source: str  # "built-in" or "entry point of <distribution> <version>"
    problem: str = ""  # why the name does not resolve to this spec (shadowed, ambiguous)


def _entry_points() -> list[KnownBackend]:
    from importlib import metadata

    found, seen = [], set()
    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        dist = getattr(ep, "dist", None)
        where = f"{dist.name} {dist.version}" if dist is not None else "unknown distribution"
        key = (ep.name, ep.value, where)
        if key in seen:  # the same distribution seen twice on sys.path
            continue
        seen.add(key)
        found.append(KnownBackend(ep.name, ep.value, f"entry point of {where}"))
    return found


def discover() -> list[KnownBackend]:
    """Every backend name layercontract knows: built-ins first, then installed entry points."""
    known = [KnownBackend(name, spec, BUILTIN_SOURCE) for name, spec in BUILTIN.items()]
    eps = _entry_points()
    for ep in eps:
        if ep.name in BUILTIN:
            ep = dataclasses.replace(ep, problem=f"ignored: shadowed by the built-in {ep.name!r}")
        elif len({e.spec for e in eps if e.name == ep.name}) > 1:
            others = "; ".join(f"{e.spec} ({e.source})" for e in eps if e.name == ep.name)
            ep = dataclasses.replace(ep, problem=f"ambiguous: {ep.name!r} is registered more than once: {others}")
        known.append(ep)
    return known


def known_backends() -> dict[str, str]:
    """name -> "module:Class" for every name that resolves (built-ins and entry points)."""
    return {k.name: k.spec for k in discover() if not k.problem}


def _describe(e: BaseException) -> str:
    text = " ".join(str(e).split())
    return f"{type(e).__name__}: {text[:300]}" if text else type(e).__name__


def _check_spec(spec: str):
    module_name, _, attr = spec.partition(":")
    if not all(p.isidentifier() for p in module_name.split(".")) or not all(p.isidentifier() for p in attr.split(".")):
        raise BackendError(
            f"{spec!r} is not 'package.module:AdapterClass': give a module and a class name separated by one colon"
        )


def _load_object(spec: str):
    module_name, _, attr = spec.partition(":")
    _check_spec(spec)
    try:
        module = importlib.import_module(module_name)
    except ImportError as e:
        raise BackendError(f"cannot import adapter module {module_name!r}: {e}") from e
    except KeyboardInterrupt:
        raise
    except BaseException as e:  # SyntaxError, any exception, even sys.exit: the adapter's own failure
        raise BackendError(
            f"importing adapter module {module_name!r} failed: {_describe(e)}; "
            "fix the module (check it with `layercontract doctor --backend ...`)"
        ) from e
    try:
        obj = module
        for part in attr.split("."):
            obj = getattr(obj, part)
        return obj
    except AttributeError:
        raise BackendError(f"adapter module {module_name!r} has no attribute {attr!r}") from None


MAX_BACKEND_CHARS = 200  # its record's and journal's file names must fit 255 bytes


def shown(name: str, limit: int = 60) -> str:
    """repr(name), cut to `limit` characters (an error line stays one short line)."""
    return repr(name) if len(name) <= limit else f"{name[:limit]!r}... ({len(name)} characters)"


def spec_for(name: str) -> tuple[str, str]:
    """("module:Class", source) for a backend name or a 'module:Class' spec (a name@version:
    its adapter's)."""
    if len(name) > MAX_BACKEND_CHARS:
        raise BackendError(f"backend name {shown(name)} is too long: at most {MAX_BACKEND_CHARS} characters")
    try:
        base, request = overlay.split_name(name)
        if request is not None:
            overlay.check_request(request)
    except overlay.OverlayError as e:
        raise BackendError(f"backend {shown(name)}: {e}") from None
    if request is not None:
        return spec_for(base)
    if name in BUILTIN:
        return BUILTIN[name], BUILTIN_SOURCE
    if ":" in name:
        _check_spec(name)
        return name, "module:Class given directly"
    known = discover()
    matches = [k for k in known if k.name == name]
    if matches:
        if matches[0].problem:
            raise BackendError(f"backend {name!r}: {matches[0].problem}")
        return matches[0].spec, matches[0].source
    names = [k.name for k in known if not k.problem]
    raise BackendError(
        f"unknown backend {shown(name)}. Known backends: {', '.join(names)}; "
        "or give an adapter as 'package.module:AdapterClass'."
    )


def resolve(name: str):
    """Return an adapter instance for a known name, a 'package.module:Class' spec, or a Keras 3
    backend at a Keras version (name@version: its overlay goes first on sys.path)."""
    base, request = overlay.split_name(name) if "@" in name else (name, None)
    if request is not None:
        spec_for(name)  # an unknown base name or a malformed version stops here
        return _at_version(resolve(base), name, request)
    spec, source = spec_for(name)
    if ":" not in spec:
        raise BackendError(f"backend {name!r} ({source}): {spec!r} is not 'package.module:AdapterClass'")
    try:
        factory = _load_object(spec)
    except BackendError as e:
        if source.startswith("entry point"):
            raise BackendError(f"backend {name!r} ({source}): {e}") from e
        raise
    if not callable(factory):
        raise BackendError(f"adapter {spec!r} is a {type(factory).__name__}, not a class or factory")
    try:
        adapter = factory()
    except KeyboardInterrupt:
        raise
    except BaseException as e:  # an adapter's own failure (even sys.exit), reported with its name
        raise BackendError(f"adapter {spec!r} failed to initialise: {_describe(e)}") from e
    return adapter


def takes_keras_version(adapter) -> bool:
    """A Keras 3 adapter (it imports `keras` with a KERAS_BACKEND) can run on another Keras."""
    return bool(getattr(adapter, "keras_backend", None)) and getattr(adapter, "edition", "") == "keras3"


def check_versioned(name: str) -> tuple[str, str | None]:
    """(base name, version request or None); BackendError for a name@version whose adapter is
    not a Keras 3 one. Does not prepare the overlay."""
    spec_for(name)  # unknown names, malformed versions
    base, request = overlay.split_name(name) if "@" in name else (name, None)
    if request is not None:
        adapter = resolve(base)
        if not takes_keras_version(adapter):
            raise BackendError(
                f"backend {name!r}: only Keras 3 backends take a Keras version "
                f"({adapter.name!r} is edition {getattr(adapter, 'edition', '?')!r})"
            )
    return base, request


def _at_version(adapter, name: str, request: str):
    """The adapter of a Keras 3 backend, run on the Keras overlay of `request`."""
    if not takes_keras_version(adapter):
        raise BackendError(
            f"backend {name!r}: only Keras 3 backends take a Keras version "
            f"({adapter.name!r} is edition {getattr(adapter, 'edition', '?')!r})"
        )
    try:
        found = overlay.locate(request)
        overlay.activate(found)
    except overlay.OverlayError as e:
        raise BackendError(f"backend {name!r}: {e}") from None
    adapter.requested_backend = name
    adapter.keras_overlay = found
    load = adapter.load

    def load_from_overlay():
        try:
            namespace = load()
        except Exception as e:  # an old or new Keras that does not import with these frameworks
            raise BackendError(
                f"{found.distribution} {found.version} (overlay {found.path}) cannot be loaded as "
                f"backend {adapter.name!r} with the installed frameworks: {type(e).__name__}: {e}"
            ) from e
        overlay.verify_imported(found)
        return namespace

    adapter.load = load_from_overlay
    return adapter
