"""The harness: backend selection, spec integrity, expectations, outcomes, summary and record.

Most checks run pytest in a subprocess on one small suite file, as a user would, and look at
the exit code and the output. The real suites are never edited: problems in the suites are
simulated on a temporary directory or on a temporary copy of the project.
"""

import collections
import json
import os
import pathlib
import re
import shlex
import shutil
import types

import pytest

from layercontract.backends.reference import ReferenceBackend
from layercontract.spec import clauses as spec_clauses
from layercontract.spec.harness import check_ids, clause_citations, expectations, outcomes, registry
from tests import forked

ROOT = pathlib.Path(__file__).resolve().parents[2]
BUILD_SUITE = "layercontract/suites/test_build.py"  # as pytest takes it in the checkout
BUILT_FLAG_TEST = "suites/test_build.py::test_built_is_true_after_first_call"
USAGE_ERROR = 4


def run_pytest(*args, cwd=ROOT, timeout=120, pythonpath=None):
    env = {
        k: v for k, v in os.environ.items() if k not in ("LAYERCONTRACT_BACKEND", "PYTEST_ADDOPTS", "PYTEST_PLUGINS")
    }
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    if pythonpath:  # a copy of the project that shadows the installed layercontract
        env["PYTHONPATH"] = str(pythonpath)
    return forked.pytest("-p", "no:cacheprovider", *args, cwd=cwd, env=env, timeout=timeout)


def output(result) -> str:
    return result.stdout + result.stderr


def deviation_toml(test, clause="BUILD.BUILT_FLAG", kind="upstream-bug", **extra) -> str:
    fields = {
        "test": test,
        "clause": clause,
        "kind": kind,
        "observed": "built stays False",
        "reason": "for the harness tests",
        **extra,
    }
    return "[[deviation]]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in fields.items())


def clauses_cited_by(filename, edition=None):
    """Clauses cited by a suite file; with `edition`, only those that apply to it."""
    from layercontract.spec.clauses import load

    return sorted(
        cid
        for cid, tests in clause_citations.cited_clauses().items()
        if any(t.startswith(f"{filename}::") for t in tests) and (edition is None or load()[cid].applies_to(edition))
    )


# The reference backend is edition keras3: checks of keras2-only clauses are "not applicable".
RUNNABLE_ON_REFERENCE = {outcomes.PASS, outcomes.NOT_APPLICABLE}


# Adapters for the tests below; the subprocesses import them as tests.harness.test_plugin:<name>.
class ReferenceWithoutSymbolic(ReferenceBackend):
    name = "reference-without-symbolic"
    capabilities = frozenset({"fit", "inference"})


class ExplodingAdapter:
    def __init__(self):
        raise RuntimeError("no GPU here")


# -------------------------------------------------------------- backend choice
def test_unknown_backend_is_a_usage_error_listing_known_backends():
    result = run_pytest(BUILD_SUITE, "--backend", "nosuch")
    assert result.returncode == USAGE_ERROR
    assert "unknown backend 'nosuch'" in result.stderr
    for name in registry.BUILTIN:
        assert name in result.stderr
    assert "package.module:AdapterClass" in result.stderr


def test_adapter_spec_with_missing_module_is_a_clear_usage_error():
    result = run_pytest(BUILD_SUITE, "--backend", "some.module:Missing")
    assert result.returncode == USAGE_ERROR
    assert "cannot import adapter module 'some.module'" in result.stderr
    assert "Traceback" not in output(result)


def test_adapter_spec_errors_name_the_problem():
    with pytest.raises(
        registry.BackendError, match="adapter module 'layercontract.backends.reference' has no attribute 'Missing'"
    ):
        registry.resolve("layercontract.backends.reference:Missing")
    with pytest.raises(registry.BackendError, match=r"failed to initialise: RuntimeError: no GPU here"):
        registry.resolve("tests.harness.test_plugin:ExplodingAdapter")
    assert isinstance(registry.resolve("reference"), ReferenceBackend)


# ------------------------------------------------------------------- integrity
FAKE_SUITE = """
from layercontract.spec.harness import clause

@clause("BUILD.LAZY")
def test_fine(K):
    pass

@clause("BUILD.LAZY", "NOPE.UNKNOWN")
def test_cites_an_unknown_clause(K):
    pass
"""


def test_integrity_problems_name_unknown_and_untested_clauses(tmp_path):
    (tmp_path / "test_fake.py").write_text(FAKE_SUITE, encoding="utf-8")
    (tmp_path / "helpers.py").write_text('@clause("NOT.READ")\ndef test_x(): pass\n', encoding="utf-8")
    clauses = spec_clauses.parse(
        "".join(
            f'[[clause]]\nid = "{cid}"\narea = "BUILD"\nlevel = "MUST"\nstatement = "s"\n'
            f'observes = "o"\neditions = ["keras3"]\nrationale = "r"\nevidence = "e"\n'
            for cid in ("BUILD.LAZY", "BUILD.UNTESTED")
        )
    )
    assert clause_citations.cited_clauses(tmp_path) == {
        "BUILD.LAZY": ["test_fake.py::test_fine", "test_fake.py::test_cites_an_unknown_clause"],
        "NOPE.UNKNOWN": ["test_fake.py::test_cites_an_unknown_clause"],
    }
    assert clause_citations.problems(clauses, tmp_path) == [
        "clause BUILD.UNTESTED has no test",
        "unknown clause NOPE.UNKNOWN cited by test_fake.py::test_cites_an_unknown_clause",
    ]


def test_the_real_spec_and_suites_are_consistent():
    assert clause_citations.problems(spec_clauses.load()) == []


def test_a_clause_no_test_cites_is_a_problem():
    text = spec_clauses.CLAUSES_FILE.read_text(encoding="utf-8") + (
        '\n[[clause]]\nid = "SYMBOLIC.NOBODY_CITES_ME"\narea = "SYMBOLIC"\nlevel = "MAY"\n'
        'statement = "s"\nobserves = "o"\neditions = ["keras3", "keras2"]\nrationale = "r"\nevidence = "e"\n'
    )
    assert clause_citations.problems(spec_clauses.parse(text)) == ["clause SYMBOLIC.NOBODY_CITES_ME has no test"]


def copy_project(dest: pathlib.Path) -> pathlib.Path:
    """A copy of the package (dest/layercontract/); run with PYTHONPATH=dest it shadows the
    installed layercontract. Returns the copy's root package."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".hypothesis")
    package = dest / "layercontract"
    shutil.copytree(ROOT / "layercontract", package, ignore=ignore)
    return package


def test_integrity_problems_fail_the_run_before_any_test(tmp_path):
    project = copy_project(tmp_path / "project")
    (project / "suites" / "test_zz_fake.py").write_text(
        FAKE_SUITE + "\ndef test_cites_nothing(K):\n    pass\n", encoding="utf-8"
    )
    with open(project / "spec" / "clauses.toml", "a", encoding="utf-8") as f:
        f.write(
            '\n[[clause]]\nid = "BUILD.NOBODY_CITES_ME"\narea = "BUILD"\nlevel = "MUST"\nstatement = "s"\n'
            'observes = "o"\neditions = ["keras3"]\nrationale = "r"\nevidence = "e"\n'
        )
    result = run_pytest(
        "--pyargs",
        "layercontract.suites.test_zz_fake",
        "--backend",
        "reference",
        cwd=tmp_path,
        pythonpath=tmp_path / "project",
    )
    assert result.returncode == USAGE_ERROR, output(result)
    assert "layercontract cannot run" in result.stderr
    assert "clause BUILD.NOBODY_CITES_ME has no test" in result.stderr
    assert "unknown clause NOPE.UNKNOWN cited by test_zz_fake.py::test_cites_an_unknown_clause" in result.stderr
    assert "suites/test_zz_fake.py::test_cites_an_unknown_clause cites unknown clause(s) NOPE.UNKNOWN" in result.stderr
    assert "suites/test_zz_fake.py::test_cites_nothing cites no clause" in result.stderr
    assert " passed" not in result.stdout


# ---------------------------------------------------------------- expectations
@pytest.mark.parametrize(
    "content, problem",
    [
        ("deviation = [\n", "not valid TOML"),
        (
            '[[deviation]]\ntest = "suites/test_build.py::test_x"\n',
            "deviation #1: missing clause, kind, observed, reason",
        ),
        (deviation_toml(BUILT_FLAG_TEST, clause="NOPE.UNKNOWN"), "deviation #1: unknown clause 'NOPE.UNKNOWN'"),
        (deviation_toml(BUILT_FLAG_TEST, kind="cosmic-ray"), "deviation #1: kind 'cosmic-ray' is not one of"),
    ],
    ids=["invalid-toml", "missing-fields", "unknown-clause", "unknown-kind"],
)
def test_malformed_expectations_file_fails_at_start(tmp_path, content, problem):
    path = tmp_path / "broken.toml"
    path.write_text(content, encoding="utf-8")
    result = run_pytest(BUILD_SUITE, "--expectations", str(path))
    assert result.returncode == USAGE_ERROR
    assert "is invalid" in result.stderr and str(path) in result.stderr
    assert f"{path}: " in result.stderr and problem in result.stderr
    assert " passed" not in result.stdout


def test_missing_expectations_file_fails_at_start(tmp_path):
    path = tmp_path / "nosuch.toml"
    result = run_pytest(BUILD_SUITE, "--expectations", str(path))
    assert result.returncode == USAGE_ERROR
    assert f"expectations file {path} does not exist" in result.stderr


def test_expectations_load_rejects_a_misspelt_table_and_extra_fields(tmp_path):
    path = tmp_path / "exp.toml"
    path.write_text(deviation_toml(BUILT_FLAG_TEST).replace("[[deviation]]", "[[deviations]]"), encoding="utf-8")
    with pytest.raises(expectations.ExpectationsError, match=r"unknown top-level keys deviations"):
        expectations.load(path, spec_clauses.load())
    path.write_text(deviation_toml(BUILT_FLAG_TEST, colour="red"), encoding="utf-8")
    with pytest.raises(expectations.ExpectationsError, match=r"deviation #1: unknown fields colour"):
        expectations.load(path, spec_clauses.load())
    path.write_text(deviation_toml(BUILT_FLAG_TEST, upstream="keras-team/keras#1"), encoding="utf-8")
    [deviation] = expectations.load(path, spec_clauses.load())
    assert deviation.matches(BUILT_FLAG_TEST) and deviation.matches(BUILT_FLAG_TEST + "[a-b]")
    assert not deviation.matches(BUILT_FLAG_TEST + "_too")
    assert deviation.describe() == "upstream-bug: built stays False — for the harness tests [keras-team/keras#1]"


def test_every_backend_expectations_file_is_valid():
    for path in sorted((ROOT / "layercontract" / "backends" / "expectations").glob("*.toml")):
        expectations.load(path, spec_clauses.load())


def test_expectations_entry_matching_no_test_fails_the_run(tmp_path):
    path = tmp_path / "exp.toml"
    path.write_text(deviation_toml("suites/test_build.py::test_that_does_not_exist"), encoding="utf-8")
    result = run_pytest(BUILD_SUITE, "--expectations", str(path))
    assert result.returncode == USAGE_ERROR
    assert (
        "expectations entry for 'suites/test_build.py::test_that_does_not_exist': suites/test_build.py "
        "has no test 'test_that_does_not_exist'" in result.stderr
    )


def test_expectations_entry_matching_no_test_fails_the_run_under_xdist(tmp_path):
    path = tmp_path / "exp.toml"
    path.write_text(deviation_toml("suites/test_build.py::test_that_does_not_exist"), encoding="utf-8")
    result = run_pytest(BUILD_SUITE, "-n", "2", "--expectations", str(path))
    assert result.returncode != 0
    assert "INTERNALERROR" not in output(result)
    assert "has no test 'test_that_does_not_exist'" in output(result)


def test_expected_deviation_that_passes_is_an_unexpected_pass(tmp_path):
    path = tmp_path / "exp.toml"
    path.write_text(deviation_toml(BUILT_FLAG_TEST), encoding="utf-8")
    record = tmp_path / "run.json"
    result = run_pytest(BUILD_SUITE, "--expectations", str(path), "--record", str(record))
    assert result.returncode == 1, output(result)
    assert "XPASS(strict)" in result.stdout
    assert f"FAILED layercontract/{BUILT_FLAG_TEST}" in result.stdout  # pytest names it from the checkout
    assert "UNEXPECTED-PASS      BUILD.BUILT_FLAG " in result.stdout
    tests = {t["nodeid"]: t for t in json.loads(record.read_text())["tests"]}
    assert tests[BUILT_FLAG_TEST]["outcome"] == outcomes.UNEXPECTED_PASS
    assert {t["outcome"] for n, t in tests.items() if n != BUILT_FLAG_TEST} == RUNNABLE_ON_REFERENCE
    assert f"--expectations {path}" in tests[BUILT_FLAG_TEST]["rerun"]


FULL_SHAPE_TEST = "suites/test_input.py::test_error_shows_the_full_received_shape"


def test_a_deviation_with_match_explains_only_the_failure_it_names(tmp_path):
    """`match` pins an entry to its failure: with a fault every parameter of FULL_SHAPE_TEST fails
    with "error message lacks full received shape ..."; the entry whose match finds that line is an
    expected deviation, the one whose match does not is a failure saying what it expected."""
    path = tmp_path / "exp.toml"
    path.write_text(
        deviation_toml(
            f"{FULL_SHAPE_TEST}[max_ndim]",
            clause="INPUT.ERROR_FULL_SHAPE",
            match=r"lacks full received shape \(2, 3, 4\)",
        )
        + deviation_toml(f"{FULL_SHAPE_TEST}[ndim]", clause="INPUT.ERROR_FULL_SHAPE", match="names the wrong axis"),
        encoding="utf-8",
    )
    record = tmp_path / "run.json"
    result = run_pytest(
        f"layercontract/{FULL_SHAPE_TEST}[ndim]",
        f"layercontract/{FULL_SHAPE_TEST}[max_ndim]",
        "--fault",
        "error_message_without_full_shape",
        "--expectations",
        str(path),
        "--record",
        str(record),
    )
    assert result.returncode == 1, output(result)
    tests = {t["nodeid"]: t for t in json.loads(record.read_text())["tests"]}
    explained, unexplained = tests[f"{FULL_SHAPE_TEST}[max_ndim]"], tests[f"{FULL_SHAPE_TEST}[ndim]"]
    assert explained["outcome"] == outcomes.DEVIATION
    assert explained["deviation"]["match"] == r"lacks full received shape \(2, 3, 4\)"
    assert unexplained["outcome"] == outcomes.FAIL and unexplained["deviation"] is None
    assert unexplained["first_line"].startswith(
        f"not the expected deviation: {path} deviation #2 expects a failure matching 'names the wrong axis'; "
        "this failure: AssertionError: error message lacks full received shape (2, 3, 1)"
    ), unexplained["first_line"]
    assert "error message lacks full received shape (2, 3, 1)" in unexplained["message"]  # the failure itself kept
    assert (
        f"FAILED layercontract/{FULL_SHAPE_TEST}[ndim]" in result.stdout
        and f"{FULL_SHAPE_TEST}[max_ndim]" not in result.stdout
    )


@pytest.mark.parametrize(
    "match, problem",
    [
        ("(unclosed", "is not a regular expression"),
        ("  ", "is not a regular expression"),
        (5, "match must be a string"),
    ],
)
def test_a_bad_match_is_an_invalid_expectations_file(tmp_path, match, problem):
    path = tmp_path / "exp.toml"
    path.write_text(deviation_toml(BUILT_FLAG_TEST, match=match), encoding="utf-8")
    with pytest.raises(expectations.ExpectationsError, match=re.escape(problem)):
        expectations.load(path, spec_clauses.load())


# ------------------------------------------------------- record and summary
def test_record_and_per_clause_summary(tmp_path):
    record_path = tmp_path / "out" / "run.json"
    result = run_pytest(BUILD_SUITE, "--record", str(record_path))
    assert result.returncode == 0, output(result)

    # the per-clause summary in the terminal
    assert "layercontract: clauses on backend reference (edition keras3)" in result.stdout
    cited = clauses_cited_by("test_build.py")
    applicable = clauses_cited_by("test_build.py", edition="keras3")
    for cid in applicable:
        assert f"  PASS                 {cid} " in result.stdout
    for cid in set(cited) - set(applicable):
        assert f"  NOT-APPLICABLE       {cid} " in result.stdout
    assert f"{len(applicable)} pass" in result.stdout

    # the record
    record = json.loads(record_path.read_text(encoding="utf-8"))
    assert record["schema"] == "layercontract-run/4"
    assert record["complete"] is True
    assert record["exit_status"] == 0
    assert record["backend"] == "reference" and record["edition"] == "keras3"
    assert "reference_impl" in record["versions"]
    assert sorted(record["clauses"]) == cited
    assert all(
        row["outcome"] == ("pass" if cid in applicable else "not-applicable") for cid, row in record["clauses"].items()
    )
    passed = [t for t in record["tests"] if t["outcome"] == "pass"]
    assert passed and f"{len(passed)} passed" in result.stdout
    for test in record["tests"]:
        assert test["nodeid"].startswith("suites/test_build.py::")
        assert test["clauses"] and set(test["clauses"]) <= set(cited)
        assert test["outcome"] in RUNNABLE_ON_REFERENCE
        assert test["rerun"] == (
            f"python -m pytest --pyargs {check_ids.pyargs_target(test['nodeid'])} --backend reference"
        )
    assert not list(record_path.parent.glob("*.tmp"))

    # a rerun command reruns exactly that test
    rerun = shlex.split(passed[0]["rerun"])
    assert rerun[:3] == ["python", "-m", "pytest"]
    again = run_pytest(*rerun[3:])
    assert again.returncode == 0 and "1 passed" in again.stdout


def test_unsupported_capability_is_reported_and_rerun_uses_the_backend_option(tmp_path):
    record_path = tmp_path / "run.json"
    backend = "tests.harness.test_plugin:ReferenceWithoutSymbolic"
    result = run_pytest("layercontract/suites/test_symbolic.py", "--backend", backend, "--record", str(record_path))
    assert result.returncode == 0, output(result)
    assert "layercontract: clauses on backend reference-without-symbolic" in result.stdout
    # every clause of the module but the one an eager call also checks, and the Keras 2 edition's
    # (not applicable on keras3 before any capability is asked)
    eager = "SYMBOLIC.NON_TENSOR_OUTPUTS_DECLARED"
    for cid in clauses_cited_by("test_symbolic.py"):
        if cid != eager and not cid.endswith(".K2"):
            assert f"  UNSUPPORTED          {cid} " in result.stdout
    record = json.loads(record_path.read_text(encoding="utf-8"))
    assert record["backend"] == "reference-without-symbolic"
    by_outcome = collections.defaultdict(list)
    for t in record["tests"]:
        by_outcome[t["outcome"]].append(t)
    assert set(by_outcome) == {outcomes.UNSUPPORTED, outcomes.PASS, outcomes.NOT_APPLICABLE}
    assert all("lacks capability " in t["message"] for t in by_outcome[outcomes.UNSUPPORTED])
    assert [t["clauses"] for t in by_outcome[outcomes.PASS]] == [[eager]]  # its eager call needs no capability
    assert all(t["rerun"].endswith(f"--backend {backend}") for t in by_outcome[outcomes.UNSUPPORTED])


def test_record_under_xdist(tmp_path):
    record_path = tmp_path / "run.json"
    result = run_pytest(BUILD_SUITE, "-n", "2", "--record", str(record_path))
    assert result.returncode == 0, output(result)
    assert "layercontract: clauses on backend reference" in result.stdout
    record = json.loads(record_path.read_text(encoding="utf-8"))
    assert record["complete"] is True and "reference_impl" in record["versions"]
    assert sorted(record["clauses"]) == clauses_cited_by("test_build.py")
    assert {t["outcome"] for t in record["tests"]} == RUNNABLE_ON_REFERENCE


# ------------------------------------------------------------- classification
def report(when, outcome, longrepr=None, **extra):
    return types.SimpleNamespace(
        when=when,
        outcome=outcome,
        passed=outcome == "passed",
        failed=outcome == "failed",
        skipped=outcome == "skipped",
        longrepr=longrepr,
        **extra,
    )


def skipped(when, reason):
    return report(when, "skipped", ("file.py", 1, f"Skipped: {reason}"))


@pytest.mark.parametrize(
    "rep, expected",
    [
        (report("call", "passed"), outcomes.PASS),
        (report("call", "failed", "AssertionError"), outcomes.FAIL),
        (report("call", "failed", "[XPASS(strict)] upstream-bug: ..."), outcomes.UNEXPECTED_PASS),
        (report("call", "skipped", wasxfail="upstream-bug: ..."), outcomes.DEVIATION),
        (report("setup", "skipped", wasxfail="upstream-bug: ..."), outcomes.DEVIATION),
        (skipped("setup", "unsupported: backend x lacks capability fit"), outcomes.UNSUPPORTED),
        (skipped("setup", "not applicable: clauses X do not apply to edition keras2"), outcomes.NOT_APPLICABLE),
        (skipped("setup", "some other reason"), outcomes.HARNESS_ERROR),
        # a skip from inside the test body counts like one at setup (it used to be dropped)
        (skipped("call", "unsupported: backend x lacks capability fit"), outcomes.UNSUPPORTED),
        (skipped("call", "no reason given"), outcomes.HARNESS_ERROR),
        (report("setup", "failed", "fixture error"), outcomes.HARNESS_ERROR),
        (report("teardown", "failed", "teardown error"), outcomes.HARNESS_ERROR),
        (report("setup", "passed"), None),
        (report("teardown", "passed"), None),
    ],
)
def test_classify(rep, expected):
    assert outcomes.classify(rep) == expected


def test_a_clause_takes_the_worst_outcome_of_its_tests():
    assert outcomes.clause_outcome([outcomes.PASS, outcomes.DEVIATION]) == outcomes.DEVIATION
    assert outcomes.clause_outcome([outcomes.PASS, outcomes.FAIL, outcomes.UNEXPECTED_PASS]) == outcomes.FAIL
    assert outcomes.clause_outcome([outcomes.NOT_APPLICABLE, outcomes.PASS]) == outcomes.PASS
    assert outcomes.clause_outcome([]) == outcomes.NOT_APPLICABLE


def test_a_configured_run_freezes_what_lives_for_the_process_out_of_the_collector():
    """plugin/memory.py: with a backend chosen, what exists once configured and once collected is
    frozen (gc.freeze), so the collections that follow (pytest's two at exit among them) skip it;
    with no backend the plugin changes nothing."""
    import gc

    from layercontract.spec.harness.plugin import memory
    from layercontract.spec.harness.session_state import STATE

    part = memory.MemoryFreeing()
    configured = types.SimpleNamespace(stash={STATE: object()})
    gc.unfreeze()
    try:
        part.pytest_configure(types.SimpleNamespace(stash={}))
        part.pytest_collection_finish(types.SimpleNamespace(config=types.SimpleNamespace(stash={})))
        assert gc.get_freeze_count() == 0
        part.pytest_configure(configured)
        after_configure = gc.get_freeze_count()
        assert after_configure > 0
        made_during_collection = [[] for _ in range(100)]
        part.pytest_collection_finish(types.SimpleNamespace(config=configured))
        assert gc.get_freeze_count() >= after_configure + len(made_during_collection)
    finally:
        gc.freeze()  # this process froze its own start-up already: keep it so
