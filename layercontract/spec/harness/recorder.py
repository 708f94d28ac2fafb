"""pytest plugin part of the run record (`--record PATH`): the hooks that feed
reports/records.py, which builds, validates and writes the record (schema "layercontract-run/3",
documented in reports/SCHEMA.md).

The record is written incrementally: once when the tests are selected (every test "not-run",
status "running"), again after finished tests (at most every --record-every seconds), and a
last time when the session ends (status "complete", or "interrupted" with its stop_reason).
Every write goes through a temporary file and a rename, so whenever the run stops - an
interrupt, `-x`, a crash, even a kill -9 - the file is a valid record of what completed; a
record still "running" after its process is gone was killed.

A write of the record that fails (no space, a read-only place) ends the process at once with one
line and exit status 73 (processes.exit_cannot_write), and so does any other output the session
writes at its end (--junitxml) in a recorded session: a supervising `layercontract run` or
`run-many` then keeps the previous record.

Outcomes per test: spec/harness/outcomes.py's table ("crash" for the test an xdist worker was
running when it died, "not-run" for selected tests that never ran).
"""

from __future__ import annotations

import collections
import pathlib
import random
import time

import pytest

from layercontract.reports import records
from layercontract.spec.harness import (
    check_ids,
    clause_citations,
    contract_checks,
    expectations,
    outcomes,
    processes,
    values,
)
from layercontract.spec.harness.hypothesis_profiles import DEFAULT_HYPOTHESIS_PROFILE
from layercontract.spec.harness.session_state import STATE


def pytest_addoption(parser):
    group = parser.getgroup("layercontract")
    group.addoption("--record", default=None, metavar="PATH", help="write the run record (JSON) to PATH")
    group.addoption(
        "--record-every",
        type=values.seconds,
        default=0.5,
        metavar="SECONDS",
        help="rewrite the record after finished tests at most every SECONDS (0: after every test; default 0.5)",
    )


def _longrepr_text(report) -> str:
    return "" if report.longrepr is None else str(report.longrepr)


def _crash_message(report) -> str | None:
    """The exception's own message (pytest's reprcrash), the best source of a first line."""
    crash = getattr(report.longrepr, "reprcrash", None)
    return getattr(crash, "message", None)


# --------------------------------------------------------------------- recorder
class Recorder:
    """The record of one session, kept in the process that reports (xdist: the controller)."""

    def __init__(self, config, path: pathlib.Path):
        self.config = config
        self.path = path
        self.every = max(0.0, config.getoption("record_every", 0.5) or 0.0)
        self.started = records.now()
        self.git = (records.git_commit(), records.git_dirty())
        self.selected: dict[str, list[str]] = {}  # check id -> clauses, in run order
        self.rows: dict[str, dict] = {}  # check id -> row of a test that ran
        self.seen: dict[str, tuple] = {}  # check id -> the harness's result last used
        self.durations: collections.Counter = collections.Counter()
        self.stop_reason: str | None = None
        self.last_write = 0.0
        self.written = False  # nothing is written before the tests are selected
        self._versions: dict[str, str] | None = None
        self._static_clauses: dict[str, list[str]] | None = None

    # -- context
    def state(self):
        return self.config.stash.get(STATE, None)

    def versions(self, state) -> dict:
        if self._versions is None:
            if self.stop_reason and not getattr(state, "loaded", True):
                return {"error": f"the backend was not loaded ({self.stop_reason})"}
            try:  # an xdist controller runs no test: load the backend to ask it
                _ = state.namespace  # loads the backend
                self._versions = {k: str(v) for k, v in state.adapter.versions().items()}
            except Exception as e:  # never lose the record over version reporting
                return {"error": f"{type(e).__name__}: {e}"}
        return self._versions

    def static_clauses(self, check: str) -> list[str]:
        """Clauses a test cites, read from the suites' source (for tests known only by id)."""
        if self._static_clauses is None:
            self._static_clauses = {}
            for cid, tests in clause_citations.cited_clauses().items():
                for test in tests:
                    self._static_clauses.setdefault(f"suites/{test}", []).append(cid)
        base = check.split("[", 1)[0]
        return self._static_clauses.get(base) or self._static_clauses.get(base.rsplit("::", 1)[0], [])

    def rerun_options(self) -> str:
        config = self.config
        return records.rerun_options(
            config.getoption("backend"),
            fault=config.getoption("fault", None),
            expectations=config.getoption("expectations", None),
            profile=config.getoption("hypothesis_profile", None),
            seed=config.getoption("hypothesis_seed", None),
        )

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
            derandomize: bool | None = bool(current.derandomize)  # type: ignore[union-attr]
            max_examples: int | None = int(current.max_examples)  # type: ignore[union-attr]
        except Exception:
            derandomize = max_examples = None
        return {
            "profile": profile,
            "seed": None if seed is None else str(seed),
            "derandomize": derandomize,
            "max_examples": max_examples,
        }

    # -- collecting
    def select(self, check: str, clauses: list[str]):
        if clauses and check not in self.selected:
            self.selected[check] = list(clauses)

    def on_report(self, report):
        check = check_ids.report_check_id(report)
        self.durations[check] += getattr(report, "duration", 0.0) or 0.0
        if report.when == "???" or (report.failed and "crashed while running" in _longrepr_text(report)):
            # pytest-xdist's report for the test its worker was running when the worker died
            clauses = self.selected.get(check) or self.static_clauses(check)
            if clauses:
                self.selected.setdefault(check, clauses)
                self.rows[check] = self.row(check, clauses, outcomes.CRASH, _longrepr_text(report))
            return
        state = self.state()
        result = state.results.get(report.nodeid) if state is not None else None
        if result is None or self.seen.get(check) == result:
            return
        self.seen[check] = result  # the harness took this report's outcome: use its text
        ids, outcome, message, _duration = result
        self.selected.setdefault(check, list(ids))
        reason = deviation = None
        if outcome in (outcomes.DEVIATION, outcomes.UNEXPECTED_PASS):
            found = expectations.entry_for(getattr(state, "active_deviations", ()), check)
            deviation = records.deviation_fields(found)
            reason = getattr(report, "wasxfail", None) or (found.describe() if found else None)
            if outcome == outcomes.DEVIATION:  # the message says what was observed
                message = _longrepr_text(report) if not isinstance(report.longrepr, tuple) else ""
        sections = [content for _title, content in getattr(report, "sections", [])]
        example = records.falsifying_example(*sections, _longrepr_text(report)) if report.failed or reason else None
        self.rows[check] = self.row(
            check,
            list(ids),
            outcome,
            message,
            reason=reason,
            deviation=deviation,
            example=example,
            crash=_crash_message(report),
        )

    def row(self, check, clauses, outcome, message, **fields) -> dict:
        return records.test_row(check, clauses, outcome, message, rerun=self.rerun_options(), **fields)

    # -- writing
    def build(self, finished=None, exitstatus=None, session=None) -> dict:
        state = self.state()
        rows = []
        for check in set(self.selected) | set(self.rows):
            row = self.rows.get(check) or self.row(check, self.selected[check], outcomes.NOT_RUN, "")
            rows.append({**row, "duration_s": round(self.durations.get(check, 0.0), 4)})
        not_run = sum(1 for r in rows if r["outcome"] == outcomes.NOT_RUN)
        stop_reason: str | None
        if finished is None:
            status, stop_reason = "running", records.RUNNING_REASON
        else:
            stop_reason = self.stop_reason
            if stop_reason is None and session is not None:
                stop_reason = session.shouldfail or session.shouldstop or None
                stop_reason = (
                    None
                    if stop_reason is None
                    else (stop_reason if isinstance(stop_reason, str) else "the session was stopped")
                )
            if stop_reason is None and int(exitstatus) not in (0, 1):
                stop_reason = (
                    f"pytest exit status {int(exitstatus)} ({pytest.ExitCode(int(exitstatus)).name})"
                    if int(exitstatus) in set(pytest.ExitCode)
                    else f"pytest exit status {int(exitstatus)}"
                )
            if stop_reason is None and not_run:
                stop_reason = f"{not_run} selected test(s) did not run"
            status = "complete" if stop_reason is None else "interrupted"
        adapter = state.adapter if state is not None else None
        config = self.config
        workers = config.getoption("numprocesses", None) if config.pluginmanager.has_plugin("xdist") else None
        record = records.new_record(
            backend=adapter.name if adapter else str(config.getoption("backend")),
            # the name as given, e.g. "keras-jax@nightly" ("backend" is the adapter's name)
            requested_backend=getattr(adapter, "requested_backend", None) or str(config.getoption("backend")),
            edition=adapter.edition if adapter else "unknown",
            capabilities=adapter.capabilities if adapter else (),
            versions=self.versions(state) if state is not None else {},
            key_distribution=contract_checks.declared_key_distribution(adapter) if adapter else None,
            invocation=config.invocation_params.args,
            started=self.started,
            hypothesis=self.hypothesis(),
            options={
                "fault": config.getoption("fault", None),
                "expectations": config.getoption("expectations", None),
                "test_timeout": config.getoption("test_timeout", None) or None,
                "xdist_workers": None if workers in (None, 0) else str(workers),
            },
            git=self.git,
        )
        return records.finish(
            record,
            rows,
            status=status,
            stop_reason=stop_reason,
            finished=finished,
            exit_status=None if exitstatus is None else int(exitstatus),
            clause_order=list(state.clauses) if state is not None else (),
        )

    def write(self, **final):
        if "{backend}" in str(self.path):  # --record OUT/{backend}.json: see records.record_file_name
            state = self.state()
            name = records.record_file_name(
                str(self.config.getoption("backend")), state.adapter.name if state is not None else None
            )
            self.path = pathlib.Path(str(self.path).replace("{backend}", records.record_file_stem(name)))
        try:
            records.write(self.path, self.build(**final))
        except OSError as e:  # no space, read-only: one line, and no later write fails again
            processes.exit_cannot_write(f"the record {self.path}", e)
        self.last_write = time.monotonic()
        self.written = True

    def maybe_write(self):
        if time.monotonic() - self.last_write >= self.every:
            self.write()

    # -- hooks of the session's reports (the recorder is registered as a plugin while it records)
    @pytest.hookimpl(trylast=True)  # after the harness plugin has classified the report
    def pytest_runtest_logreport(self, report):
        self.on_report(report)
        if report.when in ("teardown", "???"):
            self.maybe_write()

    def pytest_keyboard_interrupt(self, excinfo):
        self.stop_reason = f"interrupted: {excinfo.typename}"

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_sessionfinish(self, session, exitstatus):
        # around every plugin's last writes (pytest's --junitxml among them): one line, not a
        # traceback and a record that blames the tests
        try:
            return (yield)
        except OSError as e:
            junitxml = self.config.getoption("xmlpath", None)
            processes.exit_cannot_write(e.filename or (f"--junitxml {junitxml}" if junitxml else "its output"), e)


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
    recorder = config.stash[RECORDER] = Recorder(config, pathlib.Path(path))
    config.pluginmanager.register(recorder, "layercontract-recorder")
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
        profile = settings.get_profile(config.getoption("hypothesis_profile", None) or DEFAULT_HYPOTHESIS_PROFILE)
    except Exception:
        return
    if not profile.derandomize:
        config.option.hypothesis_seed = str(random.SystemRandom().randrange(2**32))


@pytest.hookimpl(trylast=True)
def pytest_collection_finish(session):
    recorder = _recorder(session.config)
    if recorder is None:
        return
    state = recorder.state()
    if state is None or not getattr(state, "selected", True):
        return  # pytest calls this hook even when the selection failed (a usage error): no record
    for item in session.items:
        props = dict(item.user_properties)
        recorder.select(props.get("check") or check_ids.check_id(item.nodeid), props.get("clauses") or [])
    if session.items:
        recorder.write()


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_node_collection_finished(node, ids):
    """xdist: the controller collects nothing itself; its workers tell it what they selected."""
    recorder = _recorder(node.config)
    if recorder is None:
        return
    fresh = [check for check in map(check_ids.check_id, ids) if check not in recorder.selected]
    for check in fresh:
        recorder.select(check, recorder.static_clauses(check))
    if fresh:
        recorder.write()


def pytest_sessionfinish(session, exitstatus):
    config = session.config
    recorder = _recorder(config)
    if recorder is None or recorder.state() is None:
        return
    if not recorder.written:
        # The session stopped before its tests were selected (bad input: a test that does not
        # exist, an adapter that cannot load, an interrupt while loading): pytest has said why,
        # and an earlier record at this path stays as it was.
        return
    recorder.write(finished=records.now(), exitstatus=exitstatus, session=session)
    config._lc_record_path = recorder.path
