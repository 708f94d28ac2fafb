"""The state of one layercontract pytest session, kept in the config's stash under STATE: the
adapter and its namespace (loaded once), the clauses, the expectations entries, the results."""

from __future__ import annotations

import pytest

from layercontract.spec.harness import contract_checks


class State:
    def __init__(self, adapter, clauses, deviations):
        self.adapter = adapter
        self.clauses = clauses
        self.deviations = deviations  # every entry of the expectations file
        self.active_deviations = []  # those whose `when` holds on the loaded backend's versions
        self._namespace = None  # (namespace,) once loaded
        self._load_error = None
        self.selected = False  # the tests are selected and the backend loaded: a run can start
        self.results: dict[
            str, tuple[list[str], str, str, float]
        ] = {}  # nodeid -> (clauses, outcome, message, duration)

    def activate_deviations(self):
        versions = contract_checks.adapter_versions(self.adapter)  # AdapterFault: as doctor says
        self.active_deviations = [d for d in self.deviations if d.holds_on(versions)]

    @property
    def loaded(self) -> bool:
        return self._namespace is not None

    @property
    def namespace(self):
        """adapter.load(), called once per process: a load that failed (or was interrupted)
        is never tried again (the record writer asks for the versions after a failure)."""
        if self._namespace is None:
            if self._load_error is not None:
                raise RuntimeError(f"the backend did not load: {self._load_error}")
            try:
                self._namespace = (self.adapter.load(),)
            except BaseException as e:
                self._load_error = contract_checks.describe(e)
                raise
        return self._namespace[0]


STATE = pytest.StashKey[State]()
