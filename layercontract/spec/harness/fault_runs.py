"""Running the suites against the reference with one fault switched on, for every fault, in
parallel: the machinery behind tests/reference_impl/test_faults.py and `layercontract kill-matrix`.

Each fault runs the suites in its own process (`pytest suites --fault NAME --record ...`).
About half of a run's CPU time is importing numpy, scipy, hypothesis and pytest, so the runs
are forked from one warm "zygote" process that has imported them once and keeps one run per
CPU going; results stream to files the caller waits for. Without os.fork each run starts
`python -m pytest suites --fault NAME` itself (DirectRuns).

A run may be limited to some checks (`checks`: "test_x.py::test_y" as clause_citations.cited_clauses
names them; tests/reference_impl/test_faults.py runs each fault against the checks of its target clauses) and
may use another hypothesis profile (`profile`: "faults" skips shrinking, which is most of a
failing generated check's time and changes no outcome) and take more pytest arguments
(`pytest_args`: "--tb=line" leaves the source out of failure reports, a fifth of a failing run's
time, when only outcomes are read). `layercontract kill-matrix` runs every check with the ci
profile and full reports.

The processes are spec/harness/processes.py's: the zygote leads its own process group and dies
with the process that started it, each forked run dies with the zygote, so no run outlives a
killed pytest or kill-matrix.
"""

from __future__ import annotations

import dataclasses
import json
import os
import pathlib
import subprocess
import sys
import time

import pytest

from layercontract.spec.harness import check_ids, processes

RUN_TIMEOUT_S = 240  # one run of the suites takes ~1.5 s


def _env():
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("LAYERCONTRACT_BACKEND", "PYTEST_ADDOPTS", "PYTEST_PLUGINS", "PYTEST_XDIST_WORKER")
    }
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return processes.single_threaded_blas(env)


def _options(profile=None) -> list[str]:
    """What every run of the suites with a fault takes, and the zygote's collection of them."""
    return [
        *check_ids.pytest_location_args(),
        "-q",
        "-p",
        "no:cacheprovider",
        "-p",
        "no:xdist",
        "--backend",
        "reference",
        # the zygote imported hypothesis before pytest could mark it for assertion rewriting
        "-W",
        "ignore::pytest.PytestAssertRewriteWarning",
        *(["--hypothesis-profile", profile] if profile else []),
    ]


def suites_args(name: str, record: pathlib.Path, checks=None, profile=None, pytest_args=()) -> list[str]:
    targets = [str(check_ids.SUITES_DIR / c) for c in checks] if checks else [str(check_ids.SUITES_DIR)]
    return [*targets, *_options(profile), "--fault", name, "--record", str(record), *pytest_args]


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


def run_suites_with_fault(name: str, workdir: pathlib.Path, checks=None, profile=None, pytest_args=()) -> Run:
    """One run in a fresh interpreter."""
    record = workdir / f"{name}.json"
    result = processes.run(
        [sys.executable, "-m", "pytest", *suites_args(name, record, checks, profile, pytest_args)],
        env=_env(),
        timeout=RUN_TIMEOUT_S,
    )
    return Run.load(name, result.returncode, result.stdout + result.stderr, record)


def zygote_main(workdir: str, workers: int):
    """Import what every run needs once, then fork one child per fault of workdir/plan.json
    ({name: pytest args}), `workers` at a time. Child NAME writes NAME.log and NAME.json; the
    parent writes NAME.rc when it has exited."""
    # Not the project's modules: pytest assertion-rewrites them (the plugin's distribution).
    import gc
    import importlib
    import pdb  # noqa: F401,E401

    import _pytest.config

    # What every run imports: the plugin and what it pulls in, the suites' helpers, pytest's own
    # plugins (each child imported most of them again: 0.03 s), and below, once the runs' plan is
    # read, the suites' modules as pytest imports them (_import_suites: 0.03 s a child).
    for name in _pytest.config.default_plugins:
        importlib.import_module(f"_pytest.{name}")
    import hypothesis.stateful  # noqa: F401  (a third of a run's start-up)
    import hypothesis.strategies  # noqa: F401
    import numpy  # noqa: F401
    import scipy.special  # noqa: F401  (suites/_helpers.py's statistics)

    import layercontract.reference_impl.faults  # noqa: F401
    import layercontract.spec.harness.plugin  # noqa: F401
    import layercontract.suites._helpers  # noqa: F401,E401
    from layercontract.reports import records
    from layercontract.spec import clauses
    from layercontract.spec.harness import clause_citations

    # What every run reads the same way, cached: the spec, the suites' citations (parsed), and
    # what each record names: the harness's versions and the checkout's commit (a run asked git
    # and importlib.metadata again: 0.013 s of CPU a child).
    clauses.load()
    clause_citations.cited_clauses()
    records.harness_versions()
    records.git_commit()
    records.git_dirty()

    work = pathlib.Path(workdir)
    plan = json.loads((work / "plan.json").read_text(encoding="utf-8"))
    names = list(plan)
    if names:
        _import_suites(plan[names[0]])

    gc.freeze()  # the warm heap is shared and never collected in the children
    running: dict[int, str] = {}
    pending = list(names)
    while pending or running:
        while pending and len(running) < workers:
            name = pending.pop(0)
            sys.stdout.flush()
            sys.stderr.flush()
            pid = processes.fork()  # dies with the zygote
            if pid == 0:  # the child: one pytest session with the fault switched on
                code = 70
                try:
                    log = os.open(work / f"{name}.log", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
                    os.dup2(log, 1)
                    os.dup2(log, 2)
                    code = int(pytest.main(plan[name]))
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


def _import_suites(args: list[str]) -> None:
    """Every suites module imported as the runs (with `args`) import them: assertion-rewritten,
    under the runs' hypothesis profile. A collection of the whole suites, output discarded."""
    flag = "--hypothesis-profile"
    options = _options(args[args.index(flag) + 1] if flag in args else None)
    keep = os.dup(1), os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        pytest.main([str(check_ids.SUITES_DIR), *options, "--collect-only"])
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(keep[0], 1)
        os.dup2(keep[1], 2)
        for fd in (*keep, devnull):
            os.close(fd)


class ForkedRuns:
    """All runs, started at once from a zygote process on the first request."""

    def __init__(self, names, workdir: pathlib.Path, workers: int, checks=None, profile=None, pytest_args=()):
        self._names, self._workdir, self._workers = list(names), workdir, workers
        self._checks, self._profile, self._pytest_args = checks or {}, profile, list(pytest_args)
        self._zygote = None

    def _start(self):
        plan = {
            name: suites_args(
                name, self._workdir / f"{name}.json", self._checks.get(name), self._profile, self._pytest_args
            )
            for name in self._names
        }
        (self._workdir / "plan.json").write_text(json.dumps(plan), encoding="utf-8")
        code = (
            f"import layercontract.spec.harness.fault_runs as t; t.zygote_main({str(self._workdir)!r}, {self._workers})"
        )
        self._log = open(self._workdir / "zygote.log", "w")
        self._zygote = processes.spawn(
            [sys.executable, "-c", code], env=_env(), stdout=self._log, stderr=subprocess.STDOUT
        )  # its own group; dies with us
        self._deadline = time.monotonic() + RUN_TIMEOUT_S + 10 * len(self._names)

    def get(self, name: str) -> Run:
        if self._zygote is None:
            self._start()
        zygote = self._zygote
        assert zygote is not None  # started above
        rc_file, log = self._workdir / f"{name}.rc", self._workdir / f"{name}.log"
        while not rc_file.is_file():
            if zygote.poll() is not None and not rc_file.is_file():
                raise FaultRunError(
                    f"the zygote exited ({zygote.returncode}) before running {name}:\n"
                    + (self._workdir / "zygote.log").read_text()
                )
            if time.monotonic() > self._deadline:
                raise FaultRunError(f"timed out waiting for the run of {name}")
            time.sleep(0.05)
        output = log.read_text(encoding="utf-8", errors="replace") if log.is_file() else ""
        return Run.load(name, int(rc_file.read_text()), output, self._workdir / f"{name}.json")

    def close(self):
        if self._zygote is not None:
            if self._zygote.poll() is None:
                processes.kill_group(self._zygote)  # the zygote and its children only
            self._zygote.wait()
            self._log.close()


class DirectRuns:
    def __init__(self, workdir: pathlib.Path, checks=None, profile=None, pytest_args=()):
        self._workdir, self._checks, self._profile, self._pytest_args = (
            workdir,
            checks or {},
            profile,
            list(pytest_args),
        )

    def get(self, name: str) -> Run:
        return run_suites_with_fault(name, self._workdir, self._checks.get(name), self._profile, self._pytest_args)

    def close(self):
        pass


class FaultRunError(Exception):
    pass


def runs_for(names, workdir: pathlib.Path, workers: int | None = None, checks=None, profile=None, pytest_args=()):
    """ForkedRuns where os.fork is usable, else DirectRuns (the zygote is a fresh process, so
    this works inside an xdist worker too).
    checks: {name: ["test_x.py::test_y", ...]} limits a fault's run to those checks (default:
    every check); profile: the hypothesis profile (default: ci); pytest_args: more arguments for
    each run's pytest."""
    if not hasattr(os, "fork"):
        return DirectRuns(workdir, checks, profile, pytest_args)
    return ForkedRuns(
        list(names),
        workdir,
        workers=workers or max(2, os.cpu_count() or 1),
        checks=checks,
        profile=profile,
        pytest_args=pytest_args,
    )


def first_failure_message(run: Run) -> str:
    for test in (run.record or {}).get("tests", []):
        if test["outcome"] == "fail":
            return f"{test['nodeid']}: {' '.join(test['message'].split())[:500]}"
    return run.tail(5)


def kill_matrix(faults_by_name, runs) -> dict:
    """{"faults": {name: {description, killed_by, first_message}}} for reports/merge.py."""
    matrix = {}
    for name, fault in faults_by_name.items():
        run = runs.get(name)
        matrix[name] = {
            "description": fault.description,
            "killed_by": sorted(run.clauses_with("fail")),
            "first_message": first_failure_message(run),
        }
    return {"faults": matrix}
