"""The tests a command line selects (`layercontract run -- ...`, `run-many -s`): paths, node ids,
check ids or --pyargs targets, from any directory, as one absolute pytest target each."""

from __future__ import annotations

import pathlib

from layercontract.spec.harness.check_ids import SUITES_DIR, check_id
from layercontract.spec.harness.clause_citations import cited_clauses


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
        raise SelectionError(
            f"{arg!r} is not in layercontract's suites ({SUITES_DIR}): give a suite file "
            "or node id, e.g. suites/test_build.py or suites/test_build.py::test_name"
        )
    if not path.exists():
        raise SelectionError(
            f"{arg!r}: no such suite file {path}; the suites are: "
            f"{', '.join(sorted(p.name for p in SUITES_DIR.glob('test_*.py')))}"
        )
    if sep:
        if path.is_dir() or path.suffix != ".py":
            raise SelectionError(f"{arg!r}: a node id needs a suite file before '::'")
        function = rest.split("[", 1)[0].split("::", 1)[0]
        known = {
            t.split("::", 1)[1] for tests in cited_clauses().values() for t in tests if t.split("::", 1)[0] == path.name
        }
        if function not in known:
            raise SelectionError(f"{arg!r}: {path.name} has no test {function!r}")
    return f"{path}{sep}{rest}"


def looks_like_selection(arg: str) -> bool:
    """True for a pytest argument that selects tests (a path or node id), not an option."""
    if arg.startswith("-"):
        return False
    return (
        "::" in arg
        or arg.endswith(".py")
        or arg.startswith("layercontract.suites")
        or arg.rstrip("/").endswith("suites")
        or pathlib.Path(arg).exists()
    )
