"""Concurrent runs and run-manys sharing one --out: each decides from its own record, none
loses another's files; a run-many stopped part-way keeps what finished."""

from __future__ import annotations

import json
import os
import pathlib
import re
import signal
import subprocess
import sys
import time

import pytest

from layercontract.reports import schema
from tests._env import clean_env
from tests.harness.commands.bad_input import (
    FAULT,
    ONE,
    PARAMETRIZED,
    SMALL,
    lc,
    lc_concurrent,
    lc_started,
    output,
)


def test_concurrent_runs_sharing_out_each_decide_from_their_own_record(place, tmp_path):
    """Two runs of one backend in one --out, one with a fault: each exit status is its own run's
    (it was the other's record, read back from the shared OUT/reference.json, in 3 of 10 tries)."""
    out = tmp_path / "out"
    for attempt in range(2):
        runs = {}
        for fault in ([FAULT], []):
            extra = ["--fault", *fault] if fault else []
            runs[bool(fault)] = lc_concurrent(
                "run", "--out", str(out), "--", PARAMETRIZED, "--record-every=0", *extra, cwd=place
            )
            time.sleep(0.3 * attempt)
        texts = {k: p.communicate(timeout=300)[0] for k, p in runs.items()}
        assert runs[True].returncode == 1, texts[True]
        assert runs[False].returncode == 0, texts[False]
        assert "4 fail" in texts[True] and "fail" not in texts[False].lower().replace("faults", "")
    assert not [p.name for p in out.iterdir() if p.name.startswith(".run-")]


def _sharing_out(command: str, out: pathlib.Path, fault: bool) -> list[str]:
    """`run` or `run-many` of PARAMETRIZED on the reference into `out`, with FAULT or without."""
    if command == "run":
        return [
            "run",
            "--out",
            str(out),
            "--",
            PARAMETRIZED,
            "--record-every=0",
            *(["--fault", FAULT] if fault else []),
        ]
    fault_arg = [f"--pytest-arg=--fault={FAULT}"] if fault else []
    return ["run-many", "reference", "--out", str(out), "-s", PARAMETRIZED, "--pytest-arg=--record-every=0", *fault_arg]


@pytest.mark.parametrize(
    "faulty, clean", [("run-many", "run-many"), ("run", "run-many"), ("run-many", "run")], ids=lambda c: c
)
def test_concurrent_run_manys_sharing_out_each_decide_from_their_own_records(place, tmp_path, faulty, clean):
    """Two processes of one backend in one --out, at least one a run-many, one with a fault:
    each exit status is its own run's (two run-manys crossed in 6 of 6 tries, each reading the
    other's OUT/reference.json and journal)."""
    out = tmp_path / "out"
    for attempt in range(3):
        runs = {}
        for fault, command in ((True, faulty), (False, clean)):
            runs[fault] = lc_concurrent(*_sharing_out(command, out, fault), cwd=place)
            time.sleep(0.3 * attempt)
        texts = {k: p.communicate(timeout=300)[0] for k, p in runs.items()}
        assert runs[True].returncode == 1, texts[True]
        assert runs[False].returncode == 0, texts[False]
        assert "4 fail" in texts[True] and "fail" not in texts[False].lower().replace("faults", "")
    record = schema.load(out / "reference.json", schema.RUN_SCHEMA)  # the last one moved into place, whole
    assert record["complete"] and not any(str(out / ".run-") in str(a) for a in record["invocation"])
    assert not [p.name for p in out.iterdir() if p.name.startswith(".run-") or ".journal" in p.name]


@pytest.mark.parametrize("how", [signal.SIGINT, signal.SIGTERM], ids=["Ctrl-C", "SIGTERM"])
def test_stopping_run_many_keeps_the_records_of_the_backends_that_finished(place, tmp_path, how):
    """The finished backend's record is renamed into OUT, the stopped one's previous record stays
    (none here), and the private directory goes."""
    proc = lc_started(
        "run-many", "reference", "bad_adapters:HangInLoad", "--out", str(tmp_path), "-s", SMALL, cwd=place
    )
    lines = []
    for line in proc.stdout:  # until the reference has finished
        lines.append(line)
        if re.search(r"\bdone\s+reference\b", line):
            break
    os.kill(proc.pid, how)
    text, _ = proc.communicate(timeout=60)
    assert proc.returncode == 128 + how, "".join(lines) + text
    record = schema.load(tmp_path / "reference.json", schema.RUN_SCHEMA)
    assert record["complete"] and not any(".run-" in str(a) for a in record["invocation"])
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith(".hypothesis")) == [
        "reference.json",
        "reference.log",
        "reference.usage",
    ]


def test_two_backends_of_one_run_many_recording_under_one_name_are_one_error(place, tmp_path):
    """A module:Class adapter named like another backend of the run: each backend's verdict was
    read from whichever record was written last (the passing reference said FAIL)."""
    result = lc(
        "run-many", "reference", "bad_adapters:WrongOpsNamedReference", "--out", tmp_path, "-s", SMALL, cwd=place
    )
    assert result.returncode == 2, output(result)
    assert "backends reference and bad_adapters:WrongOpsNamedReference both record as reference.json" in result.stderr
    assert "Traceback" not in output(result) and not (tmp_path / "reference.json").exists()
    assert [
        line for line in result.stdout.splitlines() if re.search(r"\bdone\s+reference\b.*tests: \d+ pass$", line)
    ], output(result)
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".run-")]


# ------------------------------------------------------- concurrent writers
def test_concurrent_atomic_writes_never_collide(tmp_path):
    target = tmp_path / "record.json"
    code = (
        "import sys; from layercontract.reports.records import write_atomic\n"
        'for i in range(200): write_atomic(sys.argv[1], \'{"writer": %s, "i": %d}\' % (sys.argv[2], i))\n'
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(target), str(n)], env=clean_env(), stderr=subprocess.PIPE, text=True
        )
        for n in range(2)
    ]
    for p in procs:
        _out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    assert json.loads(target.read_text())["i"] == 199
    assert [p.name for p in tmp_path.iterdir()] == ["record.json"]


def test_two_runs_on_one_out_keep_both_records(place, tmp_path):
    procs = [
        lc_concurrent("run", "--out", tmp_path, "--backend", backend, "--", ONE, "--record-every=0", cwd=place)
        for backend in ("reference", "bad_adapters:RenamedReference")
    ]
    for p in procs:
        text, _ = p.communicate(timeout=300)
        assert p.returncode == 0, text
    for name in ("reference", "renamed-reference"):  # a module:Class record takes the adapter's name
        record = schema.load(tmp_path / f"{name}.json", schema.RUN_SCHEMA)
        assert record["complete"] and [t["outcome"] for t in record["tests"]] == ["pass"]
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]
