"""pytest plugin (registered by spec/harness/plugin/): a per-test timeout and a progress journal.

--test-timeout SECONDS  a test whose call runs longer fails with outcome "timeout" (SIGALRM raises
                        TestTimeout in the test; POSIX main thread only) and the run goes on. A
                        hang that ignores the signal (blocked in C code) is left to a supervisor:
                        `layercontract run-many` kills the process and reports it.
--journal PATH          append one JSON line per event, flushed at once, so that a supervisor
                        knows what a process that crashed, exited or was killed had done:
                          {"event": "collected", "tests": [{"nodeid", "clauses"}]}
                          {"event": "backend", "name", "edition", "capabilities", "versions",
                           "key_distribution"}
                          {"event": "start", "nodeid"}
                          {"event": "result", "nodeid", "clauses", "outcome", "duration_s", "message"}
                          {"event": "finished", "exit_status"}
                        and, on SIGUSR1, dump every thread's stack to PATH.stack (faulthandler:
                        works even while a thread is stuck in C code) before a supervisor kills it.
"""

from __future__ import annotations

import faulthandler
import json
import re
import signal
import threading

import pytest

from layercontract.spec.harness import check_ids, contract_checks, outcomes, processes, values
from layercontract.spec.harness.session_state import STATE

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


class TestTimeout(Exception):
    """Raised inside a test that exceeded --test-timeout."""

    __test__ = False  # not a test class


def pytest_addoption(parser):
    group = parser.getgroup("layercontract")
    group.addoption(
        "--test-timeout",
        type=values.seconds,
        default=0,
        metavar="SECONDS",
        help="fail a test whose call runs longer than SECONDS with outcome 'timeout' (0: none)",
    )
    group.addoption(
        "--journal", default=None, metavar="PATH", help="append the run's progress as JSON lines to PATH (for run-many)"
    )


# --------------------------------------------------------------- per-test timeout
def _can_alarm() -> bool:
    return hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    limit = item.config.getoption("test_timeout", 0)
    if not limit or not _can_alarm():
        return (yield)

    def on_alarm(signum, frame):
        raise TestTimeout(
            f"{outcomes.TIMEOUT_MARKER} the test ran longer than the per-test timeout of {limit:g} s (--test-timeout)"
        )

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, limit)
    try:
        return (yield)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if call.excinfo is not None and call.excinfo.errisinstance(TestTimeout):
        # A timeout is never an expected deviation, even in a test with an xfail entry.
        if hasattr(report, "wasxfail"):
            del report.wasxfail
        report.outcome = "failed"
        if outcomes.TIMEOUT_MARKER not in str(report.longrepr):
            report.longrepr = str(call.excinfo.value)
    return report


# ------------------------------------------------------------------------ journal
class Journal:
    """The progress journal of one session (--journal PATH), registered as a plugin while the
    session runs: one JSON line per event, written through at once, and on SIGUSR1 every
    thread's stack in PATH.stack."""

    def __init__(self, config, path: str):
        self.config = config
        self.path = path
        self.checks: dict[str, str] = {}  # pytest node id -> check id
        self.stack = None
        try:
            self.file = open(path, "a", encoding="utf-8", buffering=1)  # line-buffered: reaches the OS at once
            if hasattr(signal, "SIGUSR1"):
                self.stack = open(f"{path}.stack", "w", encoding="utf-8")
                faulthandler.register(signal.SIGUSR1, file=self.stack, all_threads=True)
        except OSError as e:
            processes.exit_cannot_write(f"the journal {path}", e)

    def write(self, **event):
        try:
            self.file.write(json.dumps(event) + "\n")
        except OSError as e:  # no space left: the supervisor gets one line, not a traceback per hook
            processes.exit_cannot_write(f"the journal {self.path}", e)

    def close(self):
        try:
            if self.stack is not None:
                faulthandler.unregister(signal.SIGUSR1)
                self.stack.close()
            self.file.close()
        except OSError as e:
            processes.exit_cannot_write(f"the journal {self.path}", e)

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_collection_modifyitems(self, session, config, items):
        # Before the harness loads the backend (which may crash or hang): what is to be run.
        # Tests are named by check id ("suites/test_x.py::test[p]"), whatever pytest's node ids.
        self.checks.update((item.nodeid, check_ids.item_check_id(item)) for item in items)
        self.write(
            event="collected",
            tests=[
                {
                    "nodeid": self.checks.get(item.nodeid, item.nodeid),
                    "clauses": [cid for mark in item.iter_markers("clause") for cid in mark.args],
                }
                for item in items
            ],
        )
        return (yield)

    def pytest_collection_finish(self, session):
        state = session.config.stash.get(STATE, None)
        if state is None:
            return
        try:
            versions = state.adapter.versions()
        except Exception as e:  # never lose the journal over version reporting
            versions = {"error": f"{type(e).__name__}: {e}"}
        self.write(
            event="backend",
            name=state.adapter.name,
            edition=state.adapter.edition,
            capabilities=sorted(state.adapter.capabilities),
            versions=versions,
            key_distribution=contract_checks.declared_key_distribution(state.adapter),
        )

    def pytest_runtest_logstart(self, nodeid, location):
        self.write(event="start", nodeid=self.checks.get(nodeid, nodeid))

    def pytest_runtest_logfinish(self, nodeid, location):
        state = self.config.stash.get(STATE, None)
        result = state.results.get(nodeid) if state is not None else None
        if result is None:
            return
        ids, outcome, message, duration = result
        self.write(
            event="result",
            nodeid=self.checks.get(nodeid, nodeid),
            clauses=ids,
            outcome=outcome,
            duration_s=round(duration, 4),
            message=ANSI.sub("", message)[:4000],
        )

    @pytest.hookimpl(trylast=True)  # after the record's last write (a supervisor reads both)
    def pytest_sessionfinish(self, session, exitstatus):
        self.write(event="finished", exit_status=int(exitstatus))


_JOURNAL = pytest.StashKey[Journal]()


def journal_event(config, **event):
    """One event into the session's journal, if it keeps one."""
    journal = config.stash.get(_JOURNAL, None)
    if journal is not None:
        journal.write(**event)


def pytest_configure(config):
    path = config.getoption("journal", None)
    if path and not hasattr(config, "workerinput"):
        journal = config.stash[_JOURNAL] = Journal(config, path)
        config.pluginmanager.register(journal, "layercontract-journal")


def pytest_unconfigure(config):
    journal = config.stash.get(_JOURNAL, None)
    if journal is not None:
        config.pluginmanager.unregister(journal)
        journal.close()
        del config.stash[_JOURNAL]
