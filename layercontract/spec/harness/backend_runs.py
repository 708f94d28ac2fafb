"""One backend's pytest process under run-many: starting it (spec/harness/processes.py: its own
process group, dead with its parent), following its progress journal (spec/harness/watchdog.py),
killing it past its time limits, and its record when it ends - its own, or one built by
reports.records.synthesize for a process that crashed, was killed or could not start.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import pathlib
import signal
import subprocess
import sys
import time

from layercontract.reports import records
from layercontract.spec import user_cache
from layercontract.spec.harness import check_ids, outcomes, overlay, processes

LOG_TAIL_LINES = 25


def child_env() -> dict:
    """The environment of a backend's pytest process."""
    env = {k: v for k, v in os.environ.items() if k not in ("LAYERCONTRACT_BACKEND", "PYTEST_ADDOPTS")}
    env["PYTHONUNBUFFERED"] = "1"
    # the child prints what its tests say: never an encoding error on a non-UTF-8 terminal
    env["PYTHONIOENCODING"] = env.get("PYTHONIOENCODING", "").partition(":")[0] + ":backslashreplace"
    # Keep adapters in the caller's directory importable (`python -m pytest` puts its cwd first).
    env["PYTHONPATH"] = os.pathsep.join(p for p in (os.getcwd(), env.get("PYTHONPATH", "")) if p)
    # hypothesis's files are caches (the literals it reads from local modules, keyed by their
    # source; the dev profile's example database): where the caller keeps them, else in the user
    # cache directory as in the checkout (conftest.py), never in the working directory. Under
    # --out every run parsed every local module again (0.12 s of CPU a run).
    env.setdefault("HYPOTHESIS_STORAGE_DIRECTORY", str(user_cache.directory() / "hypothesis"))
    return processes.single_threaded_blas(env)


def backend_ok(record) -> bool:
    return (
        record.get("complete") is True
        and record.get("exit_status") == 0
        and not any(t["outcome"] in outcomes.UNEXPECTED for t in record["tests"])
    )


def label(record) -> str:
    """done, or the label of the worst outcome that fails the run (CRASH, TIMEOUT, ERROR, FAIL,
    XPASS); ERROR for an incomplete run with none."""
    if backend_ok(record):
        return "done"
    found = [t["outcome"] for t in record["tests"] if outcomes.fails_run(t["outcome"])]
    return outcomes.label(outcomes.worst(found)) if found else outcomes.label(outcomes.HARNESS_ERROR)


def summary(record) -> str:
    counts = records.counts(record["tests"])
    parts = ", ".join(f"{n} {o}" for o, n in counts.items())
    return f"{len(record['tests'])} tests" + (f": {parts}" if parts else "")


@dataclasses.dataclass
class Job:
    backend: str
    out: pathlib.Path
    proc: subprocess.Popen | None = None
    started: float = 0.0
    started_at: dt.datetime | None = None
    killed: str = ""  # why run-many killed the process ("" if it did not)
    env: dict = dataclasses.field(default_factory=dict)  # extra environment (a Keras overlay)
    tag: str = ""  # in the journal's name: `layercontract run` uses its process id (runs sharing --out)
    events: list = dataclasses.field(default_factory=list)
    running: dict = dataclasses.field(default_factory=dict)  # check id -> monotonic start
    peak_rss_kib: int = 0  # the pytest process's high-water mark of resident memory (Linux)
    _offset: int = 0
    _log_file: object = None

    def sample_memory(self):
        """Read the process's VmHWM (peak resident set size so far) from /proc; the kernel keeps
        the maximum, so sampling while it runs loses nothing but the last moments."""
        try:
            with open(f"/proc/{self.proc.pid}/status", encoding="ascii") as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        self.peak_rss_kib = max(self.peak_rss_kib, int(line.split()[1]))
                        return
        except (OSError, ValueError, IndexError):  # not Linux, or the process has just exited
            return

    @property
    def stem(self) -> str:
        return records.record_file_stem(self.backend)

    @property
    def record(self) -> pathlib.Path:
        """OUT/<backend as given>.json; for a module:Class spec OUT/<adapter name>.json once the
        process has said its adapter's name (see records.record_file_name)."""
        for event in self.events if ":" in self.backend else ():
            if event.get("event") in ("adapter", "backend") and isinstance(event.get("name"), str) and event["name"]:
                return self.out / f"{records.record_file_stem(event['name'])}.json"
        return self.out / f"{self.stem}.json"

    @property
    def journal(self) -> pathlib.Path:
        return self.out / f"{self.stem}{self.tag}.journal"

    @property
    def stack(self) -> pathlib.Path:
        return self.out / f"{self.stem}{self.tag}.journal.stack"

    def cleanup(self):
        self.journal.unlink(missing_ok=True)
        self.stack.unlink(missing_ok=True)

    @property
    def log(self) -> pathlib.Path:
        return self.out / f"{self.stem}.log"

    def read_journal(self):
        try:
            with open(self.journal, "rb") as f:
                f.seek(self._offset)
                data = f.read()
        except FileNotFoundError:
            return
        end = data.rfind(b"\n") + 1  # only whole lines; the rest is still being written
        self._offset += end
        for line in data[:end].splitlines():
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                continue
            self.events.append(event)
            if event.get("event") == "start":
                self.running[event["nodeid"]] = time.monotonic()
            elif event.get("event") == "result":
                self.running.pop(event["nodeid"], None)


def pytest_command(job, args) -> list[str]:
    return [
        sys.executable,
        "-m",
        "pytest",
        *(args.select or [str(check_ids.SUITES_DIR)]),
        *check_ids.pytest_location_args(),
        f"--backend={job.backend}",
        f"--record={job.out / '{backend}.json'}",
        f"--journal={job.journal}",
        f"--test-timeout={args.test_timeout:g}",
        "-q",
        "-p",
        "no:cacheprovider",
        "-p",
        "layercontract.spec.harness.usage",  # OUT/<backend>.usage, for `layercontract bench`
        *args.pytest_arg,
    ]


def start(job, args, supervisor: processes.Supervisor):
    for path in (job.record, job.journal, job.stack):
        path.unlink(missing_ok=True)
    env = child_env()
    env.pop(overlay.ENV_OVERLAY, None)
    for key, value in job.env.items():  # a Keras overlay goes first, before the caller's directory
        env[key] = os.pathsep.join(p for p in (value, env.get(key, "")) if p) if key == "PYTHONPATH" else value
    job._log_file = open(job.log, "w", encoding="utf-8")
    job.started, job.started_at = time.monotonic(), records.now()
    job.proc = supervisor.spawn(pytest_command(job, args), env=env, stdout=job._log_file, stderr=subprocess.STDOUT)


def kill(job, reason):
    """Ask for a traceback dump (SIGUSR1, see watchdog.py), then kill the process group."""
    job.killed = reason
    processes.dump_then_kill(job.proc, getattr(signal, "SIGUSR1", None), job.stack)


def watch(job, args):
    """Kill the process if a test or the whole backend runs past its limit."""
    job.sample_memory()
    now = time.monotonic()
    if args.backend_timeout and now - job.started > args.backend_timeout:
        kill(job, f"the backend run exceeded the per-backend timeout of {args.backend_timeout:g} s")
        return
    if args.test_timeout:
        limit = args.test_timeout + args.grace
        for _check, since in job.running.items():
            if now - since > limit:
                kill(
                    job,
                    f"the test ran more than {limit:g} s and did not respond to the per-test "
                    f"timeout of {args.test_timeout:g} s",
                )
                return


# ------------------------------------------------------------------ its record
def tail(path, lines=LOG_TAIL_LINES) -> str:
    try:
        text = pathlib.Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.rstrip().splitlines()[-lines:])


def registry_base(backend) -> str:
    """The adapter name of a backend name ("keras-jax@3.12.0" -> "keras-jax")."""
    return overlay.split_name(backend)[0] if "@" in backend and ":" not in backend else backend


def usage_error(log_text) -> str:
    """The message of a pytest usage error in a run's output ("ERROR: layercontract cannot
    run: ..." and its indented lines), or ""."""
    lines = log_text.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("ERROR: "):
            found = [line[len("ERROR: ") :].strip()]
            found += [ln.strip() for ln in lines[i + 1 :] if ln.startswith("  ") and ln.strip()]
            return " ".join(found)
    return ""


_COLLECTED_CACHE: dict = {}


def collect_ids(args) -> dict:
    """check id -> clauses of the selected suites, collected once on the reference backend, for
    a backend that stopped before its own collection (an adapter that cannot be imported)."""
    key = tuple(args.select)
    if key not in _COLLECTED_CACHE:
        journal = pathlib.Path(args.out) / f".collect.{os.getpid()}.journal"  # runs sharing --out
        stack = journal.with_name(journal.name + ".stack")
        found = {}
        try:
            journal.unlink(missing_ok=True)
            processes.run(
                [
                    sys.executable,
                    "-m",
                    "pytest",
                    *(args.select or [str(check_ids.SUITES_DIR)]),
                    *check_ids.pytest_location_args(),
                    "--collect-only",
                    "-q",
                    "--backend=reference",
                    f"--journal={journal}",
                    "-p",
                    "no:cacheprovider",
                ],
                timeout=300,
            )
            if journal.exists():
                for line in journal.read_text(encoding="utf-8").splitlines():
                    event = json.loads(line)
                    if event.get("event") == "collected":
                        found = {t["nodeid"]: t["clauses"] for t in event["tests"]}
        finally:
            journal.unlink(missing_ok=True)
            stack.unlink(missing_ok=True)
        _COLLECTED_CACHE[key] = found
    return _COLLECTED_CACHE[key]


def adapter_name(spec: str) -> str | None:
    """The `name` of the adapter a 'module:Class' spec makes, from a fresh process (so that a
    run killed before it said the name is recorded under the same name), or None."""
    code = (
        "import json, sys\nfrom layercontract.spec.harness import registry\n"
        "print(json.dumps(registry.resolve(sys.argv[1]).name))"
    )
    try:
        result = processes.run([sys.executable, "-c", code, spec], env=child_env(), timeout=120)
        name = json.loads(result.stdout.strip().splitlines()[-1]) if result.returncode == 0 else None
    except (OSError, subprocess.SubprocessError, ValueError, IndexError):
        return None
    return name if isinstance(name, str) and name.strip() else None


def finish(job, args) -> dict:
    """The job's record: its own when the run finished normally, else a synthesized one
    (reports.records.synthesize), written over whatever the run left."""
    job.read_journal()
    if job._log_file is not None:
        job._log_file.close()
    if ":" in job.backend and not any(e.get("event") in ("adapter", "backend") for e in job.events):
        name = adapter_name(job.backend)  # it stopped before saying: ask a fresh process
        if name:
            job.events.append({"event": "adapter", "name": name})
    returncode = job.proc.returncode
    record = records.load_partial(job.record)
    if (
        record is not None
        and record.get("complete") is True
        and returncode in (0, 1)
        and not job.killed
        and any(e.get("event") == "finished" for e in job.events)
    ):
        job.cleanup()  # kept only when it was needed: a run that did not finish
        return record
    collected = None
    if record is None and not any(e.get("event") == "collected" for e in job.events):
        collected = collect_ids(args)
    stack = job.stack.read_text(encoding="utf-8", errors="replace") if job.stack.exists() else ""
    record = records.synthesize(
        registry_base(job.backend),
        job.events,
        record,
        returncode=returncode,
        killed=job.killed,
        log_tail=tail(job.log),
        stack=stack[:2500],
        collected=collected,
        started=job.started_at,
        finished=records.now(),
        rerun_options=records.rerun_options(job.backend),
        requested_backend=job.backend,
        reason=usage_error(tail(job.log, 200)) if returncode in (2, 4) else "",
        invocation=pytest_command(job, args)[3:],
    )
    records.write(job.record, record)
    return record
