"""`layercontract run` ends on its verdict (spec/harness/verdict.py): one last line, after
everything the run printed, green or red, interrupted, or a backend that cannot load. Its bad
input and OS faults are tests/harness/commands/test_bad_input_*.py's."""

import os
import re
import signal
import subprocess
import sys
import time

from layercontract.reports import records
from layercontract.spec.harness import verdict
from tests._env import clean_env
from tests.conftest import ROOT

SMALL = "suites/test_call.py"
A = "tests.fixtures.adapters:"


def run(out, backend, *selection, **popen):
    """`layercontract run` from the checkout (the fixtures import), stdout and stderr as one text."""
    return subprocess.Popen(
        [sys.executable, "-m", "layercontract.spec.harness.cli", "run", "--out", str(out), "--backend", backend]
        + ["--", *selection],
        cwd=ROOT,
        env=clean_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        **popen,
    )


def last_line(text: str) -> str:
    return text.rstrip("\n").splitlines()[-1]


def test_a_green_run_ends_on_pass_with_its_key_version_and_every_outcome(tmp_path):
    proc = run(tmp_path, "reference", SMALL)
    text, _ = proc.communicate(timeout=300)
    assert proc.returncode == 0, text
    record = records.load(tmp_path / "reference.json")
    assert last_line(text) == verdict.run_line(0, record)
    assert re.fullmatch(
        r"layercontract run: PASS reference \(reference_impl [\d.]+\): \d+ tests, every outcome as expected: \d+ pass",
        last_line(text),
    )
    assert "passed" in text  # pytest's own summary comes before it


def test_a_red_run_ends_on_fail_with_its_unexpected_tests_counted(tmp_path):
    proc = run(tmp_path, "tests.fixtures.deviating_adapter:BuildsEveryCall", "suites/test_build.py")
    text, _ = proc.communicate(timeout=300)
    assert proc.returncode == 1, text
    record = records.load(tmp_path / "builds-every-call.json")
    unexpected = sum(1 for t in record["tests"] if t["outcome"] == "fail")
    assert unexpected and last_line(text) == verdict.run_line(1, record)
    assert last_line(text).startswith(
        f"layercontract run: FAIL builds-every-call (reference_impl {record['versions']['reference_impl']}): "
        f"{len(record['tests'])} tests, {unexpected} unexpected: {unexpected} fail; as expected: "
    )
    assert text.count("layercontract run: ") == 1  # the verdict is said once


def test_an_interrupted_run_ends_on_interrupted_with_what_did_not_run(tmp_path):
    proc = run(tmp_path, A + "HangsInToNumpy", SMALL, start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # until a test is running (in the run's private directory)
        journals = list(tmp_path.glob(".run-*/*.journal"))
        if journals and '"start"' in journals[0].read_text():
            break
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGINT)  # a terminal's Ctrl-C
    text, _ = proc.communicate(timeout=60)
    assert proc.returncode == 130, text
    record = records.load(tmp_path / "hangs-in-to-numpy.json")
    assert last_line(text) == verdict.run_line(130, record, stopped_by="SIGINT")
    assert re.fullmatch(
        r"layercontract run: INTERRUPTED hangs-in-to-numpy \(reference_impl [\d.]+\) by SIGINT: \d+ tests, .*"
        r"; \d+ not-run",
        last_line(text),
    )


def test_a_backend_that_cannot_load_ends_on_error_with_nothing_written(tmp_path):
    proc = run(tmp_path, A + "FailsToLoad", SMALL)
    text, _ = proc.communicate(timeout=300)
    assert proc.returncode == 2, text
    assert last_line(text) == (
        f"layercontract run: ERROR {A}FailsToLoad: the run did not start (pytest exit status 4, see above): "
        "nothing written"
    )
    assert "failed to load: ModuleNotFoundError" in text and not list(tmp_path.glob("*.json"))
