"""The run's memory: after the last test of a suites module (and its module fixtures), the
adapter's optional free_memory(), so caches that grow with every compiled function and shape (jax
keeps each executable) stay bounded over a run instead of holding ~1 GB by its end; and what lives
for the whole process (modules, the adapter, collected tests) frozen out of the garbage
collector's sight once configured and once collected, so its collections, pytest's two at exit
among them, no longer walk it (0.09 s of CPU in every small run)."""

from __future__ import annotations

import gc

import pytest

from layercontract.spec.harness import check_ids
from layercontract.spec.harness.session_state import STATE


class MemoryFreeing:
    @pytest.hookimpl(trylast=True)  # after the session part has loaded the adapter
    def pytest_configure(self, config):
        if config.stash.get(STATE, None) is not None:
            gc.freeze()

    def pytest_collection_finish(self, session):
        if session.config.stash.get(STATE, None) is not None:
            gc.freeze()

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
