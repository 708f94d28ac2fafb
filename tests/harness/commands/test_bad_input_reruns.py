"""Every rerun command a record gives reproduces its check's outcome from any directory; run-many
selects from any directory; hypothesis's files stay out of the working directory."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys

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


def test_hypothesis_files_go_under_out_never_into_the_working_directory(place, tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    shutil.copy(ADAPTERS, work / "bad_adapters.py")
    result = lc(
        "run",
        "--out",
        tmp_path / "out",
        "--",
        "suites/test_call.py::test_dense_computes_x_kernel_plus_bias_for_generated_shapes",
        "--hypothesis-profile",
        "dev",
        cwd=work,
    )
    assert result.returncode in (0, 1), output(result)
    assert not (work / ".hypothesis").exists()
    assert (tmp_path / "out" / ".hypothesis").is_dir()  # the dev profile's example database
