"""layercontract doctor: check an adapter against the contract (spec/harness/adapter_contract.py) in
seconds, before any test runs. Every problem is reported, not only the first: the attributes,
the methods, the namespace names the suites use and their kinds, the declared capabilities,
a tiny smoke case (a Dense layer: to_numpy, is_symbolic, set_seed, compiled_call, recorded_call) and the
expectations file (the checks `layercontract run` makes before any test, and entries naming a
parameter no test has).

The checks run in a child process, so that an adapter that exits, crashes or hangs (even one
that blocks SIGALRM) is a problem reported with the step it was in, after at most --timeout
seconds. Exit status 0 when the adapter is ready, 1 when it has a problem."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import pathlib
import signal
import subprocess
import sys
import tempfile
import threading

import numpy as np

from layercontract.spec.harness import adapter_contract as contract
from layercontract.spec.harness import processes, registry
from layercontract.spec.harness.commands.options import seconds
from layercontract.spec.harness.contract_checks import (
    Report,
    check_attributes,
    check_namespace,
    check_namespace_behaviour,
)

HELP = "check a backend adapter against the adapter contract before running tests"
STEP_TIMEOUT_S = 120  # per step (load, each smoke case): a hanging adapter is a problem too
DOCTOR_TIMEOUT_S = 300.0  # the whole check, enforced from outside (a load() may block SIGALRM)


def add_arguments(parser):
    parser.add_argument(
        "--backend", default="reference", help="backend name or package.module:AdapterClass (default: reference)"
    )
    parser.add_argument(
        "--expectations", default=None, metavar="PATH", help="check this expectations file instead of the adapter's own"
    )
    parser.add_argument(
        "--timeout",
        type=seconds,
        default=DOCTOR_TIMEOUT_S,
        metavar="SECONDS",
        help=f"stop an adapter that has not finished every check after SECONDS (default {DOCTOR_TIMEOUT_S:g}; 0: none)",
    )
    parser.add_argument("--report-to", default=None, help=argparse.SUPPRESS)  # the child process


class StepTimeout(Exception):
    pass


@contextlib.contextmanager
def _time_limit(seconds):
    if not hasattr(signal, "setitimer") or threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_alarm(signum, frame):
        raise StepTimeout(f"did not return within {seconds} s")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _error(e: BaseException) -> str:
    text = " ".join(str(e).split())
    return f"{type(e).__name__}: {text[:300]}" if text else type(e).__name__


def _step(report, what, func):
    """Run one smoke step; a raised exception or a hang becomes a problem. Returns (ok, value)."""
    try:
        with _time_limit(STEP_TIMEOUT_S):
            return True, func()
    except Exception as e:  # the adapter's own failure, whatever its type
        report.problem(f"{what} raised {_error(e)}")
        return False, None


def check_smoke(adapter, K, caps, report):
    """A tiny Dense layer through to_numpy, is_symbolic, set_seed, compiled_call and recorded_call;
    free_memory()."""
    x = np.ones((2, 3), dtype="float32")
    ok, layer = _step(report, "smoke case: K.layers.Dense(2)", lambda: K.layers.Dense(2))
    ok, y = (
        _step(report, "smoke case: calling K.layers.Dense(2) on a (2, 3) float32 array", lambda: layer(x))
        if ok
        else (False, None)
    )
    if ok:
        ok_np, arr = _step(report, "to_numpy(Dense output)", lambda: adapter.to_numpy(y))
        if ok_np:
            if isinstance(arr, np.ndarray) and arr.shape == (2, 2):
                report.ok("to_numpy(Dense output) is a (2, 2) numpy.ndarray")
            else:
                report.problem(
                    f"to_numpy(Dense output) must be a numpy.ndarray of shape (2, 2), got "
                    f"{type(arr).__name__} {getattr(arr, 'shape', '')}"
                )
        ok_w, weights = _step(report, "reading layer.weights", lambda: list(layer.weights))
        if ok_w and weights:
            ok_k, kernel = _step(report, "to_numpy(a weight)", lambda: adapter.to_numpy(weights[0]))
            if ok_k and not isinstance(kernel, np.ndarray):
                report.problem(f"to_numpy(a weight) must be a numpy.ndarray, got {type(kernel).__name__}")
            elif ok_k:
                report.ok("to_numpy(a weight) is a numpy.ndarray")
        ok_s, eager = _step(report, "is_symbolic(an eager tensor)", lambda: adapter.is_symbolic(y))
        if ok_s and eager is not False:
            report.problem(f"is_symbolic(an eager tensor) must be False, got {eager!r}")
        elif ok_s:
            report.ok("is_symbolic(an eager tensor) is False")
    if "symbolic" in caps:
        ok, z = _step(
            report,
            "symbolic smoke case: K.layers.Dense(2)(K.Input(shape=(3,)))",
            lambda: K.layers.Dense(2)(K.Input(shape=(3,))),
        )
        if ok:
            ok_s, sym = _step(report, "is_symbolic(a symbolic tensor)", lambda: adapter.is_symbolic(z))
            if ok_s and sym is not True:
                report.problem(f"is_symbolic(a symbolic tensor) must be True, got {sym!r}")
            elif ok_s:
                report.ok("is_symbolic(a symbolic tensor) is True")

    def dropped(seed):
        adapter.set_seed(seed)
        return adapter.to_numpy(K.layers.Dropout(0.5)(np.ones((8, 64), dtype="float32"), training=True))

    ok1, first = _step(report, "set_seed(7) then Dropout(0.5) in training", lambda: dropped(7))
    ok2, second = _step(report, "set_seed(7) again, same Dropout call", lambda: dropped(7)) if ok1 else (False, None)
    if ok1 and ok2:
        if np.array_equal(np.asarray(first), np.asarray(second)):
            report.ok("set_seed makes Dropout reproducible")
        else:
            report.problem("set_seed(7) does not make Dropout reproducible: two seeded runs differ")
    if "compiled" in caps and contract.provides(adapter, "compiled_call"):
        ok, out = _step(
            report,
            "compiled_call(K.layers.Dense(2), x, training=None)",
            lambda: adapter.compiled_call(K.layers.Dense(2), x, training=None),
        )
        if ok and not (isinstance(out, np.ndarray) and out.shape == (2, 2)):
            report.problem(
                f"compiled_call must return a numpy.ndarray of shape (2, 2), got "
                f"{type(out).__name__} {getattr(out, 'shape', '')}"
            )
        elif ok:
            report.ok("compiled_call returns a (2, 2) numpy.ndarray")
    if "gradients" in caps and contract.provides(adapter, "recorded_call"):
        check_recorded_call(adapter, K, x, report)
    free_memory = getattr(adapter, "free_memory", None)
    if callable(free_memory) and getattr(type(adapter), "free_memory", None) is not contract.Backend.free_memory:
        ok, _ = _step(report, "free_memory()", free_memory)
        if ok:
            report.ok("free_memory() runs")


def check_recorded_call(adapter, K, x, report):
    """recorded_call on a built Dense(2): a (2, 2) output and one gradient per trainable weight, of
    its shape; with an output gradient of ones, the bias gradient is the batch size."""

    def record():
        dense = K.layers.Dense(2)
        dense(x)
        return dense, adapter.recorded_call(dense, x, None, np.ones((2, 2), dtype="float32"))

    ok, result = _step(report, "recorded_call(a built K.layers.Dense(2), x, None, ones)", record)
    if not ok:
        return
    dense, (out, grads) = result
    shapes = [tuple(w.shape) for w in dense.trainable_weights]
    if not (isinstance(out, np.ndarray) and out.shape == (2, 2)):
        report.problem(f"recorded_call must return a (2, 2) numpy.ndarray output, got {type(out).__name__}")
    elif len(grads) != len(shapes) or any(np.shape(g) != shape for g, shape in zip(grads, shapes)):
        report.problem(
            f"recorded_call must return one gradient per trainable weight, of shapes {shapes}, got "
            f"{[np.shape(g) for g in grads]}"
        )
    elif not any(np.allclose(g, 2.0) for g in grads if np.shape(g) == (2,)):
        report.problem(f"recorded_call: the bias gradient of sum(output) over a batch of 2 must be 2, got {grads}")
    else:
        report.ok("recorded_call returns the output and one gradient per trainable weight")


def check_versions(adapter, report):
    """The adapter's versions (as `run` checks them: contract_checks.adapter_versions), or None;
    and the key distribution whose version reports show."""
    from layercontract.reports.records import resolve_key_distribution
    from layercontract.spec.harness.contract_checks import (
        AdapterFault,
        declared_key_distribution,
        key_distribution_problem,
        versions_problem_free,
    )

    ok, versions = _step(report, "versions()", adapter.versions)
    if not ok:
        return None
    try:
        versions = versions_problem_free(versions)
    except AdapterFault as e:
        report.problem(str(e))
        return None
    report.ok("versions: " + (", ".join(f"{k} {v}" for k, v in sorted(versions.items())) or "none"))
    problem = key_distribution_problem(adapter, versions)
    if problem:
        report.problem(problem)
        return versions
    declared = declared_key_distribution(adapter)
    key = resolve_key_distribution(versions, getattr(adapter, "name", None), declared)
    if key is None:
        report.ok(
            "key distribution: none, so reports show no version: versions() reports none of keras, tf-keras, "
            "reference_impl and the backend's name; declare key_distribution (the distribution whose version "
            "identifies your implementation)"
        )
    else:
        how = "declared by key_distribution" if declared else "by default; key_distribution chooses another"
        report.ok(f"key distribution: {key} {versions[key]} ({how}): reports show it as the backend's version")
    return versions


def check_expectations(adapter, override, report, versions=None):
    from layercontract.spec import clauses as spec_clauses
    from layercontract.spec.harness import clause_citations, expectations

    path = override if override is not None else getattr(adapter, "expectations", None)
    if path is None:
        report.ok("expectations: none declared (any deviation fails the run)")
        return
    if not isinstance(path, (str, pathlib.PurePath)):
        report.problem(f"expectations must be a pathlib.Path or None, got {type(path).__name__}")
        return
    path = pathlib.Path(path)
    if not path.exists():  # a FIFO, a device or a directory: expectations.load says which
        report.problem(f"expectations file {path} does not exist")
        return
    try:
        deviations, findings = expectations.load_with_findings(path, spec_clauses.load())
    except expectations.ExpectationsError as e:
        for line in str(e).splitlines():
            report.problem(f"expectations: {line}")
        return
    except Exception as e:  # a broken spec/clauses.toml, an unreadable file
        report.problem(f"expectations file {path} could not be checked: {_error(e)}")
        return
    tests = {f"suites/{t}" for ts in clause_citations.cited_clauses().values() for t in ts}
    unmatched = expectations.static_problems(deviations, tests)
    with_params = [d for d in deviations if "[" in d.test]
    if with_params and not unmatched:  # the parameters exist only in a collection of the suites
        ids = collected_check_ids()
        unmatched = (
            expectations.unmatched(with_params, ids)
            if ids is not None
            else ["could not collect the suites to check the entries' parameters"]
        )
    for d in deviations if versions is not None else ():  # conditions on what the backend records, as run
        try:
            d.holds_on(versions)
        except expectations.ExpectationsError as e:
            unmatched.append(str(e))
    for problem in unmatched:
        report.problem(f"expectations: {problem}")
    if not unmatched:
        loose = [f"#{d.entry}" for d in deviations if not d.match]
        named = {d.finding for d in deviations if d.finding}
        report.ok(
            f"expectations file {path}: {len(deviations)} deviation(s), valid"
            + (f", explained by {len(named)} finding(s)" if named else "")
            + (f"; without `match`, so accepting any failure of their check: {', '.join(loose)}" if loose else "")
        )
        legacy = [d for d in deviations if not d.finding]
        if legacy:  # loads as before; one line says how to describe each reason once
            report.ok(
                f"expectations: {len(legacy)} of {len(deviations)} entries in the legacy form (kind and "
                f"reason inline); they load, and `layercontract expectations convert {path}` rewrites "
                "them as findings, each reason written once"
            )
        own = [f for f in findings.values() if pathlib.Path(f.file).resolve() == path.resolve()]
        unused = [f.id for f in own if f.id not in named]
        if unused:  # declared in this file, named by none of its entries (a shared findings file may be)
            report.ok(
                f"expectations: finding(s) {', '.join(unused)} declared in {path.name} but named by no "
                "entry (delete them, or record the entries they explain)"
            )


_COLLECTED: dict = {}


def collected_check_ids() -> list[str] | None:
    """Every check id of the suites (as `layercontract run` collects them), or None."""
    from layercontract.spec.harness import check_ids

    if "ids" not in _COLLECTED:
        result = processes.run(
            [
                sys.executable,
                "-m",
                "pytest",
                str(check_ids.SUITES_DIR),
                *check_ids.pytest_location_args(),
                "--collect-only",
                "-q",
                "--backend=reference",
                "-p",
                "no:cacheprovider",
            ],
            timeout=600,
        )
        ids = [line.strip() for line in result.stdout.splitlines() if line.startswith("suites/")]
        _COLLECTED["ids"] = ids if result.returncode == 0 and ids else None
    return _COLLECTED["ids"]


def diagnose(backend: str, expectations_path=None, report=None) -> tuple[object, Report]:
    report = report if report is not None else Report()
    try:
        spec, source = registry.spec_for(backend)
        adapter = registry.resolve(backend)
    except registry.BackendError as e:
        report.problem(str(e))
        return None, report
    report.ok(f"resolves to {spec} ({source})")
    problem = contract.contract_problem(adapter)
    if problem:
        report.problem(problem)
    else:
        report.ok(
            f"adapter contract version {contract.CONTRACT_VERSION}"
            + (" (declared by the adapter)" if "contract_version" in vars(type(adapter)) else "")
        )
    caps, methods_ok = check_attributes(adapter, report)
    load = getattr(adapter, "load", None)
    if callable(load):
        ok, K = _step(report, "load()", load)
        if ok:
            report.ok("load() returned the namespace")
            if check_namespace(K, caps, report) and methods_ok:
                check_smoke(adapter, K, caps, report)
                if not any(p.startswith("namespace:") for p in report.problems):
                    check_namespace_behaviour(adapter, K, caps, report, _step)
    versions = check_versions(adapter, report) if callable(getattr(adapter, "versions", None)) else None
    check_expectations(adapter, expectations_path, report, versions)
    return adapter, report


def run(args) -> int:
    if args.expectations is not None and not pathlib.Path(args.expectations).exists():
        print(f"layercontract doctor: expectations file {args.expectations} does not exist")
        return 1
    if "" not in sys.path and os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())  # as `python -m`: adapters in the working directory import
    if args.report_to:  # the child: every check as one JSON line, written as it is made
        with open(args.report_to, "a", encoding="utf-8", buffering=1) as f:

            def sink(ok, what):
                f.write(json.dumps([ok, what]) + "\n")

            diagnose(args.backend, args.expectations, Report(sink=sink))
            f.write(json.dumps(["done"]) + "\n")
        return 0
    name = args.backend if len(args.backend) <= 100 else registry.shown(args.backend)
    print(f"layercontract doctor: {name} (adapter contract version {contract.CONTRACT_VERSION})")
    report = diagnose_in_child(args)
    for ok, what in report.checks:
        print(f"  {'ok  ' if ok else 'FAIL'}  {what}")
    problems = report.problems
    if problems:
        print(f"doctor: {len(problems)} problem(s): {name} does not meet the adapter contract")
        return 1
    print(f"doctor: {name} meets the adapter contract")
    return 0


def diagnose_in_child(args) -> Report:
    """diagnose() in a child process, stopped after args.timeout seconds: an adapter that exits,
    crashes or hangs is a problem naming the step it was in."""
    report = Report()
    with tempfile.TemporaryDirectory(prefix="layercontract-doctor-") as tmp:
        lines = pathlib.Path(tmp) / "checks.jsonl"
        command = [
            sys.executable,
            "-m",
            "layercontract.spec.harness.cli",
            "doctor",
            "--backend",
            args.backend,
            "--report-to",
            str(lines),
        ]
        if args.expectations is not None:
            command += ["--expectations", str(pathlib.Path(args.expectations).resolve())]
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(p for p in (os.getcwd(), os.environ.get("PYTHONPATH", "")) if p),
        }
        proc = processes.spawn(command, env=env)  # its own group, dies with this process
        timed_out = False
        try:
            proc.wait(timeout=args.timeout or None)
        except subprocess.TimeoutExpired:
            timed_out = True
        except KeyboardInterrupt:
            os.killpg(proc.pid, signal.SIGKILL)
            raise
        finally:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        done = False
        text = lines.read_text(encoding="utf-8") if lines.exists() else ""
        for line in text.splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if entry == ["done"]:
                done = True
            else:
                (report.ok if entry[0] else report.problem)(entry[1])
    last = f"after: {report.checks[-1][1]}" if report.checks else "before its first check"
    if timed_out:
        report.problem(
            f"the adapter did not finish the checks within {args.timeout:g} s ({last}): a hang, "
            "perhaps in load(); raise --timeout if it is only slow"
        )
    elif not done:
        rc = proc.returncode
        how = f"was killed by {signal.Signals(-rc).name}" if rc < 0 else f"exited with status {rc}"
        report.problem(
            f"the adapter's process {how} during the checks ({last}): an adapter must never exit or crash the process"
        )
    return report
