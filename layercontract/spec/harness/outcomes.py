"""The outcomes of a check: ONE table, and classifying pytest reports into them.

OUTCOMES is the single definition every part reads: the plugin (classify, the worse of two
reports), run records (reports/records.py), merge, render (label, verb, glyph, emoji, colours,
bar order, description), diff (conformance), run-many (what fails a run), both JSON schemas' outcome
enums and the table in reports/SCHEMA.md (tests/reports/test_records_merge_diff.py keeps those three equal to
this table; `python -m layercontract.spec.harness.outcomes` prints the SCHEMA.md table).

This module imports nothing from pytest: a report is only read through its attributes.
"""

from __future__ import annotations

import dataclasses

UNSUPPORTED_PREFIX = "unsupported:"
NOT_APPLICABLE_PREFIX = "not applicable:"
TIMEOUT_MARKER = "layercontract-timeout:"  # starts the message of spec.harness.watchdog.TestTimeout


@dataclasses.dataclass(frozen=True)
class Outcome:
    """An outcome and how it shows: a word, a verb for "2/4 deviate", a glyph that tells it apart
    without colour, a Markdown emoji, cell text/background colours and a bar colour (neighbouring
    outcomes differ in lightness, not only in hue: greyscale and deuteranopia safe, with the
    glyph), its place in the stacked bars, whether it fails a run, and its conformance level."""

    name: str
    label: str  # short, for tables, cells and terminal lines
    verb: str  # "3/4 deviate"
    glyph: str  # one character, readable without colour
    emoji: str  # for Markdown
    fg: str  # cell text colour (HTML)
    bg: str  # cell background (HTML)
    bar: str  # colour in the stacked bars (HTML)
    bar_position: int  # left to right in the stacked bars: passes first, the neutral ones last
    fails_run: bool  # an unexpected outcome: the run (run-many, merge's verdict) fails
    conformance: int | None  # diff: 0 conforms, 1 deviates as reviewed, 2 does not; None: no level
    description: str


# Worst first: a clause takes the worst outcome among its tests.
OUTCOMES = (
    Outcome(
        "harness-error",
        "ERROR",
        "error",
        "⚠",
        "⚠️",
        "#ffffff",
        "#24292f",
        "#24292f",
        4,
        True,
        2,
        "the check could not run properly: a set-up or tear-down error, or a skip layercontract did not make",
    ),
    Outcome(
        "crash",
        "CRASH",
        "crash",
        "↯",
        "💥",
        "#ffffff",
        "#6e0a17",
        "#6e0a17",
        5,
        True,
        2,
        "the process running the check died (an xdist worker, or a backend process under run-many)",
    ),
    Outcome(
        "timeout",
        "TIMEOUT",
        "time out",
        "◷",
        "⏱️",
        "#ffffff",
        "#953800",
        "#953800",
        6,
        True,
        2,
        "the check ran past its time limit (--test-timeout, or run-many killed its process)",
    ),
    Outcome(
        "fail",
        "FAIL",
        "fail",
        "✗",
        "❌",
        "#ffffff",
        "#a40e26",
        "#a40e26",
        2,
        True,
        2,
        "the check fails and no expectation explains it",
    ),
    Outcome(
        "unexpected-pass",
        "unexpected pass",
        "unexpected pass",
        "!",
        "🟣",
        "#ffffff",
        "#6b3bc4",
        "#6b3bc4",
        3,
        True,
        0,
        "an expected deviation that no longer happens: its expectations entry is stale",
    ),
    Outcome(
        "expected-deviation",
        "deviation",
        "deviate",
        "≠",
        "🟡",
        "#3b2600",
        "#f2bb2c",
        "#f7c948",
        1,
        False,
        1,
        "the check fails as the backend's reviewed expectations say (kind, reason, upstream reference given)",
    ),
    Outcome(
        "not-run",
        "not run",
        "not run",
        "○",
        "⏸️",
        "#424a53",
        "#ffffff",
        "#ffffff",
        7,
        False,
        None,
        "selected but never run: the run was interrupted or killed first",
    ),
    Outcome("pass", "pass", "pass", "✓", "✅", "#0b4a1e", "#d3f2dc", "#1f883d", 0, False, 0, "the check holds"),
    Outcome(
        "unsupported",
        "unsupported",
        "unsupported",
        "⊘",
        "🚫",
        "#0a3069",
        "#c3dbf7",
        "#6a9fd8",
        8,
        False,
        None,
        "the backend lacks a capability the check needs",
    ),
    Outcome(
        "not-applicable",
        "n/a",
        "n/a",
        "–",
        "➖",
        "#424a53",
        "#ffffff",
        "#eceff3",
        9,
        False,
        None,
        "the clause does not apply to the backend's edition",
    ),
)
BY_NAME = {o.name: o for o in OUTCOMES}
NAMES = tuple(o.name for o in OUTCOMES)
SEVERITY = list(NAMES)  # worst first
UNEXPECTED = frozenset(o.name for o in OUTCOMES if o.fails_run)
# Outcomes that need no one's attention in a report (not failing, no deviation, nothing missing).
QUIET = frozenset(o.name for o in OUTCOMES if not o.fails_run and o.conformance in (0, None)) - {"not-run"}
BAR_ORDER = tuple(o.name for o in sorted(OUTCOMES, key=lambda o: o.bar_position))

HARNESS_ERROR, CRASH, TIMEOUT, FAIL, UNEXPECTED_PASS, DEVIATION, NOT_RUN, PASS, UNSUPPORTED, NOT_APPLICABLE = NAMES
# The outcomes of a check with an active expectations entry (the row carries its deviation).
DEVIATIONS = frozenset({DEVIATION, UNEXPECTED_PASS})


def worst(outcomes) -> str:
    """The worst of the given outcomes (not-applicable for none)."""
    return min(outcomes, key=SEVERITY.index) if outcomes else NOT_APPLICABLE


clause_outcome = worst


def fails_run(outcome: str) -> bool:
    return outcome in UNEXPECTED


def label(outcome: str) -> str:
    return BY_NAME[outcome].label if outcome in BY_NAME else outcome


def schema_markdown_table() -> str:
    """The outcome table of reports/SCHEMA.md."""
    rows = ["| outcome | label | meaning | fails the run |", "|---|---|---|---|"]
    for o in OUTCOMES:
        fails = "yes" if o.fails_run else ("no (the run is incomplete)" if o.name == NOT_RUN else "no")
        rows.append(f"| `{o.name}` | {o.emoji} {o.label} | {o.description} | {fails} |")
    return "\n".join(rows)


# ------------------------------------------------------------ classifying reports
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


if __name__ == "__main__":
    print(schema_markdown_table())
