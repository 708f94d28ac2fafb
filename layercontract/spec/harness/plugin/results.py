"""Each suites test's outcome into the session state (state.results, by node id: the summary,
the journal and the record read it), the worse outcome kept when a test reports twice."""

from __future__ import annotations

from layercontract.spec.harness import outcomes
from layercontract.spec.harness.session_state import State


class Results:
    """Registered once a backend is chosen (the session state exists)."""

    def __init__(self, state: State):
        self.state = state

    def pytest_runtest_logreport(self, report):
        ids = dict(report.user_properties).get("clauses")
        if not ids:
            return
        outcome = outcomes.classify(report)
        if outcome is None:
            return
        previous = self.state.results.get(report.nodeid)
        if previous and outcomes.SEVERITY.index(previous[1]) <= outcomes.SEVERITY.index(outcome):
            return  # keep the worse outcome (e.g. a teardown error after a pass)
        message = getattr(report, "wasxfail", "") or (
            outcomes.skip_reason(report) if report.skipped else str(report.longrepr or "")
        )
        self.state.results[report.nodeid] = (list(ids), outcome, message, report.duration)
