"""What the terminal shows of a run: the letters and words of the outcomes pytest does not know
(unsupported, not applicable), and the per-clause summary at the end."""

from __future__ import annotations

from layercontract.spec.harness import outcomes
from layercontract.spec.harness.session_state import STATE


def clause_table(state) -> dict[str, dict]:
    per_clause: dict[str, list[str]] = {cid: [] for cid in state.clauses}
    for ids, outcome, _message, _duration in state.results.values():
        for cid in ids:
            per_clause.setdefault(cid, []).append(outcome)
    return {cid: {"outcome": outcomes.clause_outcome(outs), "tests": len(outs)} for cid, outs in per_clause.items()}


class Summary:
    def pytest_report_teststatus(self, report, config):
        if report.skipped and not hasattr(report, "wasxfail"):
            reason = outcomes.skip_reason(report)
            if reason.startswith(outcomes.UNSUPPORTED_PREFIX):
                return "unsupported", "U", "UNSUPPORTED"
            if reason.startswith(outcomes.NOT_APPLICABLE_PREFIX):
                return "not applicable", "n", "NOT APPLICABLE"
        return None

    def pytest_terminal_summary(self, terminalreporter, exitstatus, config):
        state = config.stash.get(STATE, None)
        if state is None or not state.results:
            return
        table = clause_table(state)
        tr = terminalreporter
        tr.section(f"layercontract: clauses on backend {state.adapter.name} (edition {state.adapter.edition})")
        for cid, row in table.items():
            if row["tests"]:
                tr.write_line(f"  {row['outcome'].upper():<20} {cid:<44} {row['tests']:>3} test(s)")
        counts: dict[str, int] = {}
        for row in table.values():
            if row["tests"]:
                counts[row["outcome"]] = counts.get(row["outcome"], 0) + 1
        tr.write_line("  clauses: " + ", ".join(f"{n} {k}" for k, n in sorted(counts.items())))
