"""After the last test of a suites module (and its module fixtures), the adapter's optional
free_memory(): caches that grow with every compiled function and shape (jax keeps each
executable) stay bounded over a run instead of holding ~1 GB by its end."""

from __future__ import annotations

import pytest

from layercontract.spec.harness import check_ids
from layercontract.spec.harness.session_state import STATE


class MemoryFreeing:
    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_teardown(self, item, nextitem):
        result = yield
        state = item.config.stash.get(STATE, None)
        if (
            state is not None
            and state.loaded
            and check_ids.in_suites(item)
            and (nextitem is None or nextitem.path != item.path)
        ):
            free_memory = getattr(state.adapter, "free_memory", None)
            if callable(free_memory):
                free_memory()
        return result
