"""layercontract run-many BACKEND... | all: the suites on several backends, each in its own
pytest process (Keras picks its backend once per process), several at a time, then one merged
report.

Each backend runs `python -m pytest suites --backend X --record PRIVATE/X.json --journal ...
--test-timeout T`; up to --jobs of them at once (default: os.cpu_count()). PRIVATE is
OUT/.run-<pid>-<random>/<n>, a directory only this run-many's n-th backend writes (as
`layercontract run`'s): each record is checked to be its own (its --record names PRIVATE; two
backends whose records share a name are an error, exit 2), the merged report is
written from those records, and then each record, with its log (X.log) and usage, is renamed
into OUT. A verdict is never read from another run's record, two run-manys (or a run and a
run-many) sharing --out each decide from their own, and a full or read-only --out is one error
(exit 2) with the previous records and report unchanged. Interrupted, the records of the
backends that finished are renamed into OUT, the others stay as they were.
A test longer than --test-timeout fails as "timeout" inside the process
(spec/harness/watchdog.py); one that does not respond to that (stuck in C code) is killed by
run-many --grace seconds later, and a backend running longer than --backend-timeout is killed.
A backend that crashes (segfault, os._exit), is killed or cannot start gets a record anyway,
built from the record its run left and its progress journal (X.journal, kept in OUT for such
runs): the tests it finished keep their outcomes, the others get outcome crash, timeout
or harness-error, with the reason (and the stack of a killed process). The other backends' results
are untouched. Every backend process runs in its own process group and dies with run-many
(spec/harness/processes.py), also when run-many itself is killed.

This module is the command and what it prints; one backend's process and its record are
spec/harness/backend_runs.py, the record of a process that did not finish is
reports.records.synthesize.

A Keras 3 backend at a Keras version, `keras-jax@3.12.0` or `keras-jax@nightly`, runs as its
own job on a cached Keras overlay (spec/harness/overlay.py), prepared here once before the jobs
start (`nightly` resolved once, so every job of the run gets the same build), with its own
record OUT/keras-jax@3.12.0.json. With several versions of one backend, the terminal output
ends with the clauses whose outcome changed between consecutive versions.

Each backend's peak resident memory (the process's VmHWM, Linux) is printed with its result;
--max-rss MIB makes a backend above that budget fail the run (CI keeps every backend under 1.5 GB).

Exit status: 0 every backend finished and every outcome is expected (pass, expected
deviation, unsupported, not applicable); 1 an unexpected outcome somewhere (fail, unexpected
pass, harness error, crash, timeout) or a backend over --max-rss; 2 run-many itself failed (an unknown backend name,
bad arguments, the report could not be written); 130 / 128+N stopped by Ctrl-C / signal N (no report).
Once the backends start, the last line is the verdict, saying the same in words with every
backend's tests together per outcome (spec/harness/verdict.py).
"""

from __future__ import annotations

import collections
import contextlib
import os
import pathlib
import shutil
import signal
import sys
import time

from layercontract.reports import records
from layercontract.reports.records import usage_path
from layercontract.spec.harness import overlay, processes, registry, selection, verdict
from layercontract.spec.harness.backend_runs import Job, backend_ok, finish, kill, label, start, summary, watch
from layercontract.spec.harness.commands.options import DEFAULT_OUT, add_timeouts, usable_out
from layercontract.spec.harness.commands.run import (
    ForwardedError,
    as_published,
    check_forwarded,
    own_record,
    private_dir,
    remove_stale,
)

HELP = "run the suites on several backends (or 'all'), in parallel, and merge the report"
EXIT_OK, EXIT_UNEXPECTED, EXIT_HARNESS = 0, 1, 2
DEFAULT_TEST_TIMEOUT_S = 120.0
DEFAULT_BACKEND_TIMEOUT_S = 600.0
DEFAULT_GRACE_S = 10.0


def add_arguments(parser):
    parser.add_argument(
        "backends",
        nargs="+",
        metavar="BACKEND",
        help="backend names or package.module:AdapterClass specs; 'all' = every known backend",
    )
    parser.add_argument(
        "-j", "--jobs", type=_jobs, default=os.cpu_count() or 1, help="backends run at once (default: os.cpu_count())"
    )
    add_timeouts(parser, DEFAULT_BACKEND_TIMEOUT_S)
    parser.add_argument(
        "--out",
        default=str(DEFAULT_OUT),
        help="directory for the records, logs and the merged report (default reports/out)",
    )
    parser.add_argument(
        "-s",
        "--select",
        action="append",
        default=[],
        metavar="PATH",
        help="suite file or node id to run instead of all of suites/ (repeatable)",
    )
    parser.add_argument(
        "--keras-cache",
        default=None,
        metavar="DIR",
        help=f"cache of Keras overlays for NAME@VERSION backends (default: ${overlay.ENV_CACHE}, "
        "else the user cache directory's layercontract/keras)",
    )
    parser.add_argument(
        "--max-rss",
        type=_mib,
        default=None,
        metavar="MIB",
        help="memory budget: a backend whose process peaks above MIB MiB of resident "
        "memory fails the run (exit 1; Linux, read from /proc)",
    )
    parser.add_argument(
        "--pytest-arg",
        action="append",
        default=[],
        metavar="ARG",
        help="extra argument for every pytest run, e.g. --pytest-arg=--hypothesis-profile=dev",
    )


def _at_least_one(unit=""):
    """argparse type: a whole number >= 1 (of `unit`)."""
    import argparse

    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number{' of ' + unit if unit else ''}") from None
        if value < 1:
            raise argparse.ArgumentTypeError(f"{text!r}: give at least 1{' ' + unit if unit else ''}")
        return value

    return parse


_jobs, _mib = _at_least_one(), _at_least_one("MiB")


def _signal_name(returncode):
    try:
        return signal.Signals(-returncode).name
    except ValueError:
        return f"signal {-returncode}"


# -------------------------------------------------------------- the report
def write_report(record_paths, out_dir, shown_as=None) -> list[pathlib.Path]:
    """The merged report of `layercontract merge`: index.html, summary.md, matrix.json in out_dir
    (shown_as: a record's path -> the path the report names it by)."""
    from layercontract.reports import merge as merge_mod

    return [pathlib.Path(p) for p in merge_mod.write_reports(record_paths, out_dir, shown_as=shown_as).values()]


# ----------------------------------------------------------------- command
def prepare_overlays(backends) -> dict[str, dict]:
    """backend -> extra environment of its process, for the NAME@VERSION backends: each Keras
    overlay found in (or installed into) the cache once, `nightly` resolved once. A version
    that cannot be prepared (not on the index, an unusable cache) is an OverlayError: bad
    input, before any backend runs."""
    envs, prepared = {}, {}
    for b in backends:
        _base, request = overlay.split_name(b) if "@" in b else (b, None)
        if request is None:
            continue
        if request not in prepared:
            try:
                prepared[request] = overlay.prepare(request)
            except overlay.OverlayError as e:
                raise overlay.OverlayError(f"backend {b!r}: {e}") from None
        found = prepared[request]
        print(
            f"run-many: {b}: {found.distribution} {found.version} from {found.path} "
            f"(ready in {found.seconds:.1f} s)" + (f"; {found.note}" if found.note else ""),
            flush=True,
        )
        envs[b] = {"PYTHONPATH": str(found.packages), overlay.ENV_OVERLAY: str(found.path)}
    return envs


def version_changes(records) -> list[str]:
    """Plain-text lines: per backend run at several Keras versions, the clauses whose outcome
    changed between consecutive versions (see reports.diff.consecutive_changes)."""
    from layercontract.reports import diff

    return diff.history_lines(records)


def expand(names) -> list[str]:
    backends = []
    for name in names:
        for b in registry.known_backends() if name == "all" else [name]:
            if b not in backends:
                backends.append(b)
    return backends


def schedule(backends, out) -> list[str]:
    """Longest first, by the previous run's duration when its record is there (unknown: first)."""

    def previous(b):
        record = records.load_partial(out / f"{records.record_file_stem(b)}.json")
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
    try:
        args.select = [selection.selection_target(s) for s in args.select]
    except selection.SelectionError as e:
        print(f"layercontract run-many: error: -s {e}", file=sys.stderr)
        return EXIT_HARNESS
    try:
        args.pytest_arg = check_forwarded(args.pytest_arg, args, "run-many", "in --pytest-arg")
    except ForwardedError as e:
        print(f"layercontract run-many: error: {e}", file=sys.stderr)
        return EXIT_HARNESS
    junit = [a for a in args.pytest_arg if a.partition("=")[0] in ("--junitxml", "--junit-xml")]
    if junit and len(backends) > 1:  # each backend would write the one file: all but one lost
        print(
            f"layercontract run-many: error: {junit[0][:80]!r} in --pytest-arg: every backend would write "
            "that one file; give it to one backend's run (layercontract run --backend B -- --junitxml FILE)",
            file=sys.stderr,
        )
        return EXIT_HARNESS
    out = pathlib.Path(args.out).resolve()
    problem = usable_out(out)
    if problem:
        print(f"layercontract run-many: error: {problem}", file=sys.stderr)
        return EXIT_HARNESS
    args.out = str(out)
    try:
        with processes.Supervisor():  # SIGTERM/SIGHUP: an exception, so that pip and .tmp go too
            envs = prepare_overlays(backends)
    except overlay.OverlayError as e:
        print(f"layercontract run-many: error: {e}", file=sys.stderr)
        return EXIT_HARNESS
    order = schedule(backends, out)
    jobs = min(args.jobs, len(order))
    print(
        f"run-many: {len(order)} backend(s), {jobs} at a time; per-test timeout "
        f"{args.test_timeout:g} s, per-backend timeout {args.backend_timeout:g} s",
        flush=True,
    )

    def say(text):
        print(f"[{time.monotonic() - t0:7.1f}s] {text}", flush=True)

    remove_stale(out)
    try:
        private = private_dir(out)
        for i in range(len(order)):  # one directory per backend: two may record under one name
            (private / str(i)).mkdir()
    except OSError as e:
        print(f"layercontract run-many: error: --out {out}: cannot create its directory there: {e}", file=sys.stderr)
        return EXIT_HARNESS
    by_backend = {b: Job(b, private / str(i), env=envs.get(b, {})) for i, b in enumerate(order)}
    pending = collections.deque(by_backend[b] for b in order)
    running: list[Job] = []
    results: dict[str, dict] = {}
    try:
        try:
            with processes.Supervisor() as supervisor:  # SIGTERM/SIGINT/SIGHUP: every backend process goes too
                _run_jobs(pending, running, results, jobs, args, supervisor, say)
        except (KeyboardInterrupt, SystemExit) as e:  # the Supervisor's SystemExit(128 + N): stopped by signal N
            # the records of the backends that finished are kept; the others' stay as they were
            with contextlib.suppress(NotOwnRecord, SharedRecordName, OSError):
                publish([by_backend[b] for b in results], results, out)
            code = e.code if isinstance(e, SystemExit) and isinstance(e.code, int) else 130
            stopped_by = signal.Signals(code - 128).name if code > 128 else "SIGINT"
            print(verdict.run_many_interrupted_line(code, results, len(backends), stopped_by), flush=True)
            return code
        # in the order asked for (a module:Class backend's record is named after its adapter)
        reports = publish([by_backend[b] for b in backends], results, out, report=True)
    except NotOwnRecord as e:
        print(f"layercontract run-many: error: {e}", file=sys.stderr)
        return EXIT_UNEXPECTED
    except SharedRecordName as e:
        print(f"layercontract run-many: error: {e}", file=sys.stderr)
        return EXIT_HARNESS
    except OSError as e:  # no space, read-only: in run-many's own writing
        print(
            f"layercontract run-many: error: cannot write in {out}: {e.strerror or e}"
            f"{f' ({e.filename})' if e.filename else ''}; the previous records and report are unchanged",
            file=sys.stderr,
        )
        return EXIT_HARNESS
    except Exception as e:  # the report is run-many's own job: any failure is a harness failure
        text = f"could not write the report: {type(e).__name__}: {e}"
        print(verdict.line("run-many", EXIT_HARNESS, verdict.plural(len(backends), "backend"), text), file=sys.stderr)
        return EXIT_HARNESS
    finally:
        shutil.rmtree(private, ignore_errors=True)
    changes = version_changes([results[b] for b in backends])
    if changes:
        print("\n".join(changes), flush=True)
    bad = [b for b in backends if not backend_ok(results[b])]
    over = [
        f"{b} {by_backend[b].peak_rss_kib / 1024:.0f} MiB"
        for b in backends
        if args.max_rss and by_backend[b].peak_rss_kib > args.max_rss * 1024
    ]
    status = EXIT_UNEXPECTED if bad or over else EXIT_OK
    print(f"run-many: report {', '.join(map(str, reports))}", flush=True)
    wall = time.monotonic() - t0
    print(verdict.run_many_line(status, results, failing=bad, over_budget=over, max_rss=args.max_rss, wall_s=wall))
    return status


class NotOwnRecord(Exception):
    """A record in a backend's private directory that its own process did not write."""


class SharedRecordName(Exception):
    """Two backends of one run-many whose records have one name (a module:Class adapter named
    like another backend): one would replace the other in OUT."""


def publish(jobs: list[Job], results: dict, out: pathlib.Path, report=False):
    """Move the jobs' records from their private directories into `out`, each checked to be its
    own backend's first (results: backend -> record, replaced by the checked record); with
    `report`, the merged report of them is written before any record moves (a report that cannot
    be written leaves every previous record as it was). Their .usage, log and kept journal go
    along. Returns the report's paths."""
    names: dict[str, str] = {}
    for job in jobs:
        other = names.setdefault(job.record.name, job.backend)
        if other != job.backend:
            raise SharedRecordName(
                f"backends {other} and {job.backend} both record as {job.record.name} (their adapters' "
                "name): run them in two run-manys with different --out; no record written"
            )
    for job in jobs:
        record = own_record(job.record, job.out)
        if record is None:
            raise NotOwnRecord(f"the record at {job.record} is not this run-many's")
        results[job.backend] = record
        records.write(job.record, as_published(record, job.out, out))
    reports = []
    if report:
        paths = [job.record for job in jobs]
        reports = write_report(paths, out, shown_as={p: out / p.name for p in paths})
    for job in jobs:
        for path in (usage_path(job.record), job.log, job.journal, job.stack):
            if path.exists():
                os.replace(path, out / path.name)
            elif path in (job.journal, job.stack):  # a journal is kept only for a run that did not finish
                (out / path.name).unlink(missing_ok=True)
        os.replace(job.record, out / job.record.name)
    return reports


def _run_jobs(pending, running, results, jobs, args, supervisor, say):
    """Keep `jobs` backend processes going until every job is done; results: backend -> record."""
    try:
        while pending or running:
            while pending and len(running) < jobs:
                job = pending.popleft()
                start(job, args, supervisor)
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
                results[job.backend] = record
                wall = time.monotonic() - job.started
                rc = job.proc.returncode
                exit_text = _signal_name(rc) if rc < 0 else f"exit {rc}"
                rss = f", peak RSS {job.peak_rss_kib / 1024:.0f} MiB" if job.peak_rss_kib else ""
                say(
                    f"{label(record):<7} {job.backend}  {exit_text}, wall {wall:.1f} s{rss}, {summary(record)}"
                    + ("" if backend_ok(record) else f"  (log: {pathlib.Path(args.out) / job.log.name})")
                )
    except KeyboardInterrupt:
        for job in running:
            kill(job, "run-many was interrupted")
        raise
