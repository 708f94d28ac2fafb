"""spec/harness/processes.py: no child outlives its parent. A parent killed with SIGKILL runs
no handler at all, so this is what the kernel's parent-death signal (and nothing else) gives:
run-many's backend processes and kill-matrix's zygote and forked runs are gone within seconds.
And what every process that runs checks gets: numpy's BLAS on one thread, unless the caller chose."""

from __future__ import annotations

import os
import pathlib
import signal
import subprocess
import sys
import textwrap
import time

ROOT = pathlib.Path(__file__).resolve().parents[2]


def clean_env():
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("LAYERCONTRACT_BACKEND", "PYTEST_ADDOPTS", "PYTEST_PLUGINS", "PYTEST_XDIST_WORKER")
    }
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def _stat(pid: int) -> tuple[int, str] | None:
    """(parent pid, state) of a live process, None if it is gone (a zombie counts as gone)."""
    try:
        text = pathlib.Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    state, ppid = text.rsplit(")", 1)[1].split()[:2]
    return None if state in ("Z", "X") else (int(ppid), state)


def descendants(pid: int) -> set[int]:
    parents = {}
    for entry in pathlib.Path("/proc").iterdir():
        if entry.name.isdigit() and (found := _stat(int(entry.name))) is not None:
            parents[int(entry.name)] = found[0]
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def wait_for(condition, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def kill_9_and_expect_orphans_gone(parent: subprocess.Popen, children: set[int], within: float = 5.0):
    assert children, "the parent had no children to test with"
    parent.send_signal(signal.SIGKILL)
    parent.wait(timeout=10)
    try:
        wait_for(lambda: not any(_stat(pid) for pid in children), within, f"children {sorted(children)} to exit")
    finally:
        for pid in children:  # never leave one behind, whatever the outcome
            if _stat(pid):
                os.kill(pid, signal.SIGKILL)


def test_spawned_and_forked_children_die_with_a_killed_parent(tmp_path):
    script = textwrap.dedent("""
        import os, sys, time
        from layercontract.spec.harness import processes
        child = processes.spawn([sys.executable, "-c", "import time; time.sleep(120)"])
        pid = processes.fork()
        if pid == 0:
            time.sleep(120)
            os._exit(0)
        print(child.pid, pid, flush=True)
        time.sleep(120)
    """)
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, env=clean_env())
    children = {int(p) for p in parent.stdout.readline().split()}
    assert len(children) == 2 and all(_stat(pid) for pid in children)
    kill_9_and_expect_orphans_gone(parent, children)


def test_supervisor_kills_its_children_when_the_parent_is_terminated(tmp_path):
    script = textwrap.dedent("""
        import sys, time
        from layercontract.spec.harness import processes
        with processes.Supervisor() as sup:
            child = sup.spawn([sys.executable, "-c", "import signal, time; "
                               "signal.signal(signal.SIGHUP, signal.SIG_IGN); time.sleep(120)"])
            print(child.pid, flush=True)
            time.sleep(120)
    """)
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, env=clean_env())
    child = int(parent.stdout.readline())
    parent.send_signal(signal.SIGTERM)
    assert parent.wait(timeout=30) == 128 + signal.SIGTERM
    wait_for(lambda: _stat(child) is None, 5, "the child to exit")


def test_run_many_backend_processes_die_with_a_killed_run_many(tmp_path):
    """A backend stuck in load(): run-many killed with SIGKILL takes its pytest process along."""
    parent = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "layercontract.spec.harness.cli",
            "run-many",
            "tests.fixtures.adapters:HangInLoad",
            "-s",
            "suites/test_build.py",
            "--out",
            str(tmp_path),
        ],
        cwd=ROOT,
        env=clean_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )

    def collected():  # the journal is in run-many's private directory, OUT/.run-<pid>-<random>/
        return any('"collected"' in j.read_text() for j in tmp_path.glob(".run-*/*/*HangInLoad.journal"))

    wait_for(collected, 120, "the backend to collect")
    kill_9_and_expect_orphans_gone(parent, descendants(parent.pid))


def test_kill_matrix_zygote_and_forked_runs_die_with_a_killed_parent(tmp_path):
    parent = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "layercontract.spec.harness.cli",
            "kill-matrix",
            "-j",
            "2",
            "--out",
            str(tmp_path / "km.json"),
        ],
        cwd=tmp_path,
        env=clean_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    # the zygote and at least one forked run of it: parent -> zygote -> run
    found = wait_for(lambda: (d := descendants(parent.pid)) and len(d) >= 2 and d, 120, "the zygote's forked runs")
    kill_9_and_expect_orphans_gone(parent, found | descendants(parent.pid))


# ------------------------------------------------- the environment of processes that run checks
def test_processes_that_run_checks_get_one_blas_thread_unless_the_caller_chose(monkeypatch):
    from layercontract.spec.harness import backend_runs, fault_runs

    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    assert backend_runs.child_env()["OPENBLAS_NUM_THREADS"] == "1"  # run, run-many, doctor, bisect
    assert fault_runs._env()["OPENBLAS_NUM_THREADS"] == "1"  # kill-matrix, test_faults.py
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "3")
    assert backend_runs.child_env()["OPENBLAS_NUM_THREADS"] == "3"
    assert fault_runs._env()["OPENBLAS_NUM_THREADS"] == "3"
