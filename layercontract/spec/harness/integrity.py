"""Spec integrity: every clause has a check; every check cites existing clauses.

Citations are read statically (AST) from suites/*.py so the check is complete whatever
subset of tests a run selects.
"""
from __future__ import annotations

import ast
import functools
import importlib.resources
import pathlib

# The suites as a package resource: layercontract/suites/ of the checkout (editable install) or of
# site-packages. Check ids are relative to its parent ("suites/test_x.py::test"), wherever it is.
SUITES_DIR = pathlib.Path(str(importlib.resources.files("layercontract.suites"))).resolve()


def cited_clauses(suites_dir: pathlib.Path = SUITES_DIR) -> dict[str, list[str]]:
    """clause id -> ["file::function", ...] for every `@clause(...)` decorator in the suites."""
    citations: dict[str, list[str]] = {}
    for path in sorted(suites_dir.glob("test_*.py")):
        stat = path.stat()
        for cid, test in _file_citations(str(path), stat.st_mtime_ns, stat.st_size):
            citations.setdefault(cid, []).append(test)
    return citations


@functools.cache
def _file_citations(path: str, _mtime_ns: int, _size: int) -> tuple[tuple[str, str], ...]:
    """(clause id, "file::function") pairs of one suite file, in source order. Cached per file
    version: every pytest process of a run asks several times (plugin, record, selection), and
    parsing the suites was a third of a small run's start-up."""
    name = pathlib.Path(path).name
    found = []

    def visit(body):
        # pytest collects tests from module level and from classes, so only those are looked at
        for node in body:
            if isinstance(node, ast.ClassDef):
                visit(node.body)
            if not isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                continue
            for deco in node.decorator_list:
                if isinstance(deco, ast.Call) and getattr(deco.func, "id", getattr(deco.func, "attr", None)) == "clause":
                    found.extend((arg.value, f"{name}::{node.name}") for arg in deco.args
                                 if isinstance(arg, ast.Constant) and isinstance(arg.value, str))

    visit(ast.parse(pathlib.Path(path).read_text(encoding="utf-8"), path).body)
    return tuple(found)


def problems(clauses, suites_dir: pathlib.Path = SUITES_DIR) -> list[str]:
    citations = cited_clauses(suites_dir)
    found = []
    for cid in sorted(set(clauses) - set(citations)):
        found.append(f"clause {cid} has no test")
    for cid in sorted(set(citations) - set(clauses)):
        found.append(f"unknown clause {cid} cited by {', '.join(citations[cid])}")
    return found


def check_id(nodeid: str) -> str:
    """A suite test's id independent of where pytest's rootdir is: "suites/<module>::<test>".

    pytest names a test relative to its rootdir, which depends on how it was started (the
    checkout, an installed wheel, `--pyargs` from any directory); expectations entries, run
    records and diffs use this one spelling."""
    file, sep, rest = nodeid.partition("::")
    file = file.replace("\\", "/")
    cut = file.rfind("suites/")
    return f"suites/{file[cut + len('suites/'):] if cut >= 0 else file}{sep}{rest}"


def item_check_id(item) -> str:
    """The check id of a collected test, from its file: pytest names a module given by
    `--pyargs layercontract.suites.test_x` "::test" (no file part), so the node id alone is
    not enough."""
    try:
        rel = pathlib.Path(str(item.path)).resolve().relative_to(SUITES_DIR)
    except ValueError:
        return check_id(item.nodeid)
    _file, sep, rest = item.nodeid.partition("::")
    return f"suites/{rel.as_posix()}{sep}{rest}"


def report_check_id(report) -> str:
    """The check id of a test report (the plugin stores it as the item's user property "check")."""
    return dict(getattr(report, "user_properties", ()) or ()).get("check") or check_id(report.nodeid)


def pyargs_target(check: str) -> str:
    """The `--pyargs` spelling of a check id, which pytest resolves from any directory:
    "suites/test_build.py::test_x[a]" -> "layercontract.suites.test_build::test_x[a]"."""
    file, sep, rest = check_id(check).partition("::")
    module = file.removesuffix(".py").replace("/", ".")
    return f"layercontract.{module}{sep}{rest}"


def pytest_location_args() -> list[str]:
    """Arguments that make any pytest run of the suites name its tests "suites/...", and read
    only the suites' own ini file (never a pytest config of the directory it starts from)."""
    return ["-c", str(SUITES_DIR / "pytest-settings.ini"), f"--rootdir={SUITES_DIR.parent}"]


class SelectionError(ValueError):
    """A test selection that names no suite file or test."""


def selection_target(arg: str, cwd: pathlib.Path | None = None) -> str:
    """A test selection given to `layercontract run -- ...` or `run-many -s`, as pytest takes it
    from any directory: an absolute path + "::test[param]".

    Accepted as pytest accepts them: a path or node id relative to the working directory or
    absolute ("suites/test_x.py", "/abs/suites/test_x.py::test[p]"), a check id as records and
    expectations files spell it ("suites/test_x.py::test[p]", resolved in the installed suites
    when the working directory has no such file), a --pyargs target
    ("layercontract.suites.test_x::test[p]"), or the suites' folder itself. SelectionError for
    anything outside the suites, a file that does not exist or a test the file does not have."""
    cwd = pathlib.Path(cwd or pathlib.Path.cwd())
    file, sep, rest = arg.partition("::")
    if file.startswith("layercontract.suites"):
        module = file.removeprefix("layercontract.suites").lstrip(".")
        path = SUITES_DIR / (module.replace(".", "/") + ".py") if module else SUITES_DIR
    else:
        path = pathlib.Path(file)
        path = path if path.is_absolute() else cwd / path
        if not path.exists() and check_id(file) == file.replace("\\", "/"):
            path = SUITES_DIR / file.replace("\\", "/").removeprefix("suites/")
    try:
        path = path.resolve()
    except OSError:
        pass
    if path != SUITES_DIR and SUITES_DIR not in path.parents:
        raise SelectionError(f"{arg!r} is not in layercontract's suites ({SUITES_DIR}): give a suite file "
                             "or node id, e.g. suites/test_build.py or suites/test_build.py::test_name")
    if not path.exists():
        raise SelectionError(f"{arg!r}: no such suite file {path}; the suites are: "
                             f"{', '.join(sorted(p.name for p in SUITES_DIR.glob('test_*.py')))}")
    if sep:
        if path.is_dir() or path.suffix != ".py":
            raise SelectionError(f"{arg!r}: a node id needs a suite file before '::'")
        function = rest.split("[", 1)[0].split("::", 1)[0]
        known = {t.split("::", 1)[1] for tests in cited_clauses().values() for t in tests
                 if t.split("::", 1)[0] == path.name}
        if function not in known:
            raise SelectionError(f"{arg!r}: {path.name} has no test {function!r}")
    return f"{path}{sep}{rest}"


def looks_like_selection(arg: str) -> bool:
    """True for a pytest argument that selects tests (a path or node id), not an option."""
    if arg.startswith("-"):
        return False
    return ("::" in arg or arg.endswith(".py") or arg.startswith("layercontract.suites")
            or arg.rstrip("/").endswith("suites") or pathlib.Path(arg).exists())
