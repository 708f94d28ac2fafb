"""Where a backend process's time and memory go, for `layercontract bench`: a pytest plugin that
run-many (spec/harness/backend_runs.py) loads into every backend process with
`-p layercontract.spec.harness.usage`. At the end of the session it writes, next to the run
record OUT/<backend>.json, OUT/<backend>.usage (JSON; not *.json, so a `merge OUT/*.json` never
takes it for a record):

    {"schema": "layercontract-usage/1", "backend": ..., "wall_s", "cpu_user_s", "cpu_sys_s",
     "peak_rss_kib",                     # getrusage: this process and its waited-for children
     "phases": {"startup_s", "startup_cpu_s",   # interpreter start to the end of collection
                "load_s", "load_cpu_s",         # of which the backend's load() (framework import)
                "tests_s", "tests_cpu_s"},      # the tests (set-up, call, tear-down, free_memory)
     "compile": {event: {"count", "seconds"}}}  # jax.monitoring events, when jax was loaded

It only observes: nothing here changes what a check sees. Without --record it does nothing.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time

import pytest

from layercontract.reports.records import usage_path

SCHEMA = "layercontract-usage/1"


def _process_age_s() -> float:
    """Seconds since this process started (Linux /proc), else 0."""
    try:
        with open("/proc/self/stat", encoding="ascii") as f:
            start_ticks = int(f.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/uptime", encoding="ascii") as f:
            uptime = float(f.read().split()[0])
        return max(0.0, uptime - start_ticks / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError):
        return 0.0


def _cpu() -> float:
    t = os.times()
    return t.user + t.system


class Usage:
    def __init__(self):
        self.t0 = time.monotonic() - _process_age_s()  # the process's start
        self.marks: dict[str, tuple[float, float]] = {}
        self.compile: dict[str, dict] = {}
        self._listening = False

    def mark(self, name):
        self.marks[name] = (time.monotonic(), _cpu())

    def listen_to_jax(self):
        """Count jax's compile events (jax.monitoring), when the backend loaded jax."""
        if self._listening or "jax" not in sys.modules:
            return
        try:
            from jax import monitoring
        except ImportError:
            return
        self._listening = True

        def add(event, seconds=None):
            entry = self.compile.setdefault(event, {"count": 0, "seconds": 0.0})
            entry["count"] += 1
            if seconds is not None:
                entry["seconds"] += float(seconds)

        monitoring.register_event_duration_secs_listener(
            lambda event, duration, **_: add(event, duration) if event.startswith("/jax/") else None
        )
        monitoring.register_event_listener(
            lambda event, **_: add(event) if event.startswith("/jax/compilation_cache/") else None
        )

    def summary(self, backend) -> dict:
        end_wall, end_cpu = time.monotonic(), _cpu()
        self_usage = resource.getrusage(resource.RUSAGE_SELF)
        children = resource.getrusage(resource.RUSAGE_CHILDREN)

        def span(a, b, i):
            return round(self.marks[b][i] - self.marks[a][i], 3) if a in self.marks and b in self.marks else None

        self.marks["end"] = (end_wall, end_cpu)
        collected = self.marks.get("collected")
        phases = {
            "startup_s": round(collected[0] - self.t0, 3) if collected else None,
            "startup_cpu_s": round(collected[1], 3) if collected else None,
            "load_s": span("load_start", "load_end", 0),
            "load_cpu_s": span("load_start", "load_end", 1),
            "tests_s": span("collected", "end", 0),
            "tests_cpu_s": span("collected", "end", 1),
        }
        return {
            "schema": SCHEMA,
            "backend": backend,
            "wall_s": round(end_wall - self.t0, 3),
            "cpu_user_s": round(self_usage.ru_utime + children.ru_utime, 3),
            "cpu_sys_s": round(self_usage.ru_stime + children.ru_stime, 3),
            "peak_rss_kib": max(self_usage.ru_maxrss, children.ru_maxrss),  # KiB on Linux
            "phases": phases,
            "compile": {
                k: {"count": v["count"], "seconds": round(v["seconds"], 3)} for k, v in sorted(self.compile.items())
            },
        }


USAGE = pytest.StashKey[Usage]()


def pytest_configure(config):
    if getattr(config, "workerinput", None) is None and config.getoption("record", None):
        config.stash[USAGE] = Usage()


@pytest.hookimpl(wrapper=True)
def pytest_collection_modifyitems(session, config, items):
    usage = config.stash.get(USAGE, None)
    if usage is not None:
        usage.mark("load_start")  # the harness loads the backend in this hook (plugin.py)
    try:
        return (yield)
    finally:
        if usage is not None:
            usage.mark("load_end")
            usage.listen_to_jax()


def pytest_collection_finish(session):
    usage = session.config.stash.get(USAGE, None)
    if usage is not None:
        usage.mark("collected")


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config):
    usage = config.stash.get(USAGE, None)
    if usage is None:
        return
    from layercontract.spec.harness.recorder import RECORDER

    recorder = config.stash.get(RECORDER, None)
    if recorder is None or "{backend}" in str(recorder.path):
        return
    state_name = getattr(getattr(recorder.state(), "adapter", None), "name", None)
    try:
        usage_path(recorder.path).write_text(json.dumps(usage.summary(state_name)) + "\n", encoding="utf-8")
    except OSError:
        pass
