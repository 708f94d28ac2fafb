"""Every rerun command a record gives reproduces its check's outcome from any directory; run-many
selects from any directory; hypothesis's files stay out of the working directory."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys

import pytest

from layercontract.reports import schema
from layercontract.spec.harness import selection
from tests._env import clean_env
from tests.harness.commands.bad_input import (
    ADAPTERS,
    FAULT,
    ONE,
    PARAMETRIZED,
    deviation,
    lc,
    output,
)


# ------------------------------------------------------------- reruns
def test_every_rerun_command_reproduces_its_outcome_from_any_directory(place, tmp_path):
    """A run with a fault and two expected deviations of one parametrized test: the rerun of one
    deviation alone (its module has the other entry), of a failure and of a pass, each from a
    directory that is not the checkout, give the recorded outcome."""
    exp = place / "two-params.toml"
    exp.write_text(deviation(f"{PARAMETRIZED}[max_ndim]") + deviation(f"{PARAMETRIZED}[min_ndim]"), encoding="utf-8")
    out = tmp_path / "out"
    result = lc(
        "run", "--out", out, "--", "suites/test_input.py", "--fault", FAULT, "--expectations", exp.name, cwd=place
    )
    assert result.returncode == 1, output(result)
    record = schema.load(out / "reference.json", schema.RUN_SCHEMA)
    chosen = {}
    for test in record["tests"]:
        chosen.setdefault(test["outcome"], test)
    assert {"expected-deviation", "fail", "pass"} <= set(chosen), chosen.keys()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    for outcome in ("expected-deviation", "fail", "pass"):
        test = chosen[outcome]
        again = elsewhere / f"{outcome}.json"
        argv = shlex.split(test["rerun"])
        assert argv[:3] == ["python", "-m", "pytest"]
        rerun = subprocess.run(
            [sys.executable, *argv[1:], "--record", str(again), "-p", "no:cacheprovider"],
            cwd=elsewhere,
            env=clean_env(),
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert rerun.returncode in (0, 1), output(rerun)
        rows = schema.load(again, schema.RUN_SCHEMA)["tests"]
        assert [(r["nodeid"], r["outcome"]) for r in rows] == [(test["nodeid"], outcome)], output(rerun)


def test_run_many_selects_node_ids_and_check_ids_from_any_directory(place, tmp_path):
    absolute = selection.selection_target(ONE)
    result = lc(
        "run-many",
        "reference",
        "--out",
        tmp_path,
        "-s",
        absolute,
        "-s",
        "suites/test_call.py::test_integer_input_is_not_cast_to_a_float_dtype",
        cwd=place,
    )
    assert result.returncode == 0, output(result)
    record = schema.load(tmp_path / "reference.json", schema.RUN_SCHEMA)
    assert sorted(t["nodeid"] for t in record["tests"]) == sorted(
        [ONE, "suites/test_call.py::test_integer_input_is_not_cast_to_a_float_dtype"]
    )


@pytest.mark.parametrize("chosen", [False, True], ids=["user-cache", "HYPOTHESIS_STORAGE_DIRECTORY"])
def test_hypothesis_files_go_to_a_cache_never_into_the_working_directory_or_out(place, tmp_path, chosen):
    """hypothesis's files (the literals of local modules, the dev profile's example database) are
    caches: in the user cache directory, or where HYPOTHESIS_STORAGE_DIRECTORY says."""
    work = tmp_path / "work"
    work.mkdir()
    shutil.copy(ADAPTERS, work / "bad_adapters.py")
    storage = tmp_path / "chosen" if chosen else tmp_path / "cache" / "layercontract" / "hypothesis"
    result = lc(
        "run",
        "--out",
        tmp_path / "out",
        "--",
        "suites/test_call.py::test_dense_computes_x_kernel_plus_bias_for_generated_shapes",
        "--hypothesis-profile",
        "dev",
        cwd=work,
        XDG_CACHE_HOME=str(tmp_path / "cache"),
        HYPOTHESIS_STORAGE_DIRECTORY=str(storage) if chosen else None,
    )
    assert result.returncode in (0, 1), output(result)
    assert not (work / ".hypothesis").exists()
    assert not (tmp_path / "out" / ".hypothesis").exists()
    assert (storage / "constants").is_dir(), sorted(tmp_path.rglob("*"))
