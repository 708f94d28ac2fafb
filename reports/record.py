"""The run record: one JSON file per run (`--record PATH`), schema "layercontract-run/2".

The fields are documented in reports/SCHEMA.md and checked by reports/run-record.schema.json.
The record is written incrementally: once when the tests are selected (every test "not-run",
status "running"), again after finished tests (at most every --record-every seconds), and a
last time when the session ends (status "complete", or "interrupted" with its stop_reason).
Every write goes through a temporary file and a rename, so whenever the run stops - an
interrupt, `-x`, a crash, even a kill -9 - the file is a valid record of what completed; a
record still "running" after its process is gone was killed.

Outcomes per test: those of spec/harness/outcomes.py, plus "crash" for the test an xdist
worker was running when it died and "not-run" for selected tests that never ran.
"""
from __future__ import annotations

import collections
import datetime as dt
import importlib.metadata
import json
import pathlib
import platform
import random
import re
import shlex
import subprocess
import sys
import time

import pytest

from layercontract.reports.schema import RUN_SCHEMA, write_atomic
from layercontract.spec.harness import integrity, outcomes

SCHEMA = RUN_SCHEMA
NOT_RUN = "not-run"
CRASH = getattr(outcomes, "CRASH", "crash")
# Worst first, like outcomes.SEVERITY; a clause with a test not run is not a pass.
SEVERITY = list(outcomes.SEVERITY)
if CRASH not in SEVERITY:
    SEVERITY.insert(1, CRASH)
SEVERITY.insert(SEVERITY.index(outcomes.PASS), NOT_RUN)
UNEXPECTED = frozenset(outcomes.UNEXPECTED) | {CRASH}  # outcomes that fail a run
ALL_OUTCOMES = tuple(SEVERITY)

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
MESSAGE_HEAD, MESSAGE_TAIL = 1000, 3000  # a long message keeps its start and its end (the error)
FALSIFYING = re.compile(r"(Falsifying (explicit )?example|Failing test case)[^:\n]*:")
# what may precede the block on its lines: pytest's "E   ", an exception group's "    | "
TRACEBACK_MARGIN = re.compile(r"(E\s*)?[\s|]*")
REPRODUCE = re.compile(r"@reproduce_failure\([^)]*\)")
ROOT = pathlib.Path(__file__).resolve().parents[1]
RUNNING_REASON = ("the session has not finished: if no pytest process is writing this record, "
                  "the run was killed")


def pytest_addoption(parser):
    group = parser.getgroup("layercontract")
    group.addoption("--record", default=None, metavar="PATH", help="write the run record (JSON) to PATH")
    group.addoption("--record-every", type=float, default=0.5, metavar="SECONDS",
                    help="rewrite the record after finished tests at most every SECONDS "
                         "(0: after every test; default 0.5)")


# ---------------------------------------------------------------- small helpers
def _now():
    return dt.datetime.now(dt.timezone.utc)


def _git(*args) -> str | None:
    try:  # read-only; --no-optional-locks: never touch the index
        result = subprocess.run(["git", "--no-optional-locks", *args], cwd=ROOT, capture_output=True,
                                text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout if result.returncode == 0 else None


def _git_commit() -> str:
    return (_git("rev-parse", "HEAD") or "").strip() or "unknown"


def _git_dirty() -> bool | None:
    status = _git("status", "--porcelain", "--untracked-files=no")
    return None if status is None else bool(status.strip())


def _distribution_version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def clean_message(text: str) -> str:
    """ANSI stripped; a long text keeps its first and last characters (where the error is)."""
    text = ANSI.sub("", text or "")
    if len(text) > MESSAGE_HEAD + MESSAGE_TAIL:
        cut = len(text) - MESSAGE_HEAD - MESSAGE_TAIL
        text = f"{text[:MESSAGE_HEAD]}\n[... {cut} characters cut ...]\n{text[-MESSAGE_TAIL:]}"
    return text


def falsifying_example(*texts: str) -> str | None:
    """Hypothesis's "Falsifying example: ..." / "Failing test case: ..." blocks (and its
    @reproduce_failure lines) from a report's sections and longrepr, or None. In a traceback
    the block sits on pytest's "E   " lines, indented like the failing line, or behind the
    "| " margin of an exception group (hypothesis found several distinct failures)."""
    blocks, blobs = [], []
    for text in texts:
        lines = ANSI.sub("", text or "").splitlines()
        for i, line in enumerate(lines):
            match = FALSIFYING.search(line)
            if not match or not TRACEBACK_MARGIN.fullmatch(line[:match.start()]):
                continue
            prefix = line[:match.start()]
            block = [line[match.start():].rstrip()]
            for following in lines[i + 1:]:
                body = following[len(prefix):] if following.startswith(prefix) else ""
                if not body.strip() or not (body[0].isspace() or body.startswith(")")):
                    break  # a blank line or the next statement ("Explanation:", "You can ...")
                block.append(body.rstrip())
            text_block = "\n".join(block)
            if text_block not in blocks:
                blocks.append(text_block)
        blobs += [b for b in REPRODUCE.findall(ANSI.sub("", text or "")) if b not in blobs]
    if not blocks:
        return None
    return "\n".join(blocks + blobs)


def _longrepr_text(report) -> str:
    return "" if report.longrepr is None else str(report.longrepr)


def clause_outcome(outs: list[str]) -> str:
    return min(outs, key=SEVERITY.index) if outs else outcomes.NOT_APPLICABLE


# --------------------------------------------------------------------- recorder
class Recorder:
    """The record of one session, kept in the process that reports (xdist: the controller)."""

    def __init__(self, config, path: pathlib.Path):
        self.config = config
        self.path = path
        self.every = max(0.0, config.getoption("record_every", 0.5) or 0.0)
        self.started = _now()
        self.git_commit = _git_commit()
        self.git_dirty = _git_dirty()
        self.selected: dict[str, list[str]] = {}   # nodeid -> clauses, in run order
        self.rows: dict[str, dict] = {}            # nodeid -> row of a test that ran
        self.seen: dict[str, tuple] = {}           # nodeid -> the harness's result last used
        self.durations: collections.Counter = collections.Counter()
        self.stop_reason: str | None = None
        self.last_write = 0.0
        self._versions = None
        self._static_clauses = None

    # -- context
    def state(self):
        from layercontract.spec.harness import plugin

        return self.config.stash.get(plugin.STATE, None)

    def versions(self, state) -> dict:
        if self._versions is None:
            try:  # an xdist controller runs no test: load the backend to ask it
                state.namespace
                self._versions = {k: str(v) for k, v in state.adapter.versions().items()}
            except Exception as e:  # never lose the record over version reporting
                return {"error": f"{type(e).__name__}: {e}"}
        return self._versions

    def static_clauses(self, nodeid: str) -> list[str]:
        """Clauses a test cites, read from the suites' source (for node ids known only by id)."""
        if self._static_clauses is None:
            self._static_clauses = {}
            for cid, tests in integrity.cited_clauses().items():
                for test in tests:
                    self._static_clauses.setdefault(f"suites/{test}", []).append(cid)
        base = integrity.check_id(nodeid).split("[", 1)[0]
        return self._static_clauses.get(base) or self._static_clauses.get(base.rsplit("::", 1)[0], [])

    def rerun_options(self) -> str:
        """The options that select what this run checked: backend, fault, expectations file,
        hypothesis profile (unless the default) and seed."""
        config = self.config
        opts = ["--backend", config.getoption("backend")]
        for name in ("fault", "expectations"):
            value = config.getoption(name, None)
            if value:
                opts += [f"--{name}", str(value)]
        profile = config.getoption("hypothesis_profile", None)
        if profile and profile != "ci":
            opts += ["--hypothesis-profile", profile]
        seed = config.getoption("hypothesis_seed", None)
        if seed is not None:
            opts += ["--hypothesis-seed", str(seed)]
        return " ".join(shlex.quote(o) for o in opts)

    def hypothesis(self) -> dict:
        from hypothesis import settings

        profile = self.config.getoption("hypothesis_profile", None)
        try:
            profile = settings.get_current_profile_name()
        except Exception:
            pass
        seed = self.config.getoption("hypothesis_seed", None)
        try:
            current = settings.get_profile(profile) if profile else settings.default
            derandomize, max_examples = bool(current.derandomize), int(current.max_examples)
        except Exception:
            derandomize = max_examples = None
        return {"profile": profile, "seed": None if seed is None else str(seed),
                "derandomize": derandomize, "max_examples": max_examples}

    # -- collecting
    def select(self, nodeid: str, clauses: list[str]):
        if clauses and nodeid not in self.selected:
            self.selected[nodeid] = list(clauses)

    def on_report(self, report):
        nodeid = report.nodeid
        self.durations[nodeid] += getattr(report, "duration", 0.0) or 0.0
        if report.when == "???" or (report.failed and "crashed while running" in _longrepr_text(report)):
            # pytest-xdist's report for the test its worker was running when the worker died
            clauses = self.selected.get(nodeid) or self.static_clauses(nodeid)
            if clauses:
                self.selected.setdefault(nodeid, clauses)
                self.rows[nodeid] = self.row(nodeid, clauses, CRASH, _longrepr_text(report))
            return
        state = self.state()
        result = state.results.get(nodeid) if state is not None else None
        if result is None or self.seen.get(nodeid) == result:
            return
        self.seen[nodeid] = result  # the harness took this report's outcome: use its text
        ids, outcome, message, _duration = result
        self.selected.setdefault(nodeid, list(ids))
        reason = None
        if outcome in (outcomes.DEVIATION, outcomes.UNEXPECTED_PASS):
            reason = getattr(report, "wasxfail", None) or self.deviation_reason(state, nodeid)
            if outcome == outcomes.DEVIATION:  # the message says what was observed
                message = _longrepr_text(report) if not isinstance(report.longrepr, tuple) else ""
        sections = [content for _title, content in getattr(report, "sections", [])]
        example = falsifying_example(*sections, _longrepr_text(report)) if report.failed or reason else None
        self.rows[nodeid] = self.row(nodeid, list(ids), outcome, message, reason, example)

    @staticmethod
    def deviation_reason(state, nodeid):
        for deviation in getattr(state, "active_deviations", ()):
            if deviation.matches(integrity.check_id(nodeid)):
                return deviation.describe()
        return None

    def row(self, nodeid, clauses, outcome, message, reason=None, example=None) -> dict:
        check = integrity.check_id(nodeid)
        return {"nodeid": check, "clauses": clauses, "outcome": outcome, "duration_s": 0.0,
                "message": clean_message(message), "reason": reason, "falsifying_example": example,
                "rerun": f"python -m pytest --pyargs {shlex.quote(integrity.pyargs_target(check))} "
                          f"{self.rerun_options()}"}

    # -- writing
    def build(self, finished=None, exitstatus=None, session=None) -> dict:
        state = self.state()
        tests = []
        for nodeid in sorted(set(self.selected) | set(self.rows)):
            row = self.rows.get(nodeid) or self.row(nodeid, self.selected[nodeid], NOT_RUN, "")
            tests.append({**row, "duration_s": round(self.durations.get(nodeid, 0.0), 4)})
        per_clause: dict[str, list[str]] = {}
        for test in tests:
            for cid in test["clauses"]:
                per_clause.setdefault(cid, []).append(test["outcome"])
        order = list(state.clauses) if state is not None else []
        clauses = {cid: {"outcome": clause_outcome(per_clause[cid]), "tests": len(per_clause[cid])}
                   for cid in sorted(per_clause, key=lambda c: (order.index(c) if c in order else len(order), c))}
        counts = collections.Counter(t["outcome"] for t in tests)
        not_run = counts.get(NOT_RUN, 0)
        if finished is None:
            status, stop_reason = "running", RUNNING_REASON
        else:
            stop_reason = self.stop_reason
            if stop_reason is None and session is not None:
                stop_reason = session.shouldfail or session.shouldstop or None
                stop_reason = None if stop_reason is None else (
                    stop_reason if isinstance(stop_reason, str) else "the session was stopped")
            if stop_reason is None and int(exitstatus) not in (0, 1):
                stop_reason = f"pytest exit status {int(exitstatus)} ({pytest.ExitCode(int(exitstatus)).name})" \
                    if int(exitstatus) in set(pytest.ExitCode) else f"pytest exit status {int(exitstatus)}"
            if stop_reason is None and not_run:
                stop_reason = f"{not_run} selected test(s) did not run"
            status = "complete" if stop_reason is None else "interrupted"
        end = finished or _now()
        adapter = state.adapter if state is not None else None
        config = self.config
        workers = config.getoption("numprocesses", None) if config.pluginmanager.has_plugin("xdist") else None
        return {
            "schema": SCHEMA,
            "status": status,
            "complete": status == "complete",
            "stop_reason": stop_reason,
            "backend": adapter.name if adapter else str(config.getoption("backend")),
            # the name as given, e.g. "keras-jax@nightly" ("backend" is the adapter's name)
            "requested_backend": getattr(adapter, "requested_backend", None) or str(config.getoption("backend")),
            "edition": adapter.edition if adapter else "unknown",
            "capabilities": sorted(adapter.capabilities) if adapter else [],
            "versions": self.versions(state) if state is not None else {},
            "harness": {"layercontract": _distribution_version("layercontract"),
                        "pytest": pytest.__version__,
                        "hypothesis": _distribution_version("hypothesis"),
                        "pytest-xdist": _distribution_version("pytest-xdist")},
            "python": sys.version.split()[0],
            "platform": platform.platform(),
            "git_commit": self.git_commit,
            "git_dirty": self.git_dirty,
            "hypothesis": self.hypothesis(),
            "options": {"fault": config.getoption("fault", None),
                        "expectations": config.getoption("expectations", None),
                        "test_timeout": config.getoption("test_timeout", None) or None,
                        "xdist_workers": None if workers in (None, 0) else str(workers)},
            "invocation": [str(a) for a in config.invocation_params.args],
            "started": self.started.isoformat(),
            "finished": finished.isoformat() if finished else None,
            "duration_s": round((end - self.started).total_seconds(), 3),
            "exit_status": None if exitstatus is None else int(exitstatus),
            "selected": len(tests),
            "counts": dict(sorted(counts.items(), key=lambda kv: SEVERITY.index(kv[0]))),
            "clauses": clauses,
            "tests": tests,
        }

    def write(self, **final):
        write_atomic(self.path, json.dumps(self.build(**final), indent=1) + "\n")
        self.last_write = time.monotonic()

    def maybe_write(self):
        if time.monotonic() - self.last_write >= self.every:
            self.write()


RECORDER = pytest.StashKey[Recorder]()


def _recorder(config) -> Recorder | None:
    return config.stash.get(RECORDER, None) if config is not None else None


# ------------------------------------------------------------------------ hooks
@pytest.hookimpl(tryfirst=True)  # before hypothesis's plugin reads --hypothesis-seed
def pytest_configure(config):
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None:  # an xdist worker: the controller's seed, if it chose one
        if workerinput.get(SEED_KEY) is not None and config.getoption("hypothesis_seed", None) is None:
            config.option.hypothesis_seed = workerinput[SEED_KEY]
        return
    path = config.getoption("record", None)
    if not path:
        return
    config.stash[RECORDER] = Recorder(config, pathlib.Path(path))
    _seed_random_hypothesis_runs(config)


SEED_KEY = "layercontract_hypothesis_seed"


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node):
    """xdist: every worker runs with the seed the controller recorded."""
    if _recorder(node.config) is not None:
        node.workerinput[SEED_KEY] = node.config.getoption("hypothesis_seed", None)


def _seed_random_hypothesis_runs(config):
    """A recorded run of a randomized hypothesis profile (dev, thorough) gets a seed, so that the
    record (and each rerun command) can reproduce it (pytest_configure_node passes it on to
    xdist workers)."""
    if config.getoption("hypothesis_seed", None) is not None:
        return
    from hypothesis import settings

    try:
        from layercontract.spec.harness.plugin import DEFAULT_HYPOTHESIS_PROFILE

        profile = settings.get_profile(config.getoption("hypothesis_profile", None) or DEFAULT_HYPOTHESIS_PROFILE)
    except Exception:
        return
    if not profile.derandomize:
        config.option.hypothesis_seed = str(random.SystemRandom().randrange(2 ** 32))


_CONFIG = None


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session):
    global _CONFIG
    _CONFIG = session.config


@pytest.hookimpl(trylast=True)
def pytest_collection_finish(session):
    recorder = _recorder(session.config)
    if recorder is None:
        return
    for item in session.items:
        recorder.select(item.nodeid, dict(item.user_properties).get("clauses") or [])
    if session.items:
        recorder.write()


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_node_collection_finished(node, ids):
    """xdist: the controller collects nothing itself; its workers tell it what they selected."""
    recorder = _recorder(node.config)
    if recorder is None:
        return
    fresh = [nodeid for nodeid in ids if nodeid not in recorder.selected]
    for nodeid in fresh:
        recorder.select(nodeid, recorder.static_clauses(nodeid))
    if fresh:
        recorder.write()


@pytest.hookimpl(trylast=True)  # after the harness plugin has classified the report
def pytest_runtest_logreport(report):
    recorder = _recorder(_CONFIG)
    if recorder is None:
        return
    recorder.on_report(report)
    if report.when in ("teardown", "???"):
        recorder.maybe_write()


def pytest_keyboard_interrupt(excinfo):
    recorder = _recorder(_CONFIG)
    if recorder is not None:
        recorder.stop_reason = f"interrupted: {excinfo.typename}"


def pytest_sessionfinish(session, exitstatus):
    config = session.config
    recorder = _recorder(config)
    if recorder is None or recorder.state() is None:
        return
    recorder.write(finished=_now(), exitstatus=exitstatus, session=session)
    config._lc_record_path = recorder.path
