"""Mutation testing of the suites: with any one fault of backends/faults.py switched on in the
reference, the suites must fail, and fail on the clauses the fault targets.

Each fault runs the suites in its own process (`pytest suites --fault NAME --record ...`).
About half of a run's CPU time is importing numpy, scipy, hypothesis and pytest, so the runs
are forked from one warm "zygote" process that has imported them once and keeps one run per
CPU going; results stream to files the tests wait for. Under pytest-xdist (or without
os.fork) each test instead starts `python -m pytest suites --fault NAME` itself.
"""
from __future__ import annotations

import dataclasses
import json
import os
import pathlib
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from backends import faults
from spec import clauses as spec_clauses

ROOT = pathlib.Path(__file__).resolve().parents[1]
USAGE_ERROR = 4
TESTS_FAILED = 1
RUN_TIMEOUT_S = 240  # one run of the suites takes ~1.5 s


def _env():
    env = {k: v for k, v in os.environ.items()
           if k not in ("LAYERCONTRACT_BACKEND", "PYTEST_ADDOPTS", "PYTEST_PLUGINS", "PYTEST_XDIST_WORKER")}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.setdefault("OPENBLAS_NUM_THREADS", "1")  # tiny matrices; one run per CPU already
    return env


def suites_args(name: str, record: pathlib.Path) -> list[str]:
    return ["suites", "-q", "-p", "no:cacheprovider", "-p", "no:xdist", "--fault", name, "--record", str(record)]


@dataclasses.dataclass
class Run:
    name: str
    returncode: int
    output: str
    record: dict | None

    @classmethod
    def load(cls, name, returncode, output, record: pathlib.Path):
        data = json.loads(record.read_text(encoding="utf-8")) if record.is_file() else None
        return cls(name, returncode, output, data)

    def clauses_with(self, outcome: str) -> set[str]:
        rows = (self.record or {}).get("clauses", {})
        return {cid for cid, row in rows.items() if row["outcome"] == outcome}

    def tail(self, lines=40) -> str:
        return "\n".join(self.output.splitlines()[-lines:])


def run_suites_with_fault(name: str, workdir: pathlib.Path) -> Run:
    """One run in a fresh interpreter."""
    record = workdir / f"{name}.json"
    result = subprocess.run([sys.executable, "-m", "pytest", *suites_args(name, record)], cwd=ROOT, env=_env(),
                            capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
    return Run.load(name, result.returncode, result.stdout + result.stderr, record)


def zygote_main(names: list[str], workdir: str, workers: int):
    """Import what every run needs once, then fork one child per fault, `workers` at a time.
    Child NAME writes NAME.log and NAME.json; the parent writes NAME.rc when it has exited."""
    # Not hypothesis or the project's plugins: pytest wants to assertion-rewrite those itself.
    import _pytest.python  # noqa: F401
    import numpy  # noqa: F401
    import scipy.stats  # noqa: F401  (the bulk: suites/_helpers.py imports it)

    work = pathlib.Path(workdir)
    running: dict[int, str] = {}
    pending = list(names)
    while pending or running:
        while pending and len(running) < workers:
            name = pending.pop(0)
            sys.stdout.flush()
            sys.stderr.flush()
            pid = os.fork()
            if pid == 0:  # the child: one pytest session with the fault switched on
                code = 70
                try:
                    log = os.open(work / f"{name}.log", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
                    os.dup2(log, 1)
                    os.dup2(log, 2)
                    code = int(pytest.main(suites_args(name, work / f"{name}.json")))
                except BaseException:
                    import traceback

                    traceback.print_exc()
                finally:
                    sys.stdout.flush()
                    sys.stderr.flush()
                    os._exit(code)
            running[pid] = name
        pid, status = os.wait()
        name = running.pop(pid)
        tmp = work / f"{name}.rc.tmp"
        tmp.write_text(str(os.waitstatus_to_exitcode(status)))
        os.replace(tmp, work / f"{name}.rc")


class ForkedRuns:
    """All runs, started at once from a zygote process on the first request."""

    def __init__(self, names, workdir: pathlib.Path, workers: int):
        self._names, self._workdir, self._workers = list(names), workdir, workers
        self._zygote = None

    def _start(self):
        code = f"import tests.test_faults as t; t.zygote_main({self._names!r}, {str(self._workdir)!r}, {self._workers})"
        self._log = open(self._workdir / "zygote.log", "w")
        self._zygote = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=_env(), stdout=self._log,
                                        stderr=subprocess.STDOUT, start_new_session=True)
        self._deadline = time.monotonic() + RUN_TIMEOUT_S + 10 * len(self._names)

    def get(self, name: str) -> Run:
        if self._zygote is None:
            self._start()
        rc_file, log = self._workdir / f"{name}.rc", self._workdir / f"{name}.log"
        while not rc_file.is_file():
            if self._zygote.poll() is not None and not rc_file.is_file():
                pytest.fail(f"the zygote exited ({self._zygote.returncode}) before running {name}:\n"
                            + (self._workdir / "zygote.log").read_text())
            if time.monotonic() > self._deadline:
                pytest.fail(f"timed out waiting for the run of {name}")
            time.sleep(0.05)
        output = log.read_text(encoding="utf-8", errors="replace") if log.is_file() else ""
        return Run.load(name, int(rc_file.read_text()), output, self._workdir / f"{name}.json")

    def close(self):
        if self._zygote is not None:
            if self._zygote.poll() is None:
                os.killpg(self._zygote.pid, signal.SIGKILL)  # the zygote and its children only
            self._zygote.wait()
            self._log.close()


class DirectRuns:
    def __init__(self, workdir: pathlib.Path):
        self._workdir = workdir

    def get(self, name: str) -> Run:
        return run_suites_with_fault(name, self._workdir)

    def close(self):
        pass


@pytest.fixture(scope="session")
def suite_runs(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("fault-runs")
    if "PYTEST_XDIST_WORKER" in os.environ or not hasattr(os, "fork"):
        runs = DirectRuns(workdir)
    else:
        runs = ForkedRuns([*faults.FAULTS, *faults.KNOWN_SURVIVORS], workdir, workers=max(2, os.cpu_count() or 1))
    yield runs
    runs.close()


# ------------------------------------------------------------- every fault is killed
@pytest.mark.parametrize("name", list(faults.FAULTS))
def test_suites_kill_the_fault_on_its_target_clauses(suite_runs, name):
    fault = faults.FAULTS[name]
    run = suite_runs.get(name)
    assert run.returncode == TESTS_FAILED, (
        f"fault {name} ({fault.description}): expected the suites to fail (exit 1), got exit "
        f"{run.returncode}:\n{run.tail()}")
    assert run.record is not None, f"no run record for fault {name}:\n{run.tail()}"
    assert run.record["backend"] == f"reference+fault={name}", run.record["backend"]
    errors = run.clauses_with("harness-error")
    assert not errors, f"fault {name}: harness errors (the fault broke the harness, not a clause) " \
                       f"on {sorted(errors)}:\n{run.tail()}"
    killed = run.clauses_with("fail")
    assert killed & set(fault.targets), (
        f"fault {name} ({fault.description}) survived on all its targets {list(fault.targets)}; "
        f"clauses that failed: {sorted(killed) or 'none'}")
    missed = [cid for cid in fault.targets if cid not in killed]
    assert not missed, (
        f"fault {name}: targets {missed} did not fail (failed: {sorted(killed)}); "
        f"drop them from its targets or strengthen their checks")


def test_known_survivors_still_survive(suite_runs):
    """A known survivor documents a weak check; when the suites start killing it, it belongs in FAULTS."""
    now_killed = {}
    for name, fault in faults.KNOWN_SURVIVORS.items():
        run = suite_runs.get(name)
        assert run.record is not None, f"no run record for {name}:\n{run.tail()}"
        killed = run.clauses_with("fail") | run.clauses_with("harness-error")
        if run.returncode != 0 or killed:
            now_killed[name] = f"{sorted(killed)} (weak check was: {fault.weak_check})"
    assert not now_killed, f"known survivors now killed; move them to FAULTS: {now_killed}"


# ------------------------------------------------------------------ the registry
def test_there_are_at_least_25_faults():
    assert len(faults.FAULTS) >= 25


@pytest.mark.parametrize("name", [*faults.FAULTS, *faults.KNOWN_SURVIVORS])
def test_each_fault_is_documented_and_targets_applicable_clauses(name):
    fault = faults.get(name)
    clauses = spec_clauses.load()
    assert fault.name == name and name.isidentifier()
    assert fault.description and "\n" not in fault.description
    assert len(fault.doc.splitlines()) > 2, f"{name}: the docstring must say what the fault breaks"
    assert "Breaks:" in fault.doc, f"{name}: the docstring must say what the fault breaks ('Breaks: ...')"
    assert fault.targets, f"{name}: no target clauses"
    for cid in fault.targets:
        assert cid in clauses, f"{name}: unknown clause {cid}"
        assert clauses[cid].applies_to(faults.FaultyReference(name).edition), (
            f"{name}: target {cid} does not apply to the reference's edition, so it can never fail")
    if name in faults.KNOWN_SURVIVORS:
        assert fault.weak_check, f"{name}: a known survivor must name the weak check"


def test_every_clause_is_targeted_by_a_fault_or_says_why_none_applies():
    clauses = spec_clauses.load()
    targeted = {cid for fault in faults.FAULTS.values() for cid in fault.targets}
    exempt = faults.NO_FAULT_APPLIES
    assert not set(exempt) - set(clauses), f"NO_FAULT_APPLIES names unknown clauses {sorted(set(exempt) - set(clauses))}"
    assert not set(exempt) & targeted, (
        f"clauses both targeted and in NO_FAULT_APPLIES: {sorted(set(exempt) & targeted)}")
    assert all(reason.strip() for reason in exempt.values())
    uncovered = sorted(set(clauses) - targeted - set(exempt))
    assert not uncovered, (
        f"no fault targets {uncovered}: add a fault to backends/faults.py, or list the clause in "
        f"NO_FAULT_APPLIES with the reason")


def test_faults_apply_and_reset_cleanly_in_a_fresh_process():
    """Every fault finds its edit sites in reference_impl, and reset() restores every binding."""
    script = textwrap.dedent("""
        import sys
        from backends import faults
        import reference_impl

        MODULES = [m for n, m in sorted(sys.modules.items()) if n.startswith("reference_impl")]

        def bindings():
            found = {}
            for m in MODULES:
                for k, v in vars(m).items():
                    found[(m.__name__, k)] = v
                    if isinstance(v, type) and v.__module__ == m.__name__:
                        found.update({(m.__name__, k, a): b for a, b in vars(v).items()})
                    elif type(v) is dict:
                        found.update({(m.__name__, k, repr(a)): b for a, b in v.items()})
            return found

        before = bindings()
        problems = []
        for name in [*faults.FAULTS, *faults.KNOWN_SURVIVORS]:
            try:
                faults.get(name).apply()
                assert faults.active() == name
            except Exception as e:
                problems.append(f"{name}: apply failed: {type(e).__name__}: {e}")
            faults.reset()
            after = bindings()
            changed = [k for k in before.keys() | after.keys() if before.get(k) is not after.get(k)]
            if changed:
                problems.append(f"{name}: reset() left {sorted(map(str, changed))[:5]} changed")
        print("\\n".join(problems))
        sys.exit(1 if problems else 0)
    """)
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=_env(), capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_one_fault_per_process():
    assert faults.active() is None  # this process never applies faults
    with pytest.raises(RuntimeError, match="already active"):
        faults._active = "something_else"
        try:
            next(iter(faults.FAULTS.values())).apply()
        finally:
            faults._active = None


# --------------------------------------------------------------- unknown fault names
def test_unknown_fault_raises_naming_known_faults():
    with pytest.raises(faults.UnknownFault) as info:
        faults.FaultyReference("no_such_fault")
    assert issubclass(faults.UnknownFault, Exception)
    message = str(info.value)
    assert "no_such_fault" in message
    assert all(name in message for name in faults.FAULTS)


def test_unknown_fault_option_is_a_usage_error_naming_known_faults():
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "suites/test_call.py", "-q", "-p", "no:cacheprovider",
         "--fault", "no_such_fault"],
        cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=120)
    assert result.returncode == USAGE_ERROR, result.stdout + result.stderr
    assert "unknown fault 'no_such_fault'" in result.stderr
    assert all(name in result.stderr for name in faults.FAULTS)
    assert "Traceback" not in result.stdout + result.stderr
