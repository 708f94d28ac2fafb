"""Resolving a backend name to an adapter instance."""
from __future__ import annotations

import importlib

# name -> "module:factory" (factory called with no arguments returns a Backend)
BUILTIN = {
    "reference": "backends.reference:ReferenceBackend",
    "keras-tensorflow": "backends.keras3:KerasTensorflow",
    "keras-jax": "backends.keras3:KerasJax",
    "keras-torch": "backends.keras3:KerasTorch",
    "keras-numpy": "backends.keras3:KerasNumpy",
    "tf-keras": "backends.tf_keras:TfKeras",
}


class BackendError(Exception):
    """A backend name that cannot be resolved or an adapter that cannot be loaded."""


def known_backends():
    return dict(BUILTIN)


def _load_object(spec: str):
    module_name, _, attr = spec.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as e:
        raise BackendError(f"cannot import adapter module {module_name!r}: {e}") from e
    try:
        return getattr(module, attr)
    except AttributeError:
        raise BackendError(f"adapter module {module_name!r} has no attribute {attr!r}") from None


def resolve(name: str):
    """Return an adapter instance for a known name or a 'package.module:Class' spec."""
    if name in BUILTIN:
        spec = BUILTIN[name]
    elif ":" in name:
        spec = name
    else:
        raise BackendError(
            f"unknown backend {name!r}. Known backends: {', '.join(BUILTIN)}; "
            "or give an adapter as 'package.module:AdapterClass'."
        )
    factory = _load_object(spec)
    try:
        adapter = factory()
    except Exception as e:  # an adapter's own failure, reported with its name
        raise BackendError(f"adapter {spec!r} failed to initialise: {type(e).__name__}: {e}") from e
    return adapter
