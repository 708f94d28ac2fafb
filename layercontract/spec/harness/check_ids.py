"""Check ids: a suite test's one name, "suites/<module>.py::<test>[params]", wherever pytest's
rootdir is (expectations entries, run records, journals and diffs use it), its `--pyargs`
spelling, and where the suites are (SUITES_DIR)."""

from __future__ import annotations

import importlib.resources
import pathlib

# The suites as a package resource: layercontract/suites/ of the checkout (editable install) or of
# site-packages. Check ids are relative to its parent ("suites/test_x.py::test"), wherever it is.
SUITES_DIR = pathlib.Path(str(importlib.resources.files("layercontract.suites"))).resolve()

# Suite files that were renamed: an expectations entry naming the old file is told the new one.
RENAMED_FILES = {
    "suites/test_tutorials.py": "suites/test_tutorial_models_batchnorm.py",
    "suites/test_train_tutorials.py": "suites/test_tutorial_models_dropout.py",
}


def in_suites(item) -> bool:
    """True for a collected test of layercontract's suites (not one of another test tree)."""
    return SUITES_DIR in pathlib.Path(str(item.path)).resolve().parents


def check_id(nodeid: str) -> str:
    """A suite test's id independent of where pytest's rootdir is: "suites/<module>::<test>".

    pytest names a test relative to its rootdir, which depends on how it was started (the
    checkout, an installed wheel, `--pyargs` from any directory); expectations entries, run
    records and diffs use this one spelling."""
    file, sep, rest = nodeid.partition("::")
    file = file.replace("\\", "/")
    cut = file.rfind("suites/")
    return f"suites/{file[cut + len('suites/') :] if cut >= 0 else file}{sep}{rest}"


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
