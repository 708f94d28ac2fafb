"""Classifying pytest reports into layercontract outcomes, per test and per clause."""
from __future__ import annotations

UNSUPPORTED_PREFIX = "unsupported:"
NOT_APPLICABLE_PREFIX = "not applicable:"

PASS, FAIL, DEVIATION, UNEXPECTED_PASS = "pass", "fail", "expected-deviation", "unexpected-pass"
UNSUPPORTED, NOT_APPLICABLE, HARNESS_ERROR = "unsupported", "not-applicable", "harness-error"
# A test that ran past the per-test timeout, or that a crashed or killed backend process did not
# finish (run-many writes those rows for it: spec/harness/commands/run_many.py).
CRASH, TIMEOUT = "crash", "timeout"
TIMEOUT_MARKER = "layercontract-timeout:"  # starts the message of spec.harness.watchdog.TestTimeout

# Worst first: a clause takes the worst outcome among its tests.
SEVERITY = [HARNESS_ERROR, CRASH, TIMEOUT, FAIL, UNEXPECTED_PASS, DEVIATION, PASS, UNSUPPORTED, NOT_APPLICABLE]
UNEXPECTED = {FAIL, UNEXPECTED_PASS, HARNESS_ERROR, CRASH, TIMEOUT}


def skip_reason(report) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(longrepr or "")


def classify(report) -> str | None:
    """Outcome for a report, or None when the report does not decide the test's outcome."""
    if report.when == "call":
        if hasattr(report, "wasxfail"):
            return DEVIATION if report.skipped else UNEXPECTED_PASS
        if report.passed:
            return PASS
        if report.failed:
            if TIMEOUT_MARKER in str(report.longrepr):
                return TIMEOUT
            # A strict xfail that passed arrives as a failure with "[XPASS(strict)]".
            return UNEXPECTED_PASS if "XPASS(strict)" in str(report.longrepr) else FAIL
        # skipped inside the test body: classified by its reason, like a skip at setup
    if report.skipped:
        if hasattr(report, "wasxfail"):
            return DEVIATION
        reason = skip_reason(report)
        if reason.startswith(UNSUPPORTED_PREFIX):
            return UNSUPPORTED
        if reason.startswith(NOT_APPLICABLE_PREFIX):
            return NOT_APPLICABLE
        return HARNESS_ERROR  # layercontract never skips for any other reason
    if report.failed:
        return HARNESS_ERROR
    return None


def clause_outcome(outcomes: list[str]) -> str:
    return min(outcomes, key=SEVERITY.index) if outcomes else NOT_APPLICABLE
