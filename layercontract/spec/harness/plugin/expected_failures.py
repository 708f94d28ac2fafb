"""Expected deviations: the expectations file of a run (the backend's own or --expectations),
each deviating test marked xfail(strict) with its entry, and the entry's `match` checked against
the failure (a failure it does not find is not that deviation: the test fails)."""

from __future__ import annotations

import pytest

from layercontract.reports import records
from layercontract.spec.harness import check_ids, clause_citations, expectations
from layercontract.spec.harness.session_state import STATE


def load_deviations(config, adapter, clauses) -> list[expectations.Deviation]:
    """The entries of the run's expectations file, checked against the clauses and the suites."""
    exp_option = config.getoption("expectations")
    try:
        return expectations.load_for_run(
            exp_option or adapter.expectations, clauses, clause_citations.known_tests(), given=bool(exp_option)
        )
    except expectations.ExpectationsError as e:
        raise pytest.UsageError(str(e)) from None


def mark_expected(state, runnable) -> None:
    """xfail(strict) on each runnable (item, check id) an entry that holds on this backend names."""
    for item, check in runnable:
        deviation = expectations.entry_for(state.active_deviations, check)
        if deviation is not None:
            item.add_marker(pytest.mark.xfail(strict=True, reason=deviation.describe()))


class ExpectedFailures:
    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_runtest_makereport(self, item, call):
        report = yield
        if getattr(report, "wasxfail", None) is not None and report.skipped and call.excinfo is not None:
            self.fail_unless_the_expected_failure(item, report)
        return report

    @staticmethod
    def fail_unless_the_expected_failure(item, report):
        """An expected deviation with `match`: a failure whose first line it does not find is not
        that deviation, so the test fails, and its first line says which entry expected what."""
        state = item.config.stash.get(STATE, None)
        check = check_ids.item_check_id(item)
        deviation = expectations.entry_for(getattr(state, "active_deviations", ()), check)
        crash = getattr(report.longrepr, "reprcrash", None)
        observed = records.first_line(str(report.longrepr), limit=100_000, crash=getattr(crash, "message", None))
        if deviation is None or deviation.explains(observed):
            return
        report.outcome = "failed"
        del report.wasxfail
        if crash is not None:
            crash.message = deviation.mismatch(observed)  # the failure's first line, in the record too
        else:
            report.longrepr = f"E   {deviation.mismatch(observed)}\n{report.longrepr}"
