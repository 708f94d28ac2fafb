"""The run record: one JSON file per run, written at the end of the session (also when
interrupted, then marked incomplete). Schema version 1:

    {"schema": "layercontract-run/1", "complete": bool, "backend": str, "edition": str,
     "versions": {pkg: version}, "python": str, "platform": str, "git_commit": str,
     "started": iso8601, "finished": iso8601, "duration_s": float, "exit_status": int,
     "clauses": {id: {"outcome": str, "tests": int}},
     "tests": [{"nodeid", "clauses", "outcome", "duration_s", "message", "rerun"}]}
"""
from __future__ import annotations

import datetime as dt
import json
import os
import pathlib
import platform
import re
import shlex
import subprocess
import sys

import pytest

SCHEMA = "layercontract-run/1"
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
ROOT = pathlib.Path(__file__).resolve().parents[1]


def pytest_addoption(parser):
    parser.getgroup("layercontract").addoption(
        "--record", default=None, metavar="PATH",
        help="write the run record (JSON) to PATH")


def _git_commit():
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              timeout=5).stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def _versions(state):
    # An xdist controller runs no test, so its adapter has not loaded the framework yet.
    try:
        state.namespace
        return state.adapter.versions()
    except Exception as e:  # never lose the record over version reporting
        return {"error": f"{type(e).__name__}: {e}"}


def _rerun_options(config) -> str:
    """The options that select what this run checked: backend, fault, expectations file."""
    opts = ["--backend", config.getoption("backend")]
    for name in ("fault", "expectations"):
        value = config.getoption(name, None)
        if value:
            opts += [f"--{name}", str(value)]
    return " ".join(shlex.quote(o) for o in opts)


def _now():
    return dt.datetime.now(dt.timezone.utc)


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session):
    session.config._lc_started = _now()


def pytest_sessionfinish(session, exitstatus):
    config = session.config
    path = config.getoption("record", None)
    if not path or hasattr(config, "workerinput"):
        return
    from spec.harness import plugin

    state = config.stash.get(plugin.STATE, None)
    if state is None:
        return
    started = getattr(config, "_lc_started", _now())
    finished = _now()
    backend = state.adapter.name
    rerun_options = _rerun_options(config)
    tests = [
        {"nodeid": nodeid, "clauses": ids, "outcome": outcome, "duration_s": round(duration, 4),
         "message": ANSI.sub("", message)[:4000],
         "rerun": f"python -m pytest {shlex.quote(nodeid)} {rerun_options}"}
        for nodeid, (ids, outcome, message, duration) in sorted(state.results.items())
    ]
    record = {
        "schema": SCHEMA,
        "complete": exitstatus in (0, 1) and not session.shouldstop,
        "backend": backend,
        "edition": state.adapter.edition,
        "versions": _versions(state),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "git_commit": _git_commit(),
        "hypothesis_profile": os.environ.get("HYPOTHESIS_PROFILE", config.getoption("hypothesis_profile", None)),
        "started": started.isoformat(),
        "finished": finished.isoformat(),
        "duration_s": round((finished - started).total_seconds(), 3),
        "exit_status": int(exitstatus),
        "clauses": {cid: row for cid, row in plugin.clause_table(state).items() if row["tests"]},
        "tests": tests,
    }
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(record, indent=1), encoding="utf-8")
    os.replace(tmp, path)  # never leave a half-written record
    config._lc_record_path = path
