"""layercontract run: the conformance suites on one backend, then its record and report.

The suites run in a child pytest process, supervised like one backend of `run-many`: a backend
that crashes (segfault, os._exit, sys.exit), hangs past --test-timeout + --grace or past
--backend-timeout still gets a record (outcomes "crash" / "timeout"), never exit status 0.
Input is checked before anything is written (the backend name, the test selection, the adapter
contract, the expectations file, the pytest arguments); a bad one is one error and leaves the
previous record and report as they were. The run's record, progress journal and stack dump
live in a directory private to the run, OUT/.run-<pid>-<random> (an id this process chooses and
the child gets in --record and --journal); when the run ends its record is checked to be this
run's own (never another run's sharing --out), its report written, and the record renamed to
OUT/<name>.json, named after the adapter's `name`. The private directories of runs killed with
SIGKILL are removed by the next run. One Ctrl-C, SIGTERM or SIGHUP stops the run: the record says
"interrupted", the tests not run are "not-run", exit 130 / 128+N. No space, a read-only --out:
one error, exit 2, the previous record and report unchanged.

Tests are selected after `--` the way pytest takes them, from any directory: paths or node ids
relative to the working directory or absolute, check ids as records spell them
("suites/test_build.py::test_x[a]"), or --pyargs targets ("layercontract.suites.test_build").

Exit status: 0 every outcome as expected; 1 an unexpected outcome (fail, unexpected pass,
harness error, crash, timeout) or an incomplete run; 2 bad input or an unusable --out (one
error, nothing written); 130 interrupted by Ctrl-C, 143 by SIGTERM, 129 by SIGHUP (the record
says how far it got). Once its input is accepted, the run's last line is its verdict, saying the
same in words (PASS / FAIL / ERROR / INTERRUPTED, its tests per outcome: spec/harness/verdict.py).
"""

from __future__ import annotations

import argparse
import os
import pathlib
import signal
import subprocess
import sys
import time

from layercontract.spec.harness import check_ids, selection, verdict
from layercontract.spec.harness.commands.options import DEFAULT_OUT, add_timeouts, usable_out
from layercontract.spec.harness.values import seconds

HELP = "run the conformance suites on one backend and write its record and report"
EXIT_OK, EXIT_UNEXPECTED, EXIT_BAD_INPUT, EXIT_INTERRUPTED = 0, 1, 2, 130
DEFAULT_BACKEND_TIMEOUT_S = 3600.0
INTERRUPT_WAIT_S = 5.0  # after Ctrl-C, how long the child may take to write its record
# pytest options whose value is the next argument (so that value is never taken for a selection)
VALUE_OPTIONS = {
    "-k",
    "-m",
    "-p",
    "-c",
    "-o",
    "-W",
    "-n",
    "--numprocesses",
    "--maxfail",
    "--deselect",
    "--ignore",
    "--ignore-glob",
    "--rootdir",
    "--basetemp",
    "--durations",
    "--tb",
    "--hypothesis-profile",
    "--hypothesis-seed",
    "--hypothesis-verbosity",
    "--record-every",
    "--fault",
    "--expectations",
    "--test-timeout",
    "--confcutdir",
    "--dist",
    "--junitxml",
}


def add_arguments(parser):
    parser.add_argument(
        "--backend", default="reference", help="backend name or package.module:AdapterClass (default: reference)"
    )
    parser.add_argument("--out", default=str(DEFAULT_OUT), help="directory for the record and report")
    parser.add_argument(
        "--keras-cache",
        default=None,
        metavar="DIR",
        help="cache of Keras overlays for a NAME@VERSION backend such as keras-jax@3.12.0 or "
        "keras-jax@nightly (default: $LAYERCONTRACT_KERAS_CACHE, else the user cache "
        "directory's layercontract/keras)",
    )
    add_timeouts(parser, DEFAULT_BACKEND_TIMEOUT_S)
    parser.add_argument(
        "pytest_args",
        nargs=argparse.REMAINDER,
        help="after --: tests to run (paths, node ids, check ids) and extra pytest arguments",
    )


def split_selection(args: list[str], cwd=None) -> tuple[list[str], list[str]]:
    """(selected targets as absolute node ids, the other pytest arguments with any --deselect
    value made absolute). SelectionError for a selection that names no suite file or test."""
    targets, rest = [], []
    i = 0
    while i < len(args):
        arg = args[i]
        if arg in VALUE_OPTIONS and i + 1 < len(args):
            value = args[i + 1]
            if arg == "--deselect":
                value = _deselect_id(value, cwd)
            rest += [arg, value]
            i += 2
            continue
        if arg.startswith("--deselect="):
            rest.append("--deselect=" + _deselect_id(arg.partition("=")[2], cwd))
        elif arg == "--pyargs":
            pass  # a --pyargs target is recognized as such without it
        elif selection.looks_like_selection(arg):
            targets.append(selection.selection_target(arg, cwd))
        else:
            rest.append(arg)
        i += 1
    return targets, rest


def _deselect_id(value: str, cwd=None) -> str:
    """A --deselect value as pytest matches it: a prefix of the node ids, which are relative to
    the suites' root ("suites/test_build.py::..."), never an absolute path (that matched nothing)."""
    target = selection.selection_target(value, cwd)
    root = str(check_ids.SUITES_DIR.parent) + os.sep
    return target[len(root) :] if target.startswith(root) else target


# pytest arguments `run` and `run-many` set themselves: given after `--` (or as --pytest-arg) they
# would send the record, the journal or the backend elsewhere, or run no test at all, behind the
# command's back (its verdict read from another record).
OWNED = {
    "--backend": "give the backend to the command itself (run --backend NAME, run-many NAME...)",
    "--record": "the record goes to --out (OUT/<backend>.json), read back for the verdict",
    "--journal": "the progress journal is the command's own",
    "--rootdir": "the suites' root is fixed",
    "-c": "the suites' ini file is fixed",
    "--config-file": "the suites' ini file is fixed",
    "--confcutdir": "the suites' ini file is fixed",
    "--collect-only": "it runs no test",
    "--co": "it runs no test",
    "--setup-only": "it runs no test",
    "--setup-plan": "it runs no test",
    "--fixtures": "it runs no test",
    "--fixtures-per-test": "it runs no test",
    "--markers": "it runs no test",
    "--version": "it runs no test",
    "-V": "it runs no test",
    "--help": "it runs no test",
    "-h": "it runs no test",
}
FORWARDED_SECONDS = ("--test-timeout", "--record-every")


class ForwardedError(ValueError):
    """A pytest argument the command owns or a forwarded value that is not valid (one line)."""


def check_forwarded(extra: list[str], args, command: str = "run", how: str = "after --") -> list[str]:
    """The pytest arguments to forward: ForwardedError for one the command owns (OWNED) or a bad
    value of --test-timeout / --record-every; a valid --test-timeout becomes the command's own
    (args.test_timeout: the watchdog of the parent and the child's alarm agree), others stay."""
    import argparse

    kept, i = [], 0
    while i < len(extra):
        arg = extra[i]
        name, eq, value = arg.partition("=") if arg.startswith("--") else (arg, "", "")
        if name in OWNED:
            raise ForwardedError(f"{arg[:60]!r} {how}: layercontract {command} does not forward {name}: {OWNED[name]}")
        if name in ("--junitxml", "--junit-xml"):  # pytest writes it at the very end: check now
            if not eq and i + 1 < len(extra):
                value = extra[i + 1]
            problem = usable_out(pathlib.Path(value).expanduser().absolute().parent) if value else None
            if problem:
                raise ForwardedError(f"{name} {how}: {problem.replace('--out ', '', 1)}")
        if name in FORWARDED_SECONDS:
            if not eq:
                if i + 1 >= len(extra):
                    raise ForwardedError(f"{name} {how}: expected a number of seconds after it")
                value, i = extra[i + 1], i + 1
            try:
                number = seconds(value)
            except argparse.ArgumentTypeError as e:
                raise ForwardedError(f"{name} {how}: {e}") from None
            if name == "--test-timeout":
                args.test_timeout = number
            else:
                kept.append(f"{name}={number!r}")
        else:
            kept.append(arg)
        i += 1
    return kept


def expectations_problem(extra: list[str]) -> str | None:
    """Why the expectations file named after -- cannot be used, checked here as the child would
    check it, but before any process imports the adapter (a broken file cost a backend process:
    0.4 s of CPU on keras-tensorflow, and an adapter whose import hangs hung the run), or None.
    Its `when` conditions need the backend: the child checks them."""
    given = None
    for i, arg in enumerate(extra):
        if arg == "--expectations" and i + 1 < len(extra):
            given = extra[i + 1]
        elif arg.startswith("--expectations="):
            given = arg.partition("=")[2]
    if given is None:
        return None
    from layercontract.spec import clauses as spec_clauses
    from layercontract.spec.harness import clause_citations, expectations

    try:
        expectations.load_for_run(given, spec_clauses.load(), clause_citations.known_tests(), given=True)
    except expectations.ExpectationsError as e:
        return str(e)
    except spec_clauses.SpecError:
        return None  # the child says what is wrong with the spec
    return None


def _error(text: str) -> int:
    print(f"layercontract run: error: {text}", file=sys.stderr)
    print("layercontract run: nothing written", file=sys.stderr)
    return EXIT_BAD_INPUT


def prepare_overlay(args) -> bool:
    """For a NAME@VERSION backend: find or install its Keras overlay now and hand it to the run
    (this process runs only this backend; the plugin puts the overlay first on sys.path before
    Keras is imported). False, with the reason printed, when it cannot be prepared."""
    from layercontract.spec.harness import overlay

    if getattr(args, "keras_cache", None):
        os.environ[overlay.ENV_CACHE] = str(pathlib.Path(args.keras_cache).expanduser().resolve())
    if "@" not in args.backend or ":" in args.backend:
        return True
    from layercontract.spec.harness import processes

    try:
        _base, request = overlay.split_name(args.backend)
        assert request is not None  # the name has "@" and no ":"
        with processes.Supervisor():  # SIGTERM/SIGHUP: an exception, so that pip and .tmp go too
            found = overlay.prepare(request)
    except overlay.OverlayError as e:
        print(f"layercontract run: backend {args.backend!r}: {e}", file=sys.stderr)
        return False
    print(
        f"layercontract: {args.backend}: {found.distribution} {found.version} from {found.path} "
        f"(ready in {found.seconds:.1f} s)" + (f"; {found.note}" if found.note else ""),
        flush=True,
    )
    os.environ.update(overlay.child_environment(found))
    return True


PRIVATE_PREFIX = ".run-"  # OUT/.run-<pid>-<random>/: one run's record, journal and stack until it ends


def private_dir(out: pathlib.Path) -> pathlib.Path:
    """A directory in `out` only this run writes: its id (this process's id and a random part)
    is chosen here, handed to the child in --record and --journal, and checked on its record."""
    import uuid

    path = out / f"{PRIVATE_PREFIX}{os.getpid()}-{uuid.uuid4().hex[:12]}"
    path.mkdir()
    return path


def remove_stale(out: pathlib.Path) -> None:
    """What runs killed with SIGKILL (or a crash) left in `out`: their private directories, and
    the <backend>.<pid>.journal / .stack files of earlier versions, once their process is gone."""
    import re
    import shutil

    from layercontract.spec.harness.overlay import _pid_alive

    try:
        entries = list(out.iterdir())
    except OSError:
        return
    for path in entries:
        if path.name.startswith(PRIVATE_PREFIX):
            pid = path.name[len(PRIVATE_PREFIX) :].partition("-")[0]
        else:
            found = re.fullmatch(r".+\.(\d+)\.journal(\.stack)?", path.name)
            pid = found.group(1) if found else ""
        if pid.isdigit() and int(pid) != os.getpid() and not _pid_alive(int(pid)):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)


def own_record(path: pathlib.Path, private: pathlib.Path):
    """The record at `path` if it is this run's (its invocation carries this run's private
    --record), else None: a verdict is never read from another run's record."""
    from layercontract.reports import records

    record = records.load_partial(path)
    wanted = records.unicode_only(f"--record={private / '{backend}.json'}")  # as records are written
    if record is None or not any(str(a) == wanted for a in record.get("invocation") or ()):
        return None
    return record


def as_published(record: dict, private: pathlib.Path, out: pathlib.Path) -> dict:
    """The record with OUT's paths in its invocation instead of the private directory's."""
    from layercontract.reports import records

    mine, theirs = records.unicode_only(str(private)), records.unicode_only(str(out))
    record["invocation"] = [str(a).replace(mine, theirs) for a in record.get("invocation") or ()]
    return record


def run(args) -> int:
    from layercontract.spec.harness import processes, registry

    extra = args.pytest_args[1:] if args.pytest_args[:1] == ["--"] else args.pytest_args
    try:
        targets, extra = split_selection(check_forwarded(extra, args))
    except (selection.SelectionError, ForwardedError) as e:
        return _error(str(e))
    try:
        registry.spec_for(args.backend)
    except registry.BackendError as e:
        return _error(str(e))
    out = pathlib.Path(args.out).resolve()
    problem = usable_out(out) or expectations_problem(extra)
    if problem:
        return _error(problem)
    args.out, args.select, args.pytest_arg = str(out), targets, extra
    if not prepare_overlay(args):  # the child inherits the overlay's environment
        print("layercontract run: nothing written", file=sys.stderr)
        return EXIT_BAD_INPUT
    remove_stale(out)
    try:
        private = private_dir(out)
    except OSError as e:
        return _error(f"--out {out}: cannot create this run's directory there: {e.strerror or e}")
    try:
        with processes.Supervisor():  # SIGTERM, SIGHUP: SystemExit(128+N), handled like Ctrl-C
            return _run_in(args, out, private, targets, extra)
    except OSError as e:  # no space, read-only, a name too long: in this process's writing
        text = (
            f"cannot write in {out}: {e.strerror or e}{f' ({e.filename})' if e.filename else ''}; "
            "the previous record and report are unchanged"
        )
        _verdict(verdict.line("run", EXIT_BAD_INPUT, args.backend, text), sys.stderr)
        return EXIT_BAD_INPUT
    finally:
        import shutil

        shutil.rmtree(private, ignore_errors=True)


def _run_in(args, out, private, targets, extra) -> int:
    from layercontract.reports import records
    from layercontract.reports.records import usage_path
    from layercontract.spec.harness import backend_runs, processes

    job = backend_runs.Job(args.backend, private)
    command = [
        sys.executable,
        "-m",
        "pytest",
        *(targets or [str(check_ids.SUITES_DIR)]),
        *check_ids.pytest_location_args(),
        f"--backend={args.backend}",
        f"--record={private / '{backend}.json'}",
        f"--journal={job.journal}",
        f"--test-timeout={args.test_timeout:g}",
        "-q",
        "-p",
        "layercontract.spec.harness.usage",
        *extra,
    ]  # <backend>.usage (bench), moved into OUT
    job.started, job.started_at = time.monotonic(), records.now()
    stopped_by = None  # the signal that stopped this run (SIGINT: Ctrl-C; SIGTERM, SIGHUP)
    job.proc = processes.spawn(command, env=backend_runs.child_env())  # its own group, dies with this process
    try:
        while True:
            try:  # returns as the child exits (a sleep of 0.1 s made every run end 0.05 s late)
                job.proc.wait(timeout=0.1)
                break
            except subprocess.TimeoutExpired:
                pass
            job.read_journal()
            backend_runs.watch(job, args)
    except (KeyboardInterrupt, SystemExit) as e:
        code = e.code if isinstance(e, SystemExit) else None  # the Supervisor's 128+N
        stopped_by = signal.Signals(code - 128) if isinstance(code, int) else signal.SIGINT
        print(f"\nlayercontract run: interrupted ({stopped_by.name}): stopping the run", file=sys.stderr, flush=True)
        processes.kill_group(job.proc, signal.SIGINT)  # the child writes its record as interrupted
        try:
            job.proc.wait(timeout=INTERRUPT_WAIT_S)
        except (subprocess.TimeoutExpired, KeyboardInterrupt, SystemExit):
            backend_runs.kill(job, f"run was interrupted ({stopped_by.name}) and the run did not stop")
            job.proc.wait()
    interrupted = stopped_by is not None
    exit_interrupted = EXIT_INTERRUPTED if stopped_by in (None, signal.SIGINT) else 128 + stopped_by
    job.read_journal()
    record_path = job.record
    fresh = own_record(record_path, private) is not None
    rc = job.proc.returncode
    if rc == processes.EXIT_CANNOT_WRITE and not (job.killed or interrupted):  # it said why, in one line
        print("layercontract run: nothing written; the previous record and report are unchanged", file=sys.stderr)
        return EXIT_BAD_INPUT
    if not fresh and (interrupted or (not job.killed and rc in (2, 3, 4, 5))):
        # Stopped before its tests were selected: pytest said why (bad input, a backend that
        # cannot load, Ctrl-C while loading); the previous record stays as it was.
        if stopped_by is not None:
            text = "interrupted before the tests were selected: nothing written"
            _verdict(verdict.line("run", exit_interrupted, f"{args.backend} by {stopped_by.name}", text), sys.stderr)
            return exit_interrupted
        text = f"the run did not start (pytest exit status {rc}, see above): nothing written"
        _verdict(verdict.line("run", EXIT_BAD_INPUT, args.backend, text), sys.stderr)
        return EXIT_BAD_INPUT
    if interrupted and not job.killed:
        record = own_record(record_path, private) or backend_runs.finish(job, args)
    else:
        record = backend_runs.finish(job, args)
    if own_record(record_path, private) is None:  # never decide from a record this run did not write
        text = f"the record at {record_path} is not this run's"
        _verdict(verdict.line("run", EXIT_UNEXPECTED, args.backend, text), sys.stderr)
        return EXIT_UNEXPECTED
    status = exit_interrupted if interrupted else (EXIT_OK if backend_runs.backend_ok(record) else EXIT_UNEXPECTED)
    final = out / record_path.name
    try:  # this run's record with OUT's paths; its report from it; then renamed into OUT
        records.write(record_path, as_published(record, private, out))
    except OSError as e:
        text = f"cannot write the record in {out}: {e.strerror or e}; the previous record is unchanged"
        _verdict(verdict.line("run", EXIT_BAD_INPUT, args.backend, text), sys.stderr)
        return EXIT_BAD_INPUT
    reported = write_report(record_path, out, status, final)
    if reported == EXIT_BAD_INPUT:
        return reported
    try:
        os.replace(record_path, final)
    except OSError as e:
        text = f"cannot write the record {final}: {e.strerror or e}; the previous record is unchanged"
        _verdict(verdict.line("run", EXIT_BAD_INPUT, args.backend, text), sys.stderr)
        return EXIT_BAD_INPUT
    usage = usage_path(record_path)  # the usage plugin wrote it next to the private record
    if usage.is_file():
        try:
            os.replace(usage, usage_path(final))
        except OSError:
            pass  # only for bench: the record and report are written
    note = "" if reported == status else "the report could not be written (see above)"
    _verdict(verdict.run_line(reported, record, stopped_by=stopped_by.name if stopped_by else None, note=note))
    return reported


def _verdict(text: str, stream=None) -> None:
    """The run's last line (spec/harness/verdict.py), after everything printed before it."""
    sys.stdout.flush()
    sys.stderr.flush()
    print(text, file=stream or sys.stdout, flush=True)


def write_report(record, out, status, shown=None) -> int:
    """The report of this one run (<backend>.html, as index.html of `merge`, and <backend>.md)
    from `record`; EXIT_BAD_INPUT (one error) when it cannot be written: no space, read-only."""
    from layercontract.reports import merge
    from layercontract.reports.schema import ReportError

    stem = record.stem
    try:
        written = merge.write_reports(
            [record], out, names={"index.html": f"{stem}.html", "summary.md": f"{stem}.md", "matrix.json": None}
        )
    except ReportError as e:
        print(f"layercontract run: could not write the report: {e}", file=sys.stderr)
        return status or EXIT_UNEXPECTED
    except OSError as e:
        text = (
            f"cannot write the report in {out}: {e.strerror or e} ({e.filename or out}); "
            "the previous record and report are unchanged"
        )
        _verdict(verdict.line("run", EXIT_BAD_INPUT, stem, text), sys.stderr)
        return EXIT_BAD_INPUT
    print(
        f"\nlayercontract: run record {shown or record}\nlayercontract: report     {written['index.html']}"
        f"\nlayercontract: summary    {written['summary.md']}"
    )
    return status
