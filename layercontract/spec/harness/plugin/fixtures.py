"""The fixtures of the suites: `backend` (the adapter under test), `K` (its namespace) and
`reference_K` (the reference implementation's, for differential checks)."""

from __future__ import annotations

import pytest

from layercontract.spec.harness import registry
from layercontract.spec.harness.session_state import STATE


@pytest.fixture(scope="session")
def backend(request):
    """The backend adapter under test (to_numpy, is_symbolic, set_seed, capabilities)."""
    state = request.config.stash[STATE]
    _ = state.namespace  # load the framework once per process
    return state.adapter


@pytest.fixture(scope="session")
def K(request):
    """The Keras-shaped namespace of the backend under test."""
    return request.config.stash[STATE].namespace


@pytest.fixture(scope="session")
def reference_K():
    """The reference implementation's namespace, for differential checks against any backend."""
    return registry.resolve("reference").load()
