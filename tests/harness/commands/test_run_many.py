"""`layercontract run-many` and the per-test timeout (spec/harness/watchdog.py): backends run
in parallel processes; one that crashes, exits, hangs or cannot load gets a record of what it
did not finish, and the others' results survive intact."""

import datetime as dt
import json
import os
import pathlib
import re
import signal
import subprocess
import sys

import pytest

from layercontract.reports import records, schema
from layercontract.spec.harness import outcomes, registry
from layercontract.spec.harness.commands import run_many
from tests import forked
from tests._env import clean_env

ROOT = pathlib.Path(__file__).resolve().parents[3]
SUITE = "suites/test_build.py"  # as check ids spell it (run-many -s takes it too)
SUITE_FILE = "layercontract/suites/test_build.py"  # as pytest takes it in the checkout
# The first test of SUITE that calls backend.to_numpy, where the _OnFirstToNumpy adapters misbehave.
FIRST_TO_NUMPY = "suites/test_build.py::test_explicit_build_prevents_a_second_build_and_keeps_weights"
A = "tests.fixtures.adapters:"


def layercontract(*args, timeout=300):
    return forked.cli(*args, cwd=ROOT, env=clean_env(), timeout=timeout)


def output(result):
    return result.stdout + result.stderr


def record_of(out: pathlib.Path, backend: str) -> dict:
    """A run record, validated against the run-record schema: named after the adapter's name
    (a module:Class backend whose adapter cannot be made: after the spec)."""
    name = backend
    if ":" in backend:
        try:
            name = registry.resolve(backend).name
        except registry.BackendError:
            pass
    return schema.load(out / f"{records.record_file_stem(name)}.json", schema.RUN_SCHEMA)


def by_outcome(record) -> dict:
    found = {}
    for t in record["tests"]:
        found.setdefault(t["outcome"], []).append(t)
    return found


# ---------------------------------------------------------- per-test timeout
def test_per_test_timeout_fails_the_test_as_timeout_even_if_listed_as_a_deviation(tmp_path):
    expectations = tmp_path / "exp.toml"
    expectations.write_text(
        f'[[deviation]]\ntest = "{FIRST_TO_NUMPY}"\nclause = "BUILD.EXPLICIT_BUILD.K3"\nkind = "limitation"\n'
        'observed = "o"\nreason = "a timeout must not pass as this deviation"\n',
        encoding="utf-8",
    )
    record_path = tmp_path / "run.json"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            SUITE_FILE,
            "--backend",
            A + "HangOnce",
            "--test-timeout",
            "1",
            "--expectations",
            str(expectations),
            "--record",
            str(record_path),
            "-p",
            "no:cacheprovider",
        ],
        cwd=ROOT,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1, output(result)
    assert re.search(r"TIMEOUT\s+BUILD\.EXPLICIT_BUILD\.K3", result.stdout)
    record = schema.load(record_path, schema.RUN_SCHEMA)
    assert record["complete"] is True  # the run went on after the timeout
    tests = {t["nodeid"]: t for t in record["tests"]}
    assert tests[FIRST_TO_NUMPY]["outcome"] == outcomes.TIMEOUT
    assert "per-test timeout of 1 s" in tests[FIRST_TO_NUMPY]["message"]
    assert {t["outcome"] for n, t in tests.items() if n != FIRST_TO_NUMPY} == {outcomes.PASS, outcomes.NOT_APPLICABLE}


# ------------------------------------------------------------------ run-many
@pytest.fixture(scope="module")
def misbehaving_run(tmp_path_factory):
    """One run-many over the reference backend and every misbehaving adapter."""
    out = tmp_path_factory.mktemp("run-many")
    backends = [
        "reference",
        A + "SegfaultMidTest",
        A + "ExitInLoad",
        A + "ExitMidTest",
        A + "SegfaultInLoad",
        A + "HangHard",
        A + "FailsToLoad",
        "no_such_adapter_module:Adapter",
    ]
    result = layercontract(
        "run-many",
        *backends,
        "-s",
        SUITE,
        "--out",
        str(out),
        "-j",
        "3",
        "--test-timeout",
        "2",
        "--grace",
        "1",
        "--backend-timeout",
        "120",
    )
    return result, out, backends


def test_run_many_exits_1_and_reports_progress(misbehaving_run):
    result, out, backends = misbehaving_run
    assert result.returncode == run_many.EXIT_UNEXPECTED, output(result)
    lines = result.stdout.splitlines()
    for backend in backends:
        assert any(re.match(rf"\[\s*[\d.]+s\] start\s+{re.escape(backend)}$", line) for line in lines), backend
        assert any(re.match(rf"\[\s*[\d.]+s\] \w+\s+{re.escape(backend)}  .*wall [\d.]+ s", line) for line in lines), (
            backend
        )
    last = result.stdout.splitlines()[-1]  # the verdict, after everything else
    failing = ", ".join(b for b in backends if b != "reference")
    assert last.startswith(f"layercontract run-many: FAIL 8 backends, 7 failing ({failing}): "), last
    assert re.search(r" unexpected: .*; as expected: .*; wall [\d.]+ s$", last), last
    if sys.platform == "linux":  # the peak RSS of each backend's process, from /proc/<pid>/status
        assert re.search(r"\] done\s+\S+  exit 0, wall [\d.]+ s, peak RSS [1-9]\d* MiB, ", result.stdout), result.stdout
    written = re.search(r"^run-many: report (.*)$", result.stdout, re.M).group(1).split(", ")
    assert written and all(pathlib.Path(p).is_file() for p in written)


def test_other_backends_results_survive_intact(misbehaving_run):
    _result, out, _backends = misbehaving_run
    record = record_of(out, "reference")
    assert record["complete"] is True and record["exit_status"] == 0
    assert {t["outcome"] for t in record["tests"]} == {outcomes.PASS, outcomes.NOT_APPLICABLE}
    assert len(record["tests"]) == 15


@pytest.mark.parametrize(
    "adapter, exit_text",
    [("SegfaultMidTest", "was killed by SIGSEGV"), ("ExitMidTest", "exited with status 0 without finishing the run")],
)
def test_a_crash_mid_test_keeps_finished_results_and_marks_the_rest_crash(misbehaving_run, adapter, exit_text):
    _result, out, _backends = misbehaving_run
    record = record_of(out, A + adapter)
    assert record["complete"] is False and record["status"] == "interrupted"
    assert FIRST_TO_NUMPY in record["stop_reason"]
    outs = by_outcome(record)
    assert len(outs[outcomes.PASS]) == 5  # the tests before the crash
    crashed = {t["nodeid"]: t for t in outs[outcomes.CRASH]}
    assert len(crashed) == 10
    assert crashed[FIRST_TO_NUMPY]["message"].startswith(f"crash: the backend process {exit_text}, during this test")
    others = [t for n, t in crashed.items() if n != FIRST_TO_NUMPY]
    assert all(
        t["message"].startswith(f"crash: not run: the backend process {exit_text}, during {FIRST_TO_NUMPY}")
        for t in others
    )
    assert all(
        t["rerun"].startswith("python -m pytest --pyargs layercontract.suites.test_build::") for t in record["tests"]
    )
    assert record["clauses"]["BUILD.EXPLICIT_BUILD.K3"]["outcome"] == outcomes.CRASH


@pytest.mark.parametrize(
    "adapter, exit_text", [("ExitInLoad", "exited with status 3"), ("SegfaultInLoad", "was killed by SIGSEGV")]
)
def test_a_crash_while_loading_marks_every_test_crash(misbehaving_run, adapter, exit_text):
    _result, out, _backends = misbehaving_run
    record = record_of(out, A + adapter)
    assert len(record["tests"]) == 15
    assert {t["outcome"] for t in record["tests"]} == {outcomes.CRASH}
    assert all(exit_text in t["message"] and "before its first test" in t["message"] for t in record["tests"])


def test_a_test_stuck_beyond_the_per_test_timeout_is_killed_as_timeout(misbehaving_run):
    _result, out, _backends = misbehaving_run
    record = record_of(out, A + "HangHard")
    outs = by_outcome(record)
    assert len(outs[outcomes.PASS]) == 5
    timed_out = {t["nodeid"]: t for t in outs[outcomes.TIMEOUT]}
    assert len(timed_out) == 10
    message = timed_out[FIRST_TO_NUMPY]["message"]
    assert message.startswith(
        "timeout: the backend process was killed by run-many: the test ran more than 3 s "
        "and did not respond to the per-test timeout of 2 s, during this test"
    )
    assert "stack of the killed process" in message and "fixtures/adapters.py" in message  # where it hung


def test_a_backend_beyond_its_timeout_is_killed_and_its_tests_time_out(tmp_path):
    result = layercontract(
        "run-many", A + "HangInLoad", "-s", SUITE, "--out", str(tmp_path), "--backend-timeout", "8"
    )  # time to reach load() on a busy machine
    assert result.returncode == run_many.EXIT_UNEXPECTED, output(result)
    assert re.search(r"TIMEOUT\s+tests.fixtures.adapters:HangInLoad  SIGKILL, wall", result.stdout)
    record = record_of(tmp_path, A + "HangInLoad")
    assert len(record["tests"]) == 15
    assert {t["outcome"] for t in record["tests"]} == {outcomes.TIMEOUT}
    assert all("per-backend timeout of 8 s" in t["message"] for t in record["tests"])
    assert all("HangInLoad" in t["message"] or "fixtures/adapters.py" in t["message"] for t in record["tests"])


@pytest.mark.parametrize(
    "backend, text",
    [
        (A + "FailsToLoad", "backend 'fails-to-load' failed to load: ModuleNotFoundError"),
        ("no_such_adapter_module:Adapter", "cannot import adapter module 'no_such_adapter_module'"),
    ],
)
def test_a_backend_that_cannot_load_gets_error_rows(misbehaving_run, backend, text):
    _result, out, _backends = misbehaving_run
    record = record_of(out, backend)
    assert len(record["tests"]) == 15  # collected on the reference backend when the run collected nothing
    assert {t["outcome"] for t in record["tests"]} == {outcomes.HARNESS_ERROR}
    assert all(text in t["message"] for t in record["tests"])


def test_run_many_exits_0_when_every_outcome_is_expected(tmp_path):
    result = layercontract("run-many", "reference", "-s", SUITE, "--out", str(tmp_path), "--max-rss", "1536")
    assert result.returncode == run_many.EXIT_OK, output(result)
    assert re.fullmatch(  # and within the memory budget
        r"layercontract run-many: PASS 1 backend: 15 tests, every outcome as expected: \d+ pass, \d+ not-applicable; "
        r"wall [\d.]+ s",
        result.stdout.splitlines()[-1],
    ), output(result)
    assert record_of(tmp_path, "reference")["complete"] is True
    assert not list(tmp_path.glob("*.journal*"))  # kept only for runs that did not finish


def test_a_backend_over_the_memory_budget_fails_run_many(tmp_path):
    """--max-rss: CI keeps every backend process under 1.5 GB; 1 MiB is below any Python process."""
    result = layercontract("run-many", "reference", "-s", FIRST_TO_NUMPY, "--out", str(tmp_path), "--max-rss", "1")
    assert result.returncode == run_many.EXIT_UNEXPECTED, output(result)
    assert re.fullmatch(
        r"layercontract run-many: FAIL 1 backend, over the memory budget of 1 MiB \(peak RSS\): reference [1-9]\d* MiB: "
        r"1 test, every outcome as expected: 1 pass; wall [\d.]+ s",
        result.stdout.splitlines()[-1],
    ), output(result)


def test_an_interrupted_run_many_ends_on_what_finished(tmp_path):
    """Ctrl-C: the backends still running are stopped, no report is written, and the last line
    says what the finished ones ran."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "layercontract.spec.harness.cli", "run-many", "reference", A + "HangInLoad"]
        + ["-s", FIRST_TO_NUMPY, "--out", str(tmp_path), "-j", "2"],
        cwd=ROOT,
        env=clean_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    seen = []
    while not any(re.search(r"\] done\s+reference ", line) for line in seen):
        line = proc.stdout.readline()
        assert line, "".join(seen)
        seen.append(line)
    os.killpg(proc.pid, signal.SIGINT)  # a terminal's Ctrl-C
    rest, _ = proc.communicate(timeout=60)
    assert proc.returncode == 130, "".join(seen) + rest
    assert rest.splitlines()[-1] == (
        "layercontract run-many: INTERRUPTED 2 backends by SIGINT: 1 of them finished "
        "(1 test, every outcome as expected: 1 pass); no report written"
    )
    assert not (tmp_path / "index.html").exists()


def test_run_many_unknown_backend_is_a_harness_failure(tmp_path):
    result = layercontract("run-many", "reference", "nosuch", "--out", str(tmp_path))
    assert result.returncode == run_many.EXIT_HARNESS
    assert "unknown backend 'nosuch'" in result.stderr
    assert "start" not in result.stdout and not list(tmp_path.iterdir())


# -------------------------------------------------------------------- units
def test_all_means_every_known_backend_once():
    assert run_many.expand(["reference", "all"]) == list(registry.known_backends())


def test_longest_previous_run_is_scheduled_first(tmp_path):
    for name, duration in (("reference", 1.0), ("keras-jax", 20.0)):
        (tmp_path / f"{name}.json").write_text(json.dumps({"tests": [], "duration_s": duration}), encoding="utf-8")
    assert run_many.schedule(["reference", "keras-jax", "new-one"], tmp_path) == ["new-one", "keras-jax", "reference"]


def test_synthesize_fills_a_partial_record_from_the_journal():
    a, b, c = (f"suites/test_build.py::test_{x}" for x in "abc")
    events = [
        {"event": "collected", "tests": [{"nodeid": n, "clauses": ["BUILD.LAZY"]} for n in (a, b, c)]},
        {"event": "backend", "name": "mine", "edition": "keras3", "versions": {"x": "1"}},
        {"event": "start", "nodeid": a},
        {
            "event": "result",
            "nodeid": a,
            "clauses": ["BUILD.LAZY"],
            "outcome": "pass",
            "duration_s": 0.1,
            "message": "",
        },
        {"event": "start", "nodeid": b},
    ]
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    record = records.synthesize(
        "pkg:Mine",
        events,
        None,
        returncode=-11,
        started=start,
        finished=start + dt.timedelta(seconds=3),
        rerun_options="--backend pkg:Mine",
    )
    assert schema.errors(record, schema.json_schema(schema.RUN_SCHEMA)) == []
    tests = {t["nodeid"]: t for t in record["tests"]}
    assert [tests[n]["outcome"] for n in (a, b, c)] == ["pass", "crash", "crash"]
    assert tests[b]["message"] == "crash: the backend process was killed by SIGSEGV, during this test"
    assert tests[c]["message"] == f"crash: not run: the backend process was killed by SIGSEGV, during {b}"
    assert record["backend"] == "mine" and record["duration_s"] == 3.0 and record["exit_status"] == -11
    assert record["clauses"] == {"BUILD.LAZY": {"outcome": "crash", "tests": 3}}
    assert record["counts"] == {"crash": 2, "pass": 1}

    killed = records.synthesize("pkg:Mine", events, None, returncode=-9, killed="too slow")
    assert {t["nodeid"]: t["outcome"] for t in killed["tests"]} == {a: "pass", b: "timeout", c: "timeout"}
