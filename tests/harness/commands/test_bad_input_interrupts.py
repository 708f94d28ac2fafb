"""Crashes, hangs, Ctrl-C, SIGTERM, SIGHUP and SIGKILL: `run` and `run-many` isolate the
backend, stop at once, keep the earlier record or write an interrupted one, and leave no process
or private directory behind."""

from __future__ import annotations

import os
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
    SMALL,
    child_pids,
    dead_pid,
    is_alive,
    lc,
    lc_started,
    output,
    snapshot,
)


# -------------------------------------------------- run isolates the backend
def test_run_records_a_backend_that_exits_in_load_as_crash(place, tmp_path):
    result = lc("run", "--out", tmp_path, "--backend", "bad_adapters:ExitsZeroInLoad", "--", SMALL, cwd=place)
    assert result.returncode == 1, output(result)
    record = schema.load(tmp_path / "exits-zero-in-load.json", schema.RUN_SCHEMA)  # the adapter's name
    assert {t["outcome"] for t in record["tests"]} == {"crash"} and len(record["tests"]) >= 6
    assert record["status"] == "interrupted"
    assert not list(tmp_path.rglob("*.journal*")) and not list(tmp_path.glob(".run-*"))


def test_run_kills_a_backend_past_its_timeout(place, tmp_path):
    result = lc(
        "run",
        "--out",
        tmp_path,
        "--backend",
        "bad_adapters:HangInLoad",
        "--backend-timeout",
        "4",
        "--",
        ONE,
        cwd=place,
    )
    assert result.returncode == 1, output(result)
    record = schema.load(tmp_path / "hang-in-load.json", schema.RUN_SCHEMA)
    assert [t["outcome"] for t in record["tests"]] == ["timeout"]
    assert "per-backend timeout of 4 s" in record["tests"][0]["message"]


def test_one_ctrl_c_stops_run_at_once_and_keeps_the_earlier_record(place):
    out = place / "out"
    before = snapshot(out)
    proc = lc_started(
        "run",
        "--out",
        str(out),
        "--backend",
        "bad_adapters:BlocksSignalsInLoad",
        "--",
        ONE,
        cwd=place,
        start_new_session=True,
    )
    journal = None
    deadline = time.monotonic() + 120
    while journal is None and time.monotonic() < deadline:  # until its child is loading the backend
        journal = next(iter(out.glob(".run-*/*.journal")), None)  # in the run's private directory
        time.sleep(0.2)
    assert journal is not None, "the run's child never started"
    time.sleep(1.0)
    stopped = time.monotonic()
    os.killpg(proc.pid, signal.SIGINT)  # what a terminal's Ctrl-C does to the foreground group
    text, _ = proc.communicate(timeout=60)
    assert time.monotonic() - stopped < 15, text
    assert proc.returncode == 130, text
    assert "interrupted before the tests were selected: nothing written" in text
    assert snapshot(out) == before


def test_an_interrupt_a_test_swallows_is_never_a_failure(tmp_path):
    """hypothesis can catch the KeyboardInterrupt and report a failure: the plugin's flag wins."""
    test = tmp_path / "test_swallow.py"
    test.write_text(
        "import os, signal, time\n\ndef test_swallows():\n    try:\n"
        "        os.kill(os.getpid(), signal.SIGINT)\n        time.sleep(5)\n"
        "    except KeyboardInterrupt:\n        raise AssertionError('swallowed')\n",
        encoding="utf-8",
    )
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            str(test),
            "--backend",
            "reference",
            "-q",
            "-p",
            "no:cacheprovider",
            "-c",
            os.devnull,
        ],
        cwd=tmp_path,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2, output(result)  # pytest's "interrupted"
    assert "KeyboardInterrupt" in output(result) and "1 failed" not in output(result)


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGKILL], ids=["kill", "kill-9"])
def test_killing_run_many_kills_its_children(place, tmp_path, how):
    proc = lc_started("run-many", "bad_adapters:HangInLoad", "--out", str(tmp_path), "-s", ONE, cwd=place, quiet=True)
    deadline = time.monotonic() + 60
    while not child_pids(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    children = child_pids(proc.pid)
    assert children
    os.kill(proc.pid, how)
    proc.wait(timeout=30)
    deadline = time.monotonic() + 15
    while any(map(is_alive, children)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(map(is_alive, children))


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_sigterm_and_sighup_stop_run_with_an_interrupted_record_and_its_report(place, tmp_path, how):
    out = tmp_path / "out"
    proc = lc_started("run", "--out", str(out), "--backend", "bad_adapters:HangsInToNumpy", "--", SMALL, cwd=place)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # until a test is running (in the run's private directory)
        journals = list(out.glob(".run-*/*.journal"))
        if journals and '"start"' in journals[0].read_text():
            break
        time.sleep(0.2)
    time.sleep(0.5)
    children = child_pids(proc.pid)
    os.kill(proc.pid, how)
    text, _ = proc.communicate(timeout=60)
    assert proc.returncode == 128 + how, text
    record = schema.load(out / "hangs-in-to-numpy.json", schema.RUN_SCHEMA)
    assert record["status"] == "interrupted" and not record["complete"]
    assert "not-run" in {t["outcome"] for t in record["tests"]}
    assert (out / "hangs-in-to-numpy.html").is_file()
    assert not [p.name for p in out.iterdir() if p.name.startswith(".run-") or ".journal" in p.name]
    time.sleep(0.5)
    assert not any(map(is_alive, children))


def test_run_removes_what_killed_runs_left_and_only_theirs(place, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    dead, alive = dead_pid(), os.getpid()
    left = [
        out / f".run-{dead}-0123456789ab",
        out / f"reference.{dead}.journal",
        out / f"reference.{dead}.journal.stack",
    ]
    kept = [out / f".run-{alive}-0123456789ab", out / f"reference.{alive}.journal"]
    for path in left + kept:
        path.mkdir() if path.name.startswith(".run-") else path.write_text("{}\n")
    result = lc("run", "--out", out, "--", ONE, cwd=place)
    assert result.returncode == 0, output(result)
    assert not any(p.exists() for p in left) and all(p.exists() for p in kept)


def test_sigkill_of_run_leaves_the_previous_record_and_the_next_run_cleans_up(place, tmp_path):
    out = tmp_path / "out"
    assert lc("run", "--out", out, "--", ONE, cwd=place).returncode == 0
    before = snapshot(out)
    proc = lc_started("run", "--out", str(out), "--", SMALL, "--fault", FAULT, cwd=place, quiet=True)
    deadline = time.monotonic() + 120
    while not list(out.glob(".run-*/*.journal")) and time.monotonic() < deadline:
        time.sleep(0.1)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert snapshot(out) == before  # the previous record and report: never a "running" one
    assert lc("run", "--out", out, "--", ONE, cwd=place).returncode == 0
    assert not [p.name for p in out.iterdir() if p.name.startswith(".run-")]
