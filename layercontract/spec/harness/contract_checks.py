"""The adapter contract's static checks, shared by `layercontract doctor` and the pytest plugin
(which runs them before any test: a broken adapter is one error, never a run of failures).

    check_attributes(adapter, report)   name, edition, capabilities, methods
    check_namespace(namespace, caps, report)   what load() returned: the names the suites use

`report` collects (ok, text) pairs; `problems(...)` gives the failed ones only.
"""
from __future__ import annotations

import dataclasses
import pathlib

from layercontract.spec.harness import backend as contract


@dataclasses.dataclass
class Report:
    checks: list[tuple[bool, str]] = dataclasses.field(default_factory=list)
    sink: object = None  # called with (ok, what) as each check is made (doctor's child process)

    def ok(self, what):
        self._add(True, what)

    def problem(self, what):
        self._add(False, what)

    def _add(self, ok, what):
        self.checks.append((ok, what))
        if self.sink is not None:
            self.sink(ok, what)

    @property
    def problems(self) -> list[str]:
        return [what for ok, what in self.checks if not ok]


def describe(e: BaseException) -> str:
    """One line for an exception: its type and (shortened) message."""
    text = " ".join(str(e).split())
    return f"{type(e).__name__}: {text[:300]}" if text else type(e).__name__


def lookup(namespace, dotted):
    """namespace.<dotted>; AttributeError if missing (or if looking it up raises anything)."""
    obj = namespace
    for part in dotted.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise
        except Exception as e:  # a namespace whose attribute access itself fails
            raise AttributeError(f"{part}: {type(e).__name__}: {e}") from e
    return obj


def _get(adapter, name):
    try:
        return getattr(adapter, name, None)
    except Exception:  # a property that raises: treated as missing
        return None


def check_attributes(adapter, report):
    name = _get(adapter, "name")
    if isinstance(name, str) and name.strip():
        report.ok(f"name {name!r}")
    else:
        report.problem(f"name must be a non-empty str, got {name!r}")
    edition = _get(adapter, "edition")
    if edition in contract.EDITIONS:
        report.ok(f"edition {edition!r}")
    else:
        report.problem(f"edition must be one of {', '.join(contract.EDITIONS)}, got {edition!r}")
    expectations = _get(adapter, "expectations")
    if expectations is not None and not isinstance(expectations, (str, pathlib.PurePath)):
        report.problem(f"expectations must be a pathlib.Path or None, got {expectations!r}")
    caps = _get(adapter, "capabilities")
    if not isinstance(caps, (set, frozenset)) or not all(isinstance(c, str) for c in caps):
        report.problem(f"capabilities must be a frozenset of str, got {caps!r}")
        caps = set()
    unknown = sorted(set(caps) - set(contract.CAPABILITIES))
    if unknown:
        report.problem(f"unknown capabilities {', '.join(map(repr, unknown))}; "
                       f"known: {', '.join(contract.CAPABILITIES)}")
    report.ok(f"capabilities: {', '.join(sorted(set(caps) & set(contract.CAPABILITIES))) or 'none'}")
    missing = [m for m in contract.METHODS if m not in contract.OPTIONAL_METHODS and not callable(_get(adapter, m))]
    if missing:
        report.problem(f"methods missing or not callable: {', '.join(missing)}")
    else:
        report.ok("methods load, to_numpy, is_symbolic, set_seed, versions")
    not_callable = [m for m in contract.OPTIONAL_METHODS
                    if _get(adapter, m) is not None and not callable(_get(adapter, m))]
    if not_callable:
        report.problem(f"optional methods present but not callable: {', '.join(not_callable)}")
    if "compiled" in caps and not contract.provides_compiled_call(adapter):
        report.problem("capability 'compiled' is declared but the adapter has no compiled_call "
                       "(declare it only with a compiled_call method)")
    return set(caps) & set(contract.CAPABILITIES), not missing


def check_namespace(namespace, caps, report) -> bool:
    """The names the suites use, and their kinds. True when the smoke case can run."""
    if namespace is None:
        report.problem("load() returned None: it must return the Keras-shaped namespace "
                       "(a module or an object with the names the suites use)")
        return False
    missing, wrong = [], []
    for dotted in contract.NAMESPACE:
        try:
            obj = lookup(namespace, dotted)
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
                    lookup(namespace, dotted)
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




def attribute_problems(adapter) -> list[str]:
    report = Report()
    check_attributes(adapter, report)
    return report.problems


def namespace_problems(namespace, caps) -> list[str]:
    report = Report()
    check_namespace(namespace, caps, report)
    return report.problems
