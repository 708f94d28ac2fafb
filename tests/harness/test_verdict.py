"""The closing verdict line of `run` and `run-many` (spec/harness/verdict.py), from hand-made
records: its first word follows the exit status, every count is of tests and says per outcome,
the backend's version is its key distribution's. The commands ending on it:
tests/harness/commands/test_run.py and test_run_many.py."""

import datetime as dt

import pytest

from layercontract.reports import records
from layercontract.spec.harness import verdict

START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def record(outcomes: dict, *, status="complete", stop_reason=None, backend="mine", **versions) -> dict:
    rows = [
        records.test_row(f"suites/test_build.py::test_{outcome.replace('-', '_')}_{i}", ["BUILD.LAZY"], outcome, "x")
        for outcome, n in outcomes.items()
        for i in range(n)
    ]
    data = records.new_record(
        backend=backend, versions=versions or {"keras": "3.15.1"}, started=START, git=("c", False)
    )
    return records.finish(data, rows, status=status, stop_reason=stop_reason, finished=START, exit_status=0)


@pytest.mark.parametrize(
    "status, word", [(0, "PASS"), (1, "FAIL"), (2, "ERROR"), (130, "INTERRUPTED"), (143, "INTERRUPTED")]
)
def test_the_first_word_follows_the_exit_status(status, word):
    assert verdict.word(status) == word
    assert verdict.line("run", status, "x", "y") == f"layercontract run: {word} x: y"


def test_a_green_run_names_its_backend_version_and_every_outcome():
    data = record({"pass": 356, "expected-deviation": 7, "not-applicable": 35, "unsupported": 4})
    assert verdict.run_line(0, data) == (
        "layercontract run: PASS mine (keras 3.15.1): 402 tests, every outcome as expected: "
        "7 expected-deviation, 356 pass, 4 unsupported, 35 not-applicable"
    )


def test_a_red_run_counts_its_unexpected_tests_apart():
    data = record({"pass": 5, "fail": 3, "unexpected-pass": 1, "crash": 1})
    assert verdict.run_line(1, data) == (
        "layercontract run: FAIL mine (keras 3.15.1): 10 tests, 5 unexpected: 1 crash, 3 fail, 1 unexpected-pass; "
        "as expected: 5 pass"
    )


def test_an_interrupted_run_says_by_what_and_what_did_not_run():
    data = record({"pass": 2, "not-run": 7}, status="interrupted", stop_reason="interrupted: KeyboardInterrupt")
    assert verdict.run_line(130, data, stopped_by="SIGINT") == (
        "layercontract run: INTERRUPTED mine (keras 3.15.1) by SIGINT: 9 tests, none unexpected; as expected: 2 pass; "
        "7 not-run"
    )


def test_an_incomplete_run_says_why_and_a_declared_key_distribution_names_the_version():
    data = record(
        {"pass": 1, "harness-error": 4}, status="interrupted", stop_reason="pytest exit status 4 (USAGE_ERROR)"
    )
    data.update(key_distribution="keras-core", versions={"keras-core": "0.1.7", "keras": "3.15.1"})
    assert verdict.run_line(1, data, note="the report could not be written (see above)") == (
        "layercontract run: FAIL mine (keras-core 0.1.7): 5 tests, 4 unexpected: 4 harness-error; as expected: "
        "1 pass; incomplete: pytest exit status 4 (USAGE_ERROR); the report could not be written (see above)"
    )
    unknown = record({}, backend="mine", error="the backend was not loaded")
    assert verdict.run_line(1, unknown) == "layercontract run: FAIL mine: 0 tests, every outcome as expected"


def test_run_many_adds_up_its_backends_and_names_the_failing_ones():
    results = {"a": record({"pass": 3}), "b": record({"pass": 1, "fail": 1}, backend="b")}
    assert verdict.run_many_line(1, results, failing=["b"], over_budget=["a 130 MiB"], max_rss=100, wall_s=12.34) == (
        "layercontract run-many: FAIL 2 backends, 1 failing (b), over the memory budget of 100 MiB (peak RSS): "
        "a 130 MiB: 5 tests, 1 unexpected: 1 fail; as expected: 4 pass; wall 12.3 s"
    )
    assert verdict.run_many_line(0, {"a": record({"pass": 1})}, wall_s=1.0) == (
        "layercontract run-many: PASS 1 backend: 1 test, every outcome as expected: 1 pass; wall 1.0 s"
    )
    assert verdict.run_many_interrupted_line(130, {"a": record({"pass": 2})}, 3, "SIGINT") == (
        "layercontract run-many: INTERRUPTED 3 backends by SIGINT: 1 of them finished "
        "(2 tests, every outcome as expected: 2 pass); no report written"
    )
