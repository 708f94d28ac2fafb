"""layercontract's pytest plugin, the `pytest11` entry point: it only registers the plugin's parts,
one job each (the modules of this package), and the watchdog and recorder plugins. Every part is
inert until a backend is chosen (options.chosen_backend), so installing layercontract changes no
other test run.

The parts are registered as this module is (from its pytest_addoption, which pytest calls at
registration): their options come first in the "layercontract" group, and their hooks keep their
place before the watchdog's and the recorder's (the watchdog's timeout handling wraps the
expected-failure check)."""

from __future__ import annotations

import pytest

from layercontract.spec.harness.plugin import (
    collection,
    expected_failures,
    fixtures,
    interrupts,
    memory,
    options,
    profiles,
    results,
    session,
    summary,
    warning_filters,
)
from layercontract.spec.harness.session_state import STATE

# The per-test timeout and progress journal (--test-timeout, --journal), the run record (--record).
pytest_plugins = ["layercontract.spec.harness.watchdog", "layercontract.spec.harness.recorder"]


def pytest_addoption(parser, pluginmanager):
    parts = [
        ("options", options.Options()),
        ("hypothesis-profile", profiles.HypothesisProfile()),
        ("warning-filters", warning_filters.WarningFilters()),
        ("session", session.Session()),
        ("collection", collection.Collection()),
        ("interrupts", interrupts.Interrupts()),  # inside the expected-failure check: an interrupt wins
        ("expected-failures", expected_failures.ExpectedFailures()),
        ("memory", memory.MemoryFreeing()),
        ("fixtures", fixtures),
        ("summary", summary.Summary()),
    ]
    for name, part in parts:
        pluginmanager.register(part, f"layercontract-{name}")


@pytest.hookimpl(trylast=True)  # after the session part has made the session state
def pytest_configure(config):
    state = config.stash.get(STATE, None)
    if state is not None:
        config.pluginmanager.register(results.Results(state), "layercontract-results")
