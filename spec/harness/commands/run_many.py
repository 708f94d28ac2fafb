"""layercontract run-many BACKEND... | all: the suites on several backends, each in its own
pytest process (Keras picks its backend once per process), several at a time, then one merged
report.

Each backend runs `python -m pytest suites --backend X --record OUT/X.json --journal ...
--test-timeout T`; up to --jobs of them at once (default: os.cpu_count()). Its output goes
to OUT/X.log. A test longer than --test-timeout fails as "timeout" inside the process
(spec/harness/watchdog.py); one that does not respond to that (stuck in C code) is killed by
run-many --grace seconds later, and a backend running longer than --backend-timeout is killed.
A backend that crashes (segfault, os._exit), is killed or cannot start gets a record anyway,
built from the record its run left and its progress journal (OUT/X.journal, kept for such
runs): the tests it finished keep their outcomes, the others get outcome crash, timeout
or harness-error, with the reason (and the stack of a killed process). The other backends' results
are untouched.

A Keras 3 backend at a Keras version, `keras-jax@3.12.0` or `keras-jax@nightly`, runs as its
own job on a cached Keras overlay (spec/harness/overlay.py), prepared here once before the jobs
start (`nightly` resolved once, so every job of the run gets the same build), with its own
record OUT/keras-jax@3.12.0.json. With several versions of one backend, the terminal output
ends with the clauses whose outcome changed between consecutive versions.

Exit status: 0 every backend finished and every outcome is expected (pass, expected
deviation, unsupported, not applicable); 1 an unexpected outcome somewhere (fail, unexpected
pass, harness error, crash, timeout); 2 run-many itself failed (an unknown backend name,
bad arguments, the report could not be written).
"""
from __future__ import annotations

import collections
import contextlib
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
from layercontract.spec.harness import outcomes, overlay, registry
from layercontract.spec.harness import integrity
from layercontract.spec.harness.commands.run import DEFAULT_OUT, record_name

HELP = "run the suites on several backends (or 'all'), in parallel, and merge the report"
EXIT_OK, EXIT_UNEXPECTED, EXIT_HARNESS = 0, 1, 2
DEFAULT_TEST_TIMEOUT_S = 120.0
DEFAULT_BACKEND_TIMEOUT_S = 600.0
DEFAULT_GRACE_S = 10.0
LOG_TAIL_LINES = 25


def add_arguments(parser):
    parser.add_argument("backends", nargs="+", metavar="BACKEND",
                        help="backend names or package.module:AdapterClass specs; 'all' = every known backend")
    parser.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 1,
                        help="backends run at once (default: os.cpu_count())")
    parser.add_argument("--test-timeout", type=float, default=DEFAULT_TEST_TIMEOUT_S, metavar="SECONDS",
                        help=f"per-test timeout (default {DEFAULT_TEST_TIMEOUT_S:g}; 0: none)")
    parser.add_argument("--backend-timeout", type=float, default=DEFAULT_BACKEND_TIMEOUT_S, metavar="SECONDS",
                        help=f"per-backend timeout (default {DEFAULT_BACKEND_TIMEOUT_S:g}; 0: none)")
    parser.add_argument("--grace", type=float, default=DEFAULT_GRACE_S, metavar="SECONDS",
                        help="how long past the per-test timeout a stuck test may run before run-many "
                             f"kills its process (default {DEFAULT_GRACE_S:g})")
    parser.add_argument("--out", default=str(DEFAULT_OUT),
                        help="directory for the records, logs and the merged report (default reports/out)")
    parser.add_argument("-s", "--select", action="append", default=[], metavar="PATH",
                        help="suite file or node id to run instead of all of suites/ (repeatable)")
    parser.add_argument("--keras-cache", default=None, metavar="DIR",
                        help=f"cache of Keras overlays for NAME@VERSION backends (default: ${overlay.ENV_CACHE}, "
                             "else the user cache directory's layercontract/keras)")
    parser.add_argument("--pytest-arg", action="append", default=[], metavar="ARG",
                        help="extra argument for every pytest run, e.g. --pytest-arg=--hypothesis-profile=dev")


# ------------------------------------------------------------------- one backend
@dataclasses.dataclass
class Job:
    backend: str
    out: pathlib.Path
    proc: subprocess.Popen | None = None
    started: float = 0.0
    started_at: dt.datetime | None = None
    killed: str = ""  # why run-many killed the process ("" if it did not)
    env: dict = dataclasses.field(default_factory=dict)  # extra environment (a Keras overlay)
    events: list = dataclasses.field(default_factory=list)
    running: dict = dataclasses.field(default_factory=dict)  # nodeid -> monotonic start
    _offset: int = 0
    _log_file: object = None

    @property
    def stem(self) -> str:
        return record_name(self.backend)

    @property
    def record(self) -> pathlib.Path:
        return self.out / f"{self.stem}.json"

    @property
    def journal(self) -> pathlib.Path:
        return self.out / f"{self.stem}.journal"

    @property
    def stack(self) -> pathlib.Path:
        return self.out / f"{self.stem}.journal.stack"

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


def pytest_command(backend, job, args) -> list[str]:
    return [sys.executable, "-m", "pytest", *(args.select or [str(integrity.SUITES_DIR)]),
            *integrity.pytest_location_args(),
            f"--backend={backend}", f"--record={job.record}", f"--journal={job.journal}",
            f"--test-timeout={args.test_timeout:g}", "-q", "-p", "no:cacheprovider",
            *args.pytest_arg]


def start(job, args):
    for path in (job.record, job.journal, job.stack):
        path.unlink(missing_ok=True)
    env = {k: v for k, v in os.environ.items() if k not in ("LAYERCONTRACT_BACKEND", "PYTEST_ADDOPTS")}
    env["PYTHONUNBUFFERED"] = "1"
    # Keep adapters in the caller's directory importable (`python -m pytest` puts its cwd first).
    env["PYTHONPATH"] = os.pathsep.join(p for p in (os.getcwd(), env.get("PYTHONPATH", "")) if p)
    env.pop(overlay.ENV_OVERLAY, None)
    for key, value in job.env.items():  # a Keras overlay goes first, before the caller's directory
        env[key] = (os.pathsep.join(p for p in (value, env.get(key, "")) if p) if key == "PYTHONPATH" else value)
    job._log_file = open(job.log, "w", encoding="utf-8")
    job.started, job.started_at = time.monotonic(), _now()
    job.proc = subprocess.Popen(pytest_command(job.backend, job, args), env=env,
                                stdin=subprocess.DEVNULL, stdout=job._log_file, stderr=subprocess.STDOUT,
                                start_new_session=True)


def kill(job, reason):
    """Ask for a traceback dump (SIGUSR1, see watchdog.py), then kill the process group."""
    job.killed = reason
    gone = (ProcessLookupError, PermissionError)
    if job.stack.exists():  # the watchdog has registered its SIGUSR1 handler (else SIGUSR1 kills)
        with contextlib.suppress(gone):
            os.kill(job.proc.pid, signal.SIGUSR1)
            deadline = time.monotonic() + 3.0  # a busy machine may need a while to run the handler
            while time.monotonic() < deadline and job.proc.poll() is None:
                if job.stack.stat().st_size and time.monotonic() > deadline - 2.5:
                    break  # written, and half a second to finish
                time.sleep(0.05)
    with contextlib.suppress(gone):
        os.killpg(job.proc.pid, signal.SIGKILL)


def watch(job, args):
    """Kill the process if a test or the whole backend runs past its limit."""
    now = time.monotonic()
    if args.backend_timeout and now - job.started > args.backend_timeout:
        kill(job, f"the backend run exceeded the per-backend timeout of {args.backend_timeout:g} s")
        return
    if args.test_timeout:
        limit = args.test_timeout + args.grace
        for nodeid, since in job.running.items():
            if now - since > limit:
                kill(job, f"the test ran more than {limit:g} s and did not respond to the per-test "
                          f"timeout of {args.test_timeout:g} s")
                return


# -------------------------------------------------------------- records
def _now():
    return dt.datetime.now(dt.timezone.utc)


def _signal_name(returncode):
    try:
        return signal.Signals(-returncode).name
    except ValueError:
        return f"signal {-returncode}"


def _tail(path, lines=LOG_TAIL_LINES) -> str:
    try:
        text = pathlib.Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.rstrip().splitlines()[-lines:])


load_record = records.load_partial
synthesize = records.synthesize


def registry_base(backend) -> str:
    """The adapter name of a backend name ("keras-jax@3.12.0" -> "keras-jax")."""
    return overlay.split_name(backend)[0] if "@" in backend and ":" not in backend else backend


def usage_error(log_text) -> str:
    """The message of a pytest usage error in a run's output ("ERROR: layercontract cannot
    run: ..." and its indented lines), or ""."""
    lines = log_text.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("ERROR: "):
            found = [line[len("ERROR: "):].strip()]
            found += [ln.strip() for ln in lines[i + 1:] if ln.startswith("  ") and ln.strip()]
            return " ".join(found)
    return ""


_COLLECTED_CACHE = {}


def collect_ids(args) -> dict:
    """nodeid -> clauses of the selected suites, collected once on the reference backend, for a
    backend that stopped before its own collection (an adapter that cannot be imported)."""
    key = tuple(args.select)
    if key not in _COLLECTED_CACHE:
        journal = pathlib.Path(args.out) / ".collect.journal"
        journal.unlink(missing_ok=True)
        subprocess.run([sys.executable, "-m", "pytest", *(args.select or [str(integrity.SUITES_DIR)]),
                        *integrity.pytest_location_args(), "--collect-only", "-q",
                        "--backend=reference", f"--journal={journal}",
                        "-p", "no:cacheprovider"], capture_output=True, text=True, timeout=300)
        found = {}
        if journal.exists():
            for line in journal.read_text(encoding="utf-8").splitlines():
                event = json.loads(line)
                if event.get("event") == "collected":
                    found = {t["nodeid"]: t["clauses"] for t in event["tests"]}
            journal.unlink()
        _COLLECTED_CACHE[key] = found
    return _COLLECTED_CACHE[key]


def finish(job, args) -> dict:
    """The job's record: its own when the run finished normally, else a synthesized one."""
    job.read_journal()
    job._log_file.close()
    returncode = job.proc.returncode
    record = load_record(job.record)
    if (record is not None and record.get("complete") is True and returncode in (0, 1) and not job.killed
            and any(e.get("event") == "finished" for e in job.events)):
        job.journal.unlink(missing_ok=True)  # kept only when it was needed: a run that did not finish
        job.stack.unlink(missing_ok=True)
        return record
    collected = None
    if record is None and not any(e.get("event") == "collected" for e in job.events):
        collected = collect_ids(args)
    stack = job.stack.read_text(encoding="utf-8", errors="replace") if job.stack.exists() else ""
    record = synthesize(registry_base(job.backend), job.events, record, returncode=returncode, killed=job.killed,
                        log_tail=_tail(job.log), stack=stack[:2500], collected=collected,
                        started=job.started_at, finished=_now(),
                        rerun_options=records.rerun_options(job.backend), requested_backend=job.backend,
                        reason=usage_error(_tail(job.log, 200)) if returncode in (2, 4) else "",
                        invocation=pytest_command(job.backend, job, args)[3:])
    records.write(job.record, record)
    return record


def backend_ok(record) -> bool:
    return (record.get("complete") is True and record.get("exit_status") == 0
            and not any(t["outcome"] in outcomes.UNEXPECTED for t in record["tests"]))


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


# -------------------------------------------------------------- the report
def write_report(record_paths, out_dir) -> list[pathlib.Path]:
    """The merged report of `layercontract merge` (reports.merge.write_reports: index.html,
    summary.md, matrix.json in out_dir); without reports/merge.py, the Markdown table of
    reports.render (out_dir/report.md)."""
    try:
        from layercontract.reports import merge as merge_mod
    except ImportError as e:
        if e.name != "layercontract.reports.merge":
            raise
        merge_mod = None
    if merge_mod is not None and callable(getattr(merge_mod, "write_reports", None)):
        written = merge_mod.write_reports(record_paths, out_dir)
        return [pathlib.Path(p) for p in (written.values() if isinstance(written, dict) else written or [])]
    from layercontract.reports import render

    return [render.write_markdown_report(record_paths, pathlib.Path(out_dir) / "report.md")]


# ----------------------------------------------------------------- command
def prepare_overlays(backends) -> dict[str, dict]:
    """backend -> extra environment of its process, for the NAME@VERSION backends: each Keras
    overlay found in (or installed into) the cache once, `nightly` resolved once. A version
    that cannot be prepared is reported here and left to its job, whose record then says why."""
    envs, prepared = {}, {}
    for b in backends:
        _base, request = overlay.split_name(b) if "@" in b else (b, None)
        if request is None:
            continue
        try:
            if request not in prepared:
                prepared[request] = overlay.prepare(request)
            found = prepared[request]
        except overlay.OverlayError as e:
            print(f"run-many: {b}: {e}", flush=True)
            continue
        print(f"run-many: {b}: {found.distribution} {found.version} from {found.path} "
              f"(ready in {found.seconds:.1f} s)" + (f"; {found.note}" if found.note else ""), flush=True)
        envs[b] = {"PYTHONPATH": str(found.path), overlay.ENV_OVERLAY: str(found.path)}
    return envs


def version_changes(records) -> list[str]:
    """Plain-text lines: per backend run at several Keras versions, the clauses whose outcome
    changed between consecutive versions (see reports.diff.consecutive_changes)."""
    from layercontract.reports import diff

    return diff.history_lines(records)


def expand(names) -> list[str]:
    backends = []
    for name in names:
        for b in (registry.known_backends() if name == "all" else [name]):
            if b not in backends:
                backends.append(b)
    return backends


def schedule(backends, out) -> list[str]:
    """Longest first, by the previous run's duration when its record is there (unknown: first)."""
    def previous(b):
        record = load_record(out / f"{record_name(b)}.json")
        return record.get("duration_s", 0) if record else float("inf")

    return sorted(backends, key=lambda b: -previous(b))


def run(args) -> int:
    t0 = time.monotonic()
    try:
        backends = expand(args.backends)
        for b in backends:
            # unknown names and versions on a non-Keras-3 backend stop here; module:Class specs
            # are tried in their run
            registry.check_versioned(b)
    except registry.BackendError as e:
        print(f"layercontract run-many: {e}", file=sys.stderr)
        return EXIT_HARNESS
    if args.jobs < 1:
        print("layercontract run-many: --jobs must be at least 1", file=sys.stderr)
        return EXIT_HARNESS
    if getattr(args, "keras_cache", None):
        os.environ[overlay.ENV_CACHE] = str(pathlib.Path(args.keras_cache).expanduser().resolve())
    out = pathlib.Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    args.out = str(out)
    envs = prepare_overlays(backends)
    order = schedule(backends, out)
    jobs = min(args.jobs, len(order))
    print(f"run-many: {len(order)} backend(s), {jobs} at a time; per-test timeout "
          f"{args.test_timeout:g} s, per-backend timeout {args.backend_timeout:g} s", flush=True)

    def say(text):
        print(f"[{time.monotonic() - t0:7.1f}s] {text}", flush=True)

    pending = collections.deque(Job(b, out, env=envs.get(b, {})) for b in order)
    running, records = [], {}
    try:
        while pending or running:
            while pending and len(running) < jobs:
                job = pending.popleft()
                start(job, args)
                running.append(job)
                say(f"start  {job.backend}")
            time.sleep(0.1)
            for job in list(running):
                job.read_journal()
                if job.proc.poll() is None:
                    watch(job, args)
                    continue
                running.remove(job)
                record = finish(job, args)
                records[job.backend] = record
                wall = time.monotonic() - job.started
                rc = job.proc.returncode
                status = label(record)
                exit_text = _signal_name(rc) if rc < 0 else f"exit {rc}"
                say(f"{status:<7} {job.backend}  {exit_text}, wall {wall:.1f} s, {summary(record)}"
                    + ("" if backend_ok(record) else f"  (log: {job.log})"))
    except KeyboardInterrupt:
        for job in running:
            kill(job, "run-many was interrupted")
        raise
    paths = [out / f"{record_name(b)}.json" for b in backends]  # the order asked for
    try:
        reports = write_report(paths, out)
    except Exception as e:  # the report is run-many's own job: any failure is a harness failure
        print(f"layercontract run-many: could not write the report: {type(e).__name__}: {e}", file=sys.stderr)
        return EXIT_HARNESS
    changes = version_changes([records[b] for b in backends])
    if changes:
        print("\n".join(changes), flush=True)
    bad = [b for b in backends if not backend_ok(records[b])]
    status = EXIT_UNEXPECTED if bad else EXIT_OK
    print(f"run-many: report {', '.join(map(str, reports))}\nrun-many: wall {time.monotonic() - t0:.1f} s; "
          + (f"unexpected outcomes on {', '.join(bad)}" if bad else "every outcome as expected")
          + f"; exit {status}", flush=True)
    return status
