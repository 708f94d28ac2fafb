"""Run records, the merged report and the diff (reports/, `layercontract merge` / `diff`).

A few real runs of the reference backend in subprocesses (one full `layercontract run` on
one suite file, a run stopped by -x, one interrupted by SIGINT, one killed by SIGKILL); the
merge and diff checks then work in-process on copies of those records, altered as needed.
"""

import copy
import json
import os
import pathlib
import re
import shlex
import signal
import subprocess
import sys
import time
import types

import pytest

from layercontract.reports import diff as diff_mod
from layercontract.reports import records, render, schema
from layercontract.spec.harness import adapter_contract as contract
from layercontract.spec.harness import check_ids, cli, outcomes, registry
from layercontract.spec.harness import recorder as record_mod
from tests import forked

ROOT = pathlib.Path(__file__).resolve().parents[2]
BUILD_SUITE = "suites/test_build.py"  # its check ids
BUILD_SUITE_FILE = "layercontract/suites/test_build.py"  # as pytest takes it in the checkout
BUILT_FLAG_TEST = "suites/test_build.py::test_built_is_true_after_first_call"


def env():
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in ("LAYERCONTRACT_BACKEND", "PYTEST_ADDOPTS", "PYTEST_PLUGINS", "HYPOTHESIS_PROFILE")
    }
    clean["PYTHONDONTWRITEBYTECODE"] = "1"
    return clean


def run(*args, timeout=120):
    if args[:2] == ("-m", "pytest"):
        return forked.pytest(*args[2:], cwd=ROOT, env=env(), timeout=timeout)
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=env(), capture_output=True, text=True, timeout=timeout)


def pytest_cmd(*args):
    return ["-m", "pytest", "-p", "no:cacheprovider", "-p", "no:xdist", *args]


def load(path) -> dict:
    return json.loads(pathlib.Path(path).read_text(encoding="utf-8"))


def assert_valid_record(data):
    assert schema.errors(data, schema.json_schema(schema.RUN_SCHEMA)) == []


def write(path, data) -> pathlib.Path:
    path = pathlib.Path(path)
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


# ------------------------------------------------------------------ real runs
@pytest.fixture(scope="module")
def full_run(tmp_path_factory):
    """`layercontract run` (the README's main command) on one suite file: record + report."""
    out = tmp_path_factory.mktemp("run")
    result = run(
        "-m",
        "layercontract.spec.harness.cli",
        "run",
        "--backend",
        "reference",
        "--out",
        str(out),
        "--",
        "-p",
        "no:cacheprovider",
        "-k",
        "test_build.py",
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return out, result


@pytest.fixture(scope="module")
def real_record(full_run) -> dict:
    return load(full_run[0] / "reference.json")


@pytest.fixture(scope="module")
def stopped_run(tmp_path_factory):
    """-x on a selection whose first failure (a stale expectations entry) stops the run."""
    tmp = tmp_path_factory.mktemp("stopped")
    expectations = tmp / "exp.toml"
    expectations.write_text(
        f'[[deviation]]\ntest = "{BUILT_FLAG_TEST}"\nclause = "BUILD.BUILT_FLAG"\nkind = "upstream-bug"\n'
        'observed = "built stays False"\nreason = "stale on purpose"\n',
        encoding="utf-8",
    )
    path = tmp / "stopped.json"
    result = run(
        *pytest_cmd(
            BUILD_SUITE_FILE,
            "-x",
            "--expectations",
            str(expectations),
            "--record",
            str(path),
            "--hypothesis-profile=dev",
        )
    )
    assert result.returncode == 1, result.stdout[-3000:]
    return load(path), expectations


def test_run_command_writes_record_html_and_markdown_and_says_where(full_run, real_record):
    out, result = full_run
    for name in ("reference.json", "reference.html", "reference.md"):
        assert (out / name).is_file()
        assert str(out / name) in result.stdout
    assert "<table" in (out / "reference.html").read_text(encoding="utf-8")
    assert re.search(  # the version of the key distribution, named
        r"\| \*\*reference\*\* \| reference\\_impl [\w.]+ \| complete \|",
        (out / "reference.md").read_text(encoding="utf-8"),
    )
    assert not (out / "matrix.json").exists()
    assert not list(out.glob(".*.tmp"))


def test_record_of_a_real_run_matches_the_schema(real_record):
    r = real_record
    assert_valid_record(r)
    assert schema.load  # the same validation merge and diff apply
    assert r["schema"] == "layercontract-run/4" and r["status"] == "complete" and r["complete"] is True
    assert r["key_distribution"] == "reference_impl"  # the reference adapter declares none: the default rule
    assert r["contract_version"] == contract.CONTRACT_VERSION and r["requested_backend"] == "reference"
    assert r["stop_reason"] is None and r["exit_status"] == 0 and r["finished"] and r["duration_s"] > 0
    assert r["backend"] == "reference" and r["edition"] == "keras3"
    assert {"reference_impl", "numpy"} <= set(r["versions"])
    assert r["harness"]["pytest"] == pytest.__version__
    assert re.fullmatch(r"[0-9a-f]{40}|unknown", r["git_commit"])
    assert r["hypothesis"] == {"profile": "ci", "seed": None, "derandomize": True, "max_examples": 25}
    assert r["tests"] and r["selected"] == len(r["tests"]) == sum(r["counts"].values())
    assert {t["nodeid"].split("::")[0] for t in r["tests"]} == {BUILD_SUITE}
    assert {t["outcome"] for t in r["tests"]} == {"pass", "not-applicable"}
    for t in r["tests"]:
        assert t["clauses"] and t["reason"] is None and t["deviation"] is None and t["falsifying_example"] is None
        assert t["first_line"] == ("" if t["outcome"] == "pass" else t["message"].splitlines()[0])
        assert t["rerun"] == (
            f"python -m pytest --pyargs {shlex.quote(check_ids.pyargs_target(t['nodeid']))} --backend reference"
        )
    na = [t for t in r["tests"] if t["outcome"] == "not-applicable"]
    assert na and all("not applicable" in t["message"] for t in na)
    cited = {cid for t in r["tests"] for cid in t["clauses"]}
    assert set(r["clauses"]) == cited
    assert all(row["tests"] >= 1 for row in r["clauses"].values())


def test_run_stopped_by_maxfail_is_a_valid_incomplete_record(stopped_run):
    r, expectations = stopped_run
    assert_valid_record(r)
    assert r["status"] == "interrupted" and r["complete"] is False
    assert r["stop_reason"] == "stopping after 1 failures"
    outcomes = {t["nodeid"]: t for t in r["tests"]}
    stale = outcomes[BUILT_FLAG_TEST]
    assert stale["outcome"] == "unexpected-pass"
    assert "stale on purpose" in stale["reason"] and "XPASS(strict)" in stale["message"]
    assert stale["deviation"] == {
        "kind": "upstream-bug",
        "observed": "built stays False",
        "reason": "stale on purpose",
        "upstream": "",
        "upstream_url": None,
        "when": [],
        "file": str(expectations),
        "entry": 1,
        "test": BUILT_FLAG_TEST,
        "match": "",
        "finding": "",
    }
    assert stale["first_line"].startswith("[XPASS(strict)]")
    not_run = [t for t in r["tests"] if t["outcome"] == "not-run"]
    assert not_run and r["counts"]["not-run"] == len(not_run)
    assert all(t["message"] == "" and t["duration_s"] == 0 for t in not_run)
    # a randomized profile gets a recorded seed, and each rerun command reproduces the run
    assert r["hypothesis"]["profile"] == "dev" and r["hypothesis"]["derandomize"] is False
    seed = r["hypothesis"]["seed"]
    assert seed and seed.isdigit()
    assert stale["rerun"] == (
        f"python -m pytest --pyargs {check_ids.pyargs_target(BUILT_FLAG_TEST)} --backend reference --expectations "
        f"{shlex.quote(str(expectations))} --hypothesis-profile dev --hypothesis-seed {seed}"
    )


def test_rerun_by_pyargs_from_any_directory_applies_the_expectations(tmp_path):
    """`python -m pytest --pyargs layercontract.suites.test_x::test` (every record's rerun command)
    names the module's tests "::test" from outside the checkout; expectations must still match."""
    expectations = tmp_path / "exp.toml"
    expectations.write_text(
        f'[[deviation]]\ntest = "{BUILT_FLAG_TEST}"\nclause = "BUILD.BUILT_FLAG"\nkind = "limitation"\n'
        'observed = "o"\nreason = "stale on purpose"\nupstream = "keras-team/keras#1"\n',
        encoding="utf-8",
    )
    record = tmp_path / "r.json"
    target = check_ids.pyargs_target(BUILT_FLAG_TEST)
    result = subprocess.run(
        [
            sys.executable,
            *pytest_cmd(
                "--pyargs",
                target,
                "--backend",
                "reference",
                "--expectations",
                str(expectations),
                "--record",
                str(record),
            ),
        ],
        cwd=tmp_path,
        env=env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1, result.stdout[-2000:]
    (row,) = load(record)["tests"]
    assert row["nodeid"] == BUILT_FLAG_TEST and row["outcome"] == "unexpected-pass"
    assert row["deviation"]["upstream_url"] == "https://github.com/keras-team/keras/issues/1"


def _start_suites_run(path):
    return subprocess.Popen(
        [sys.executable, *pytest_cmd("layercontract/suites", "-q", "--record", str(path), "--record-every", "0")],
        cwd=ROOT,
        env=env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _wait_for_finished_tests(proc, path, at_least=3, timeout=60) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists():
            data = load(path)  # the record is replaced atomically: always whole
            if sum(t["outcome"] != "not-run" for t in data["tests"]) >= at_least:
                return data
        assert proc.poll() is None, f"the run ended before it could be stopped:\n{proc.stdout.read()[-2000:]}"
        time.sleep(0.002)
    proc.kill()
    raise AssertionError("the record never showed finished tests")


def test_interrupted_run_leaves_a_valid_incomplete_record(tmp_path):
    path = tmp_path / "interrupted.json"
    proc = _start_suites_run(path)
    _wait_for_finished_tests(proc, path)
    proc.send_signal(signal.SIGINT)
    output, _ = proc.communicate(timeout=60)
    assert proc.returncode == 2, output[-2000:]  # pytest: interrupted
    r = load(path)
    assert_valid_record(r)
    assert r["status"] == "interrupted" and r["complete"] is False and r["exit_status"] == 2
    assert r["stop_reason"] == "interrupted: KeyboardInterrupt" and r["finished"]
    assert r["counts"].get("pass", 0) >= 3 and r["counts"]["not-run"] > 0
    assert schema.load(path, schema.RUN_SCHEMA)


def test_hard_killed_run_leaves_a_valid_record_marked_running(tmp_path):
    path = tmp_path / "killed.json"
    proc = _start_suites_run(path)
    seen = _wait_for_finished_tests(proc, path)
    assert seen["status"] == "running"
    proc.kill()  # SIGKILL: no clean-up of any kind
    proc.communicate(timeout=30)
    r = schema.load(path, schema.RUN_SCHEMA)  # valid JSON, valid record
    assert r["status"] == "running" and r["complete"] is False
    assert r["finished"] is None and r["exit_status"] is None and "killed" in r["stop_reason"]
    assert r["counts"].get("pass", 0) >= 3 and r["counts"]["not-run"] > 0
    # the merged report shows the run as incomplete
    matrix = _merge([path], tmp_path / "out")
    assert any("reference: the run is running" in w for w in matrix["warnings"])


# ---------------------------------------------------------------- record parts
def test_falsifying_example_is_taken_from_sections_or_the_traceback():
    longrepr = (
        "x = 10\n\n>       assert x < 10\nE       assert 10 < 10\nE       Failing test case: test_fails(\n"
        "E           x=10,\nE       )\nE       \nE       You can reproduce this test case by temporarily "
        "adding @reproduce_failure('6.170.15', b'AEEK') as a decorator on your test function\n"
    )
    assert records.falsifying_example(longrepr) == (
        "Failing test case: test_fails(\n    x=10,\n)\n@reproduce_failure('6.170.15', b'AEEK')"
    )
    section = "Falsifying example: test_x(\n    a=1,\n    b=[0.5],\n)\n\nmore"
    assert records.falsifying_example(section, "") == "Falsifying example: test_x(\n    a=1,\n    b=[0.5],\n)"
    assert records.falsifying_example("AssertionError: no hypothesis here") is None
    nested = (
        "E           ValueError: bad shape\nE           Falsifying example: test_d(\nE               case=(1,\n"
        "E                2),\nE           )\nE           Explanation:\nE               line 28\n"
    )
    assert records.falsifying_example(nested) == "Falsifying example: test_d(\n    case=(1,\n     2),\n)"
    group = (
        "    | AssertionError: differs\n    | Failing test case: test_d(\n    |     case=3,\n    | )\n"
        "    | Explanation:\n    | You can reproduce this test case by temporarily adding "
        "@reproduce_failure('6.1', b'AA==') as a decorator\n"
    )  # hypothesis found several failures
    assert (
        records.falsifying_example(group)
        == "Failing test case: test_d(\n    case=3,\n)\n@reproduce_failure('6.1', b'AA==')"
    )


def test_record_of_a_hypothesis_failure_has_its_falsifying_example(tmp_path):
    from layercontract.reference_impl import faults

    fault = "dense_kernel_transposed"  # Dense builds its kernel (units, in): the generated case fails
    if fault not in faults.FAULTS:
        pytest.skip(f"reference_impl/faults/ has no fault {fault!r} any more")
    test = "suites/test_call.py::test_dense_computes_x_kernel_plus_bias_for_generated_shapes"
    path = tmp_path / "fault.json"
    result = run(*pytest_cmd(f"layercontract/{test}", "--fault", fault, "--record", str(path)))
    assert result.returncode == 1, result.stdout[-3000:]
    (row,) = load(path)["tests"]
    assert row["outcome"] == "fail"
    example = row["falsifying_example"]
    assert re.match(
        r"(Falsifying example|Failing test case): test_dense_computes_x_kernel_plus_bias_for_generated_shapes\(",
        example,
    ), example
    assert "case=" in example and "@reproduce_failure(" in example
    assert row["rerun"] == (
        f"python -m pytest --pyargs {check_ids.pyargs_target(test)} --backend reference --fault {fault}"
    )


def test_messages_are_ansi_stripped_and_long_ones_keep_head_and_tail():
    assert records.clean_message("\x1b[31mE   boom\x1b[0m") == "E   boom"
    long = "HEAD" + "x" * 10_000 + "TAIL"
    cleaned = records.clean_message(long)
    assert cleaned.startswith("HEAD") and cleaned.endswith("TAIL") and len(cleaned) < 4100
    assert "characters cut" in cleaned


def test_the_test_a_crashed_xdist_worker_was_running_is_a_crash(tmp_path):
    config = types.SimpleNamespace(stash=pytest.Stash(), getoption=lambda name, default=None: default)
    recorder = record_mod.Recorder(config, tmp_path / "r.json")
    nodeid = "suites/test_build.py::test_built_is_true_after_first_call"
    report = types.SimpleNamespace(  # what pytest-xdist reports when the worker dies
        nodeid=nodeid,
        when="???",
        outcome="failed",
        failed=True,
        passed=False,
        skipped=False,
        duration=0.0,
        longrepr=f"worker 'gw0' crashed while running {nodeid!r}",
        sections=[],
        user_properties=[],
    )
    recorder.on_report(report)
    row = recorder.rows[nodeid]
    assert row["outcome"] == "crash" and "crashed while running" in row["message"]
    assert row["clauses"] == ["BUILD.BUILT_FLAG"]  # read from the suite's source


def test_not_run_ranks_between_deviation_and_pass_for_clauses():
    assert outcomes.clause_outcome(["pass", "not-run"]) == "not-run"
    assert outcomes.clause_outcome(["fail", "not-run"]) == "fail"
    assert outcomes.clause_outcome(["crash", "pass"]) == "crash"


def test_one_outcome_table_for_both_schemas_schema_md_render_and_diff():
    """spec/harness/outcomes.py's OUTCOMES is the only list of outcomes: the JSON schemas' enums
    (in severity order), SCHEMA.md's table, render's styles and diff's ranks come from it."""
    for schema_id in (schema.RUN_SCHEMA, schema.MATRIX_SCHEMA):
        assert tuple(schema.json_schema(schema_id)["$defs"]["outcome"]["enum"]) == outcomes.NAMES, schema_id
    doc = (ROOT / "layercontract/reports/SCHEMA.md").read_text(encoding="utf-8")
    assert outcomes.schema_markdown_table() in doc, (
        "reports/SCHEMA.md's outcome table differs from spec/harness/outcomes.py; paste the output of "
        "`python -m layercontract.spec.harness.outcomes`"
    )
    assert render.LOOKS == outcomes.BY_NAME and tuple(render.BAR_ORDER) == outcomes.BAR_ORDER
    assert set(render.DESCRIPTION) == set(outcomes.NAMES) == set(outcomes.BY_NAME)
    assert diff_mod.RANK == {
        "harness-error": 2,
        "crash": 2,
        "timeout": 2,
        "fail": 2,
        "unexpected-pass": 0,
        "expected-deviation": 1,
        "pass": 0,
    }
    assert outcomes.UNEXPECTED == {"harness-error", "crash", "timeout", "fail", "unexpected-pass"}
    for path in ROOT.glob("*/**/*.py"):  # no second list of outcome names anywhere in the package
        if path.relative_to(ROOT).parts[0] in (".venv", "tests") or path.name == "outcomes.py":
            continue
        text = path.read_text(encoding="utf-8")
        assert not re.search(r'"pass",\s*"fail"|"fail",\s*"harness-error"|"crash",\s*"timeout"', text), path


def test_first_line_is_the_message_never_a_frame_or_a_local():
    traceback = (
        "K = <module 'keras' from '/x/keras/__init__.py'>\nkind = 'max_ndim'\n\n    @clause(\"A.B\")\n"
        "    def test_x(K, kind):\n>       assert f(K)\nE       AssertionError: layer name 'g' missing\n"
        "E       assert False\n\nsuites/test_input.py:139: AssertionError"
    )
    assert records.first_line(traceback) == "AssertionError: layer name 'g' missing"
    assert records.first_line(traceback, crash="AssertionError: the crash line\nassert False") == (
        "AssertionError: the crash line"
    )
    assert records.first_line('Traceback (most recent call last):\n  File "x.py", line 1\nRuntimeError: died') == (
        "RuntimeError: died"
    )
    assert records.first_line("ValueError: bad\nmore") == "ValueError: bad"
    # numpy.testing's asserts start with a bare "AssertionError: " and say what on the next lines
    numpy_assert = (
        '>       np.testing.assert_array_equal(m, 0, err_msg="moving mean updated")\n'
        "E       AssertionError: \nE       Arrays are not equal\nE       moving mean updated\n"
        "E       Mismatched elements: 3 / 3 (100%)\n"
    )
    assert records.first_line(numpy_assert) == "AssertionError: Arrays are not equal · moving mean updated"
    assert records.first_line("", crash="AssertionError: \nArrays are not equal\nmoving mean updated\nMismatch") == (
        "AssertionError: Arrays are not equal · moving mean updated"
    )
    # hypothesis's group of distinct failures: the first member's exception, not the group's count
    group = (
        "  + Exception Group Traceback (most recent call last):\n  | ExceptionGroup: Hypothesis found 2 distinct "
        "failures. (2 sub-exceptions)\n  +-+---------------- 1 ----------------\n    | Traceback (most recent "
        'call last):\n    |   File "k.py", line 70, in build\n    | IndexError: list assignment index out of '
        "range\n    | Failing test case: t(case=1)\n    +---------------- 2 ----------------\n    | "
        "ValueError: other\n"
    )
    assert records.first_line(
        group, crash="ExceptionGroup: Hypothesis found 2 distinct failures. (2 sub-exceptions)"
    ) == ("IndexError: list assignment index out of range (the first of 2 distinct failures hypothesis found)")
    assert records.first_line("not applicable: clauses X do not apply") == "not applicable: clauses X do not apply"
    assert records.first_line("") == ""
    assert records.upstream_url("keras-team/keras#23364") == "https://github.com/keras-team/keras/issues/23364"
    assert records.upstream_url("https://github.com/x/y/pull/1") == "https://github.com/x/y/pull/1"
    assert records.upstream_url("") is None and records.upstream_url("see notes") is None
    assert records.upstream_url("javascript:alert(1)") is None


def test_write_atomic_uses_a_unique_temporary_name_and_leaves_none(tmp_path, monkeypatch):
    names = []
    real_replace = os.replace
    monkeypatch.setattr(os, "replace", lambda a, b: (names.append(pathlib.Path(a).name), real_replace(a, b)))
    for _ in range(2):
        records.write_atomic(tmp_path / "r.json", "{}")
    assert len(set(names)) == 2 and all(str(os.getpid()) in n for n in names)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.json"]


def test_records_module_imports_no_pytest():
    code = (
        "import sys; import layercontract.reports.records, layercontract.reports.merge, "
        "layercontract.reports.diff; print('pytest' in sys.modules, '_pytest' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env(), timeout=60)
    assert result.stdout.split() == ["False", "False"], result.stderr


def test_a_v3_record_is_still_merged_and_diffed_with_the_default_key_distribution(real_record, tmp_path, capsys):
    v3 = copy.deepcopy(real_record)
    v3["schema"] = "layercontract-run/3"
    del v3["key_distribution"]
    assert schema.errors(v3, schema.json_schema(schema.RUN_SCHEMA_V3)) == []
    path = write(tmp_path / "old.json", v3)
    upgraded = records.load(path)
    assert upgraded["schema"] == schema.RUN_SCHEMA and upgraded["key_distribution"] == "reference_impl"
    assert schema.errors(upgraded, schema.json_schema(schema.RUN_SCHEMA)) == []
    matrix = _merge([path], tmp_path / "out")
    column = matrix["backends"]["reference"]
    assert (column["version_of"], column["version"]) == ("reference_impl", real_record["versions"]["reference_impl"])
    assert cli.main(["diff", str(path), str(write(tmp_path / "new.json", real_record))]) == 0
    capsys.readouterr()


def test_a_v2_record_is_still_merged_and_diffed(real_record, tmp_path, capsys):
    v2 = copy.deepcopy(real_record)
    v2["schema"] = "layercontract-run/2"
    del v2["contract_version"], v2["requested_backend"], v2["key_distribution"]
    for t in v2["tests"]:
        del t["first_line"], t["deviation"]
        t["rerun"] = t["rerun"].replace("--pyargs ", "")
    assert schema.errors(v2, schema.json_schema(schema.RUN_SCHEMA_V2)) == []
    path = write(tmp_path / "old.json", v2)
    upgraded = records.load(path)
    assert upgraded["schema"] == schema.RUN_SCHEMA and upgraded["contract_version"] is None
    assert upgraded["requested_backend"] == "reference"
    matrix = _merge([path], tmp_path / "out")
    assert matrix["backends"]["reference"]["tests"]
    assert cli.main(["diff", str(path), str(write(tmp_path / "new.json", real_record))]) == 0
    capsys.readouterr()


# ----------------------------------------------------------------------- merge
def _merge(paths, out, kill_matrix=None) -> dict:
    from layercontract.reports import merge

    written = merge.write_reports(paths, out, kill_matrix)
    assert sorted(written) == ["index.html", "matrix.json", "summary.md"]
    return load(written["matrix.json"])


def _variant(record, backend, **versions):
    other = copy.deepcopy(record)
    other["backend"] = backend
    other["versions"] = {**other["versions"], **versions}
    for t in other["tests"]:
        t["rerun"] = t["rerun"].replace("--backend reference", f"--backend {backend}")
    return other


def test_merge_writes_a_self_contained_escaped_report(real_record, stopped_run, tmp_path):
    hostile = _variant(real_record, "keras-jax", keras="3.15.1")
    bad = next(t for t in hostile["tests"] if t["outcome"] == "pass")
    bad.update(
        outcome="fail",
        message='E   AssertionError: <script>alert("pwned")</script> & more',
        falsifying_example="Falsifying example: f(x='<b>bold</b>')",
    )
    deviation = next(t for t in hostile["tests"] if t["outcome"] == "pass")
    deviation.update(outcome="expected-deviation", reason="upstream-bug: <img src=x onerror=alert(1)>")
    kill = write(
        tmp_path / "kill.json",
        {
            "faults": {
                "dropout_not_rescaled": {
                    "description": "Dropout <i>forgets</i> 1/(1-rate)",
                    "killed_by": ["BUILD.LAZY"],
                    "first_message": "<script>x()</script>",
                },
                "survivor": {"description": "never caught", "killed_by": [], "first_message": None},
            }
        },
    )
    paths = [
        write(tmp_path / "ref.json", real_record),
        write(tmp_path / "jax.json", hostile),
        write(tmp_path / "stopped.json", stopped_run[0]),
    ]
    out = tmp_path / "out"
    matrix = _merge(paths, out, kill)

    page = (out / "index.html").read_text(encoding="utf-8")
    assert page.count("<script") == 1  # the page's own; every text from a record is escaped
    assert "&lt;script&gt;alert(&#34;pwned&#34;)&lt;/script&gt; &amp; more" in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page and "<img" not in page
    assert "&lt;b&gt;bold&lt;/b&gt;" in page and "Dropout &lt;i&gt;forgets&lt;/i&gt;" in page
    assert "&lt;script&gt;x()&lt;/script&gt;" in page
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page), "external asset"
    assert "<link" not in page and "@import" not in page
    # the matrix: areas, clickable cells with the tests' rerun commands, statements, versions
    assert 'id="clause-BUILD.LAZY"' in page and 'href="#cell-BUILD.LAZY--keras-jax"' in page
    assert 'id="cell-BUILD.LAZY--keras-jax"' in page and "--backend <b>" not in page
    assert "python -m pytest --pyargs <b>layercontract.suites.test_build::" in page
    assert "keras <code>3.15.1</code>" in page and "Kill matrix" in page and "1 survived" in page
    from layercontract.spec.clauses import load as load_clauses

    assert load_clauses()["BUILD.LAZY"].statement.split()[0] in page

    summary = (out / "summary.md").read_text(encoding="utf-8")
    assert "<script" not in summary and "<img" not in summary and len(summary) < 65_000
    assert "| **keras-jax** |" in summary and "### Unexpected outcomes (2 tests)" in summary
    assert "Kill matrix:** 1 of 2 faults killed; survivors: `survivor`" in summary

    assert schema.errors(matrix, schema.json_schema(schema.MATRIX_SCHEMA)) == []
    assert list(matrix["backends"]) == ["reference", "keras-jax"]  # built-in order
    ref = matrix["backends"]["reference"]
    assert ref["sources"] == [str(paths[0]), str(paths[2])]  # same versions: combined
    stale = ref["tests"][BUILT_FLAG_TEST]
    assert stale["outcome"] == "unexpected-pass"  # the later record wins
    assert all(t["outcome"] != "not-run" for t in ref["tests"].values())  # not-run never replaces a result
    assert matrix["totals"]["unexpected"] == 2
    assert matrix["kill_matrix"]["survivors"] == ["survivor"]
    assert matrix["clauses"]["BUILD.LAZY"]["results"]["keras-jax"]["tests"]
    assert set(matrix["coverage"]["not_run_anywhere"]) == {
        cid for cid, c in matrix["clauses"].items() if not c["results"]
    }


def _merge_cli(args, capsys):
    code = cli.main(["merge", *map(str, args)])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


@pytest.mark.parametrize("problem", ["malformed", "truncated", "other-schema", "not-a-record", "empty"])
def test_merge_rejects_a_bad_file_by_name_and_writes_nothing(problem, real_record, tmp_path, capsys):
    good = write(tmp_path / "good.json", real_record)
    bad = tmp_path / "bad.json"
    text = json.dumps(real_record, indent=1)
    bad.write_text(
        {
            "malformed": "{'backend': reference}",
            "truncated": text[: len(text) // 2],
            "other-schema": json.dumps({**real_record, "schema": "layercontract-run/1"}),
            "not-a-record": json.dumps({**real_record, "tests": [{"nodeid": "x"}]}),
            "empty": "",
        }[problem],
        encoding="utf-8",
    )
    out = tmp_path / "out"
    out.mkdir()
    (out / "index.html").write_text("previous report", encoding="utf-8")
    code, output = _merge_cli([good, bad, "--out", out], capsys)
    assert code == 2
    expected = {
        "malformed": "not valid JSON",
        "truncated": "truncated JSON: the file ends early",
        "other-schema": "schema 'layercontract-run/1', expected 'layercontract-run/4' or 'layercontract-run/3' "
        "or 'layercontract-run/2'",
        "not-a-record": "not a valid layercontract-run/4 file: $.tests[0]: missing field 'clauses'",
        "empty": "empty file",
    }[problem]
    assert f"error: {bad}: {expected}" in output
    assert str(good) not in output and "Traceback" not in output and "nothing written" in output
    assert sorted(p.name for p in out.iterdir()) == ["index.html"]
    assert (out / "index.html").read_text(encoding="utf-8") == "previous report"


def test_merge_of_a_glob_skips_its_own_previous_matrix(real_record, tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    record = write(out / "reference.json", real_record)
    assert _merge_cli([record, "--out", out], capsys)[0] == 0
    code, output = _merge_cli([*sorted(out.glob("*.json")), "--out", out], capsys)  # reports/out/*.json
    assert code == 0 and f"skipping {out / 'matrix.json'}: an output of this merge" in output


def test_merge_rejects_one_backend_with_different_versions(real_record, tmp_path, capsys):
    first = write(tmp_path / "a.json", real_record)
    second = write(tmp_path / "b.json", _variant(real_record, "reference", numpy="9.9.9"))
    out = tmp_path / "out"
    code, output = _merge_cli([first, second, "--out", out], capsys)
    assert code == 2
    assert (
        f"error: {second}: backend 'reference' with versions numpy 9.9.9, but {first} has versions "
        f"numpy {real_record['versions']['numpy']}"
    ) in output
    assert not out.exists()


def test_merge_rejects_a_bad_kill_matrix(real_record, tmp_path, capsys):
    good = write(tmp_path / "good.json", real_record)
    kill = write(tmp_path / "kill.json", {"faults": {"f": {"description": "d", "killed_by": "BUILD.LAZY"}}})
    code, output = _merge_cli([good, "--out", tmp_path / "out", "--kill-matrix", kill], capsys)
    assert code == 2 and f"{kill}: not a valid kill-matrix file: $.faults['f'].killed_by: expected array" in output
    assert not (tmp_path / "out").exists()


# ------------------------------------------------------------------------ diff
def _diff_cli(old, new, capsys):
    code = cli.main(["diff", str(old), str(new)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_diff_exit_codes_regression_fix_none_and_bad_input(real_record, tmp_path, capsys):
    old = write(tmp_path / "old.json", real_record)
    same = write(tmp_path / "same.json", real_record)
    code, out, _ = _diff_cli(old, same, capsys)
    assert code == 0 and "**No regression**" in out

    worse = copy.deepcopy(real_record)
    victim = next(t for t in worse["tests"] if t["outcome"] == "pass")
    victim.update(outcome="fail", message="E   AssertionError: built is False")
    worse["clauses"][victim["clauses"][0]]["outcome"] = "fail"
    worse_path = write(tmp_path / "worse.json", worse)
    code, out, _ = _diff_cli(old, worse_path, capsys)
    assert code == 1
    assert "**1 regression**" in out and "### Regressions (1)" in out
    assert f"`{victim['nodeid']}`" in out and "pass → **FAIL** — AssertionError: built is False" in out
    assert f"`{victim['clauses'][0]}`: pass → fail" in out

    code, out, _ = _diff_cli(worse_path, old, capsys)  # the fix
    assert code == 0 and "### Fixes (1)" in out

    matrix_dir = tmp_path / "merged"
    _merge([old], matrix_dir)
    code, out, _ = _diff_cli(matrix_dir / "matrix.json", worse_path, capsys)  # a matrix.json works too
    assert code == 1 and "### Regressions (1)" in out

    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(real_record)[:500], encoding="utf-8")
    code, out, err = _diff_cli(old, broken, capsys)
    assert code == 2 and f"{broken}: truncated JSON" in err and out == ""


def test_diff_change_kinds():
    assert diff_mod.classify_change("pass", "expected-deviation") == "regression"
    assert diff_mod.classify_change("expected-deviation", "crash") == "regression"
    assert diff_mod.classify_change("pass", "unexpected-pass") == "regression"  # a stale entry appeared
    assert diff_mod.classify_change("expected-deviation", "unexpected-pass") == "fix"
    assert diff_mod.classify_change("timeout", "pass") == "fix"
    assert diff_mod.classify_change("pass", "not-run") == "other"
    assert diff_mod.classify_change("unsupported", "fail") == "other"


def test_diff_reports_added_and_removed_clauses(real_record):
    old = {"reference": diff_mod.Run(real_record["versions"], True, {}, {"A.X": "pass", "A.Y": "pass"})}
    new = {"reference": diff_mod.Run(real_record["versions"], True, {}, {"A.Y": "pass", "A.Z": "pass"})}
    result = diff_mod.compare(old, new)
    assert result.clauses_added == {"reference": ["A.Z"]} and result.clauses_removed == {"reference": ["A.X"]}
    assert "added `A.Z`; removed `A.X`" in diff_mod.markdown(result, "old", "new")


# ---------------------------------------------------------------------- wiring
def test_markdown_text_cannot_break_out_of_a_table_cell():
    assert render.md_text("a | b <script>\n`x`") == "a \\| b &lt;script&gt; \\`x\\`"
    assert render.md_code("a`b") == "`` a`b ``"
    assert render.md_code("a``b|c", in_table=True) == "``` a``b\\|c ```"
    assert render.inline_code("`x<y>` <script>") == "<code>x&lt;y&gt;</code> &lt;script&gt;"


def test_ci_tox_and_workflow_merge_every_builtin_backend():
    backends = list(registry.BUILTIN)
    tox = (ROOT / "tox.ini").read_text(encoding="utf-8")
    report_env = tox.split("[testenv:report]", 1)[1].split("\n[", 1)[0]
    assert "layercontract merge" in report_env
    assert all(f"reports/out/{b}.json" in report_env for b in backends)
    ci_run = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert f'backends="{" ".join(backends)}"' in ci_run and backends[0] == "reference"
    # the README's two commands (./lc run: the reference; ./lc test), and the other backends
    assert "\n./lc run\n" in ci_run and "\n./lc test\n" in ci_run and "./lc run-many ${backends#reference }" in ci_run
    assert "--kill-matrix reports/out/kill-matrix.json" in ci_run  # the merged report shows the kill matrix
    workflow = (ROOT / ".github" / "workflows" / "conformance.yml").read_text(encoding="utf-8")
    assert f"backend: [{', '.join(backends)}]" in workflow
    for needed in (
        "bash .ci/install",
        '.venv/bin/layercontract run --backend "$BACKEND"',
        "actions/upload-artifact",
        "actions/download-artifact",
        "layercontract merge",
        'cat report/summary.md >> "$GITHUB_STEP_SUMMARY"',
    ):
        assert needed in workflow
