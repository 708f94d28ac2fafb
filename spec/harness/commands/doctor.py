"""layercontract doctor: check an adapter against the contract (spec/harness/backend.py) in
seconds, before any test runs. Every problem is reported, not only the first: the attributes,
the methods, the namespace names the suites use and their kinds, the declared capabilities,
a tiny smoke case (a Dense layer: to_numpy, is_symbolic, set_seed, compiled_call) and the
expectations file. Exit status 0 when the adapter is ready, 1 when it has a problem."""
from __future__ import annotations

import contextlib
import dataclasses
import os
import pathlib
import signal
import sys
import threading

import numpy as np

from layercontract.spec.harness import backend as contract
from layercontract.spec.harness import registry

HELP = "check a backend adapter against the adapter contract before running tests"
STEP_TIMEOUT_S = 120  # per step (load, each smoke case): a hanging adapter is a problem too


def add_arguments(parser):
    parser.add_argument("--backend", default="reference",
                        help="backend name or package.module:AdapterClass (default: reference)")
    parser.add_argument("--expectations", default=None, metavar="PATH",
                        help="check this expectations file instead of the adapter's own")


@dataclasses.dataclass
class Report:
    checks: list[tuple[bool, str]] = dataclasses.field(default_factory=list)

    def ok(self, what):
        self.checks.append((True, what))

    def problem(self, what):
        self.checks.append((False, what))

    @property
    def problems(self) -> list[str]:
        return [what for ok, what in self.checks if not ok]


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


def _lookup(namespace, dotted):
    obj = namespace
    for part in dotted.split("."):
        obj = getattr(obj, part)
    return obj


def _step(report, what, func):
    """Run one smoke step; a raised exception or a hang becomes a problem. Returns (ok, value)."""
    try:
        with _time_limit(STEP_TIMEOUT_S):
            return True, func()
    except Exception as e:  # the adapter's own failure, whatever its type
        report.problem(f"{what} raised {_error(e)}")
        return False, None


def check_attributes(adapter, report):
    name = getattr(adapter, "name", None)
    if isinstance(name, str) and name.strip():
        report.ok(f"name {name!r}")
    else:
        report.problem(f"name must be a non-empty str, got {name!r}")
    edition = getattr(adapter, "edition", None)
    if edition in contract.EDITIONS:
        report.ok(f"edition {edition!r}")
    else:
        report.problem(f"edition must be one of {', '.join(contract.EDITIONS)}, got {edition!r}")
    caps = getattr(adapter, "capabilities", None)
    if not isinstance(caps, (set, frozenset)) or not all(isinstance(c, str) for c in caps):
        report.problem(f"capabilities must be a frozenset of str, got {caps!r}")
        caps = set()
    unknown = sorted(set(caps) - set(contract.CAPABILITIES))
    if unknown:
        report.problem(f"unknown capabilities {', '.join(map(repr, unknown))}; "
                       f"known: {', '.join(contract.CAPABILITIES)}")
    report.ok(f"capabilities: {', '.join(sorted(set(caps) & set(contract.CAPABILITIES))) or 'none'}")
    missing = [m for m in contract.METHODS if m != "compiled_call" and not callable(getattr(adapter, m, None))]
    if missing:
        report.problem(f"methods missing or not callable: {', '.join(missing)}")
    else:
        report.ok("methods load, to_numpy, is_symbolic, set_seed, versions")
    if "compiled" in caps and not contract.provides_compiled_call(adapter):
        report.problem("capability 'compiled' is declared but the adapter has no compiled_call "
                       "(declare it only with a compiled_call method)")
    return set(caps) & set(contract.CAPABILITIES), not missing


def check_namespace(namespace, caps, report) -> bool:
    """The names the suites use, and their kinds. True when the smoke case can run."""
    missing, wrong = [], []
    for dotted in contract.NAMESPACE:
        try:
            obj = _lookup(namespace, dotted)
        except AttributeError:
            missing.append(f"K.{dotted}")
            continue
        if dotted in contract.CLASSES and not isinstance(obj, type):
            wrong.append(f"K.{dotted} must be a class, got {type(obj).__name__}")
        elif dotted not in contract.CLASSES and not callable(obj):
            wrong.append(f"K.{dotted} must be callable, got {type(obj).__name__}")
    for cap in sorted(caps):
        for need in contract.CAPABILITY_NEEDS[cap]:
            if need.startswith("namespace:"):
                dotted = need.removeprefix("namespace:")
                try:
                    _lookup(namespace, dotted)
                except AttributeError:
                    wrong.append(f"capability {cap!r} needs K.{dotted}, which is missing")
    if missing:
        report.problem(f"namespace: missing {', '.join(missing)}")
    for w in wrong:
        report.problem(f"namespace: {w}")
    if not missing and not wrong:
        report.ok(f"namespace: all {len(contract.NAMESPACE)} names the suites use, of the right kinds")
    smoke_needs = ("layers.Dense", "layers.Dropout", "Input")
    return all(f"K.{n}" not in missing for n in smoke_needs)


def check_smoke(adapter, K, caps, report):
    """A tiny Dense layer through to_numpy, is_symbolic, set_seed and compiled_call."""
    x = np.ones((2, 3), dtype="float32")
    ok, layer = _step(report, "smoke case: K.layers.Dense(2)", lambda: K.layers.Dense(2))
    ok, y = _step(report, "smoke case: calling K.layers.Dense(2) on a (2, 3) float32 array",
                  lambda: layer(x)) if ok else (False, None)
    if ok:
        ok_np, arr = _step(report, "to_numpy(Dense output)", lambda: adapter.to_numpy(y))
        if ok_np:
            if isinstance(arr, np.ndarray) and arr.shape == (2, 2):
                report.ok("to_numpy(Dense output) is a (2, 2) numpy.ndarray")
            else:
                report.problem(f"to_numpy(Dense output) must be a numpy.ndarray of shape (2, 2), got "
                               f"{type(arr).__name__} {getattr(arr, 'shape', '')}")
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
        ok, z = _step(report, "symbolic smoke case: K.layers.Dense(2)(K.Input(shape=(3,)))",
                      lambda: K.layers.Dense(2)(K.Input(shape=(3,))))
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
    if "compiled" in caps and contract.provides_compiled_call(adapter):
        ok, out = _step(report, "compiled_call(K.layers.Dense(2), x, training=None)",
                        lambda: adapter.compiled_call(K.layers.Dense(2), x, training=None))
        if ok and not (isinstance(out, np.ndarray) and out.shape == (2, 2)):
            report.problem(f"compiled_call must return a numpy.ndarray of shape (2, 2), got "
                           f"{type(out).__name__} {getattr(out, 'shape', '')}")
        elif ok:
            report.ok("compiled_call returns a (2, 2) numpy.ndarray")


def check_versions(adapter, report):
    ok, versions = _step(report, "versions()", adapter.versions)
    if not ok:
        return
    if isinstance(versions, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in versions.items()):
        report.ok("versions: " + (", ".join(f"{k} {v}" for k, v in sorted(versions.items())) or "none"))
    else:
        report.problem(f"versions() must return a dict of str to str, got {versions!r}")


def check_expectations(adapter, override, report):
    from layercontract.spec import clauses as spec_clauses
    from layercontract.spec.harness import expectations, integrity

    path = override if override is not None else getattr(adapter, "expectations", None)
    if path is None:
        report.ok("expectations: none declared (any deviation fails the run)")
        return
    if not isinstance(path, (str, pathlib.PurePath)):
        report.problem(f"expectations must be a pathlib.Path or None, got {type(path).__name__}")
        return
    path = pathlib.Path(path)
    if not path.is_file():
        report.problem(f"expectations file {path} does not exist")
        return
    try:
        deviations = expectations.load(path, spec_clauses.load())
    except expectations.ExpectationsError as e:
        for line in str(e).splitlines():
            report.problem(f"expectations: {line}")
        return
    except Exception as e:  # a broken spec/clauses.toml, an unreadable file
        report.problem(f"expectations file {path} could not be checked: {_error(e)}")
        return
    tests = {f"suites/{t}" for ts in integrity.cited_clauses().values() for t in ts}
    unmatched = [d.test for d in deviations if d.test.split("[", 1)[0] not in tests]
    for test in unmatched:
        report.problem(f"expectations: entry for {test!r} matches no test of the suites")
    if not unmatched:
        report.ok(f"expectations file {path}: {len(deviations)} deviation(s), valid")


def diagnose(backend: str, expectations_path=None) -> tuple[object, Report]:
    report = Report()
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
        report.ok(f"adapter contract version {contract.CONTRACT_VERSION}"
                  + (" (declared by the adapter)" if "contract_version" in vars(type(adapter)) else ""))
    caps, methods_ok = check_attributes(adapter, report)
    load = getattr(adapter, "load", None)
    if callable(load):
        ok, K = _step(report, "load()", load)
        if ok:
            report.ok("load() returned the namespace")
            if check_namespace(K, caps, report) and methods_ok:
                check_smoke(adapter, K, caps, report)
    if callable(getattr(adapter, "versions", None)):
        check_versions(adapter, report)
    check_expectations(adapter, expectations_path, report)
    return adapter, report


def run(args) -> int:
    if args.expectations is not None and not pathlib.Path(args.expectations).is_file():
        print(f"layercontract doctor: expectations file {args.expectations} does not exist")
        return 1
    if "" not in sys.path and os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())  # as `python -m`: adapters in the working directory import
    print(f"layercontract doctor: {args.backend} (adapter contract version {contract.CONTRACT_VERSION})")
    _adapter, report = diagnose(args.backend, args.expectations)
    for ok, what in report.checks:
        print(f"  {'ok  ' if ok else 'FAIL'}  {what}")
    problems = report.problems
    if problems:
        print(f"doctor: {len(problems)} problem(s): {args.backend} does not meet the adapter contract")
        return 1
    print(f"doctor: {args.backend} meets the adapter contract")
    return 0
