"""The closing verdict of `layercontract run` and `layercontract run-many`: the last line each
prints once its run has started, in the tool's own words; its wording is decided here and only
here (README, "The verdict line").

    layercontract run: PASS reference (reference_impl 0.1.0): 402 tests, every outcome as expected: 363 pass, ...
    layercontract run: FAIL builds-every-call (reference_impl 0.1.0): 15 tests, 10 unexpected: 10 fail; as expected: 5 pass
    layercontract run: INTERRUPTED hangs (reference_impl 0.1.0) by SIGTERM: 9 tests, none unexpected; as expected: 1 pass; 8 not-run
    layercontract run: ERROR fails-to-load: the run did not start (pytest exit status 4, see above): nothing written
    layercontract run-many: FAIL 2 backends, 1 failing (x): 30 tests, 1 unexpected: 1 fail; as expected: 29 pass; wall 41.2 s

The first word follows the exit status: PASS 0, FAIL 1, ERROR 2, INTERRUPTED 130 (Ctrl-C) or 128+N
(signal N). Every count names its unit: tests, counted per outcome in the records' outcome words
(spec/harness/outcomes.py); a backend's version is its key distribution's (records.key_version).
"""

from __future__ import annotations

from layercontract.reports import records
from layercontract.spec.harness import outcomes

PASS, FAIL, ERROR, INTERRUPTED = "PASS", "FAIL", "ERROR", "INTERRUPTED"
STOP_REASON_CHARS = 200  # an incomplete run's reason, shortened: the record has all of it


def word(status: int) -> str:
    """The verdict of an exit status."""
    return {0: PASS, 1: FAIL, 2: ERROR}.get(status, INTERRUPTED)


def plural(n: int, unit: str) -> str:
    return f"{n} {unit}{'s' * (n != 1)}"


def line(command: str, status: int, subject: str, text: str) -> str:
    """ "layercontract COMMAND: VERDICT SUBJECT: TEXT", the one form of every verdict."""
    return f"layercontract {command}: {word(status)} {subject}: {text}"


def listed(counts: dict) -> str:
    """ "363 pass, 35 not-applicable": tests per outcome, worst first (the records' order)."""
    order = {o: i for i, o in enumerate(outcomes.NAMES)}
    shown = sorted(((o, n) for o, n in counts.items() if n), key=lambda item: order.get(item[0], len(order)))
    return ", ".join(f"{n} {o}" for o, n in shown)


def tests_text(counts: dict) -> str:
    """Tests per outcome, split into the unexpected ones (they fail a run), the expected ones and
    those not run: "15 tests, 10 unexpected: 10 fail; as expected: 5 pass"."""
    counts = {o: n for o, n in counts.items() if n}
    unexpected = {o: n for o, n in counts.items() if outcomes.fails_run(o)}
    not_run = counts.get(outcomes.NOT_RUN, 0)
    expected = {o: n for o, n in counts.items() if o not in unexpected and o != outcomes.NOT_RUN}
    head = plural(sum(counts.values()), "test")
    if not unexpected and not not_run:
        return f"{head}, every outcome as expected" + (f": {listed(expected)}" if expected else "")
    parts = [f"{sum(unexpected.values())} unexpected: {listed(unexpected)}" if unexpected else "none unexpected"]
    if expected:
        parts.append(f"as expected: {listed(expected)}")
    if not_run:
        parts.append(f"{not_run} {outcomes.NOT_RUN}")
    return f"{head}, " + "; ".join(parts)


def backend_subject(record: dict) -> str:
    """ "keras-numpy (keras 3.15.1)": the backend and its key distribution's version, if known."""
    dist, version = records.key_version(record)
    return f"{record['backend']}" + (f" ({dist} {version})" if version else "")


def run_line(status: int, record: dict, *, stopped_by: str | None = None, note: str = "") -> str:
    """The verdict of `layercontract run` from its record: its tests per outcome, why it is
    incomplete (unless it was interrupted, which the subject says), and `note`."""
    subject = backend_subject(record) + (f" by {stopped_by}" if stopped_by else "")
    text = tests_text(records.counts(record["tests"]))
    reason = record.get("stop_reason")
    if not record.get("complete") and reason and not stopped_by:
        text += f"; incomplete: {reason[:STOP_REASON_CHARS]}"
    return line("run", status, subject, text + (f"; {note}" if note else ""))


def run_many_line(status: int, results: dict, *, failing=(), over_budget=(), max_rss=None, wall_s: float) -> str:
    """The verdict of `layercontract run-many`: its backends (those failing, those over the
    memory budget), every backend's tests together per outcome, and its wall time.
    `results`: backend -> record."""
    subject = plural(len(results), "backend")
    if failing:
        subject += f", {len(failing)} failing ({', '.join(failing)})"
    if over_budget:
        subject += f", over the memory budget of {max_rss} MiB (peak RSS): {', '.join(over_budget)}"
    return line("run-many", status, subject, f"{tests_text(_together(results))}; wall {wall_s:.1f} s")


def run_many_interrupted_line(status: int, finished: dict, backends: int, stopped_by: str) -> str:
    """The verdict of a run-many stopped by a signal: what the backends that finished ran; no
    report is written. `finished`: backend -> record."""
    done = f"{len(finished)} of them finished" + (f" ({tests_text(_together(finished))})" if finished else "")
    return line("run-many", status, f"{plural(backends, 'backend')} by {stopped_by}", f"{done}; no report written")


def _together(results: dict) -> dict:
    """Tests per outcome over several records (backend -> record)."""
    total: dict[str, int] = {}
    for record in results.values():
        for outcome, n in records.counts(record["tests"]).items():
            total[outcome] = total.get(outcome, 0) + n
    return total
