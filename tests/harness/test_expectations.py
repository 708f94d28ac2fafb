"""Findings: one upstream behaviour each, described once; expectations entries refer to them.

The loader (spec/harness/expectations.py) reads both forms of an entry: `finding = "<id>"` with
only per-check data, and the legacy form (kind, reason, upstream inline) that adapters' files
written before findings use. The built-in data: every built-in entry names a finding, no reason
text is written twice, every finding is used, names the backends its entries are on and has a
standalone reproducer.
"""

import ast
import collections
import dataclasses
import json
import pathlib
import re

import pytest

from layercontract.spec import clauses as spec_clauses
from layercontract.spec.harness import expectations

ROOT = pathlib.Path(__file__).resolve().parents[2]
BACKENDS = ROOT / "layercontract" / "backends"
BUILT_IN = sorted((BACKENDS / "expectations").glob("*.toml"))
TEST = "suites/test_build.py::test_built_is_true_after_first_call"


def toml_table(name, **fields) -> str:
    return f"[[{name}]]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in fields.items()) + "\n"


def finding(fid="my-finding", **extra) -> str:
    fields = {
        "id": fid,
        "kind": "upstream-bug",
        "title": "built stays False",
        "reason": "the reason, once",
        "upstream": ["https://github.com/o/r/issues/7"],
        **extra,
    }
    return toml_table("finding", **fields)


def entry(test=TEST, **extra) -> str:
    fields = {
        "test": test,
        "clause": "BUILD.BUILT_FLAG",
        "finding": "my-finding",
        "observed": "built stays False",
        **extra,
    }
    return toml_table("deviation", **fields)


def load(tmp_path, text, findings_file=None):
    path = tmp_path / "exp.toml"
    path.write_text(text, encoding="utf-8")
    return expectations.load(path, spec_clauses.load(), findings_file=findings_file)


def problems(tmp_path, text, findings_file=None) -> str:
    with pytest.raises(expectations.ExpectationsError) as info:
        load(tmp_path, text, findings_file)
    return str(info.value)


# ------------------------------------------------------------------ the loader
def test_an_entry_takes_kind_reason_upstream_and_when_from_its_finding(tmp_path):
    [d] = load(tmp_path, finding(when="numpy >= 1") + entry(match="built"))
    assert (d.kind, d.reason, d.upstream, d.when, d.finding, d.match) == (
        "upstream-bug",
        "the reason, once",
        "o/r#7",
        ("numpy >= 1",),
        "my-finding",
        "built",
    )
    assert d.describe() == "upstream-bug (when numpy >= 1): built stays False — the reason, once [o/r#7]"
    [d] = load(tmp_path, finding(when="numpy >= 1") + entry(when="numpy < 1"))
    assert d.when == ("numpy < 1",)  # its own `when` wins


def test_the_legacy_form_still_loads_and_the_old_kind_name_is_design(tmp_path):
    legacy = toml_table(
        "deviation",
        test=TEST,
        clause="BUILD.BUILT_FLAG",
        kind="upstream-behaviour",
        observed="o",
        reason="r",
        upstream="keras-team/keras#1",
    )
    [d] = load(tmp_path, legacy)
    assert (d.kind, d.reason, d.upstream, d.finding) == ("design", "r", "keras-team/keras#1", "")
    mixed = legacy + finding() + entry(test=TEST.replace("test_built", "test_other"))
    assert [d.finding for d in load(tmp_path, mixed)] == ["", "my-finding"]  # both forms in one file
    for kind in expectations.KINDS:
        assert load(tmp_path, legacy.replace("upstream-behaviour", kind))[0].kind == kind


@pytest.mark.parametrize(
    "text, problem",
    [
        (
            finding() + entry(finding="my-findng"),
            "deviation #1: unknown finding 'my-findng' (did you mean my-finding?)",
        ),
        (entry(), "deviation #1: unknown finding 'my-finding' (declare it in a [[finding]] table"),
        (
            finding() + entry(kind="upstream-bug", reason="again"),
            "deviation #1: kind, reason come(s) from finding 'my-finding': remove it from the entry",
        ),
        (finding() + entry(colour="red"), "deviation #1: unknown fields colour"),
        (finding() + entry(observed=""), "deviation #1: missing observed"),
        (finding() + finding(), "finding 'my-finding': duplicate id (a finding is described once)"),
        (
            finding(kind="upstream-behaviour") + entry(),
            "kind 'upstream-behaviour' is not one of "
            "['upstream-bug', 'regression', 'design', 'limitation'] (the old name of 'design': write that)",
        ),
        (finding(title="") + entry(), "finding 'my-finding': missing title"),
        (finding(colour="red") + entry(), "finding 'my-finding': unknown fields colour"),
        (finding(when="keras <<< 3") + entry(), "finding 'my-finding': when 'keras <<< 3' is not a PEP 440"),
        (finding(upstream=[3]) + entry(), "finding 'my-finding': upstream must be a string or a list of strings"),
        (finding(fid="My Finding") + entry(finding="My Finding"), "id must be lower-case kebab-case"),
        (
            finding(reproducer="reproducers/nope.py") + entry(),
            "finding 'my-finding': reproducer reproducers/nope.py does not exist",
        ),
        ("findings = 3\n" + finding() + entry(), "findings must be a path or a list of paths"),
    ],
)
def test_invalid_findings_and_entries_are_one_error_each(tmp_path, text, problem):
    assert problem in problems(tmp_path, text)


def test_a_reproducer_is_relative_to_the_file_that_declares_its_finding(tmp_path):
    (tmp_path / "reproducers").mkdir()
    (tmp_path / "reproducers" / "my-finding.py").write_text("raise SystemExit(1)\n", encoding="utf-8")
    path = tmp_path / "exp.toml"
    path.write_text(finding(reproducer="reproducers/my-finding.py") + entry(), encoding="utf-8")
    _, found = expectations.load_with_findings(path, spec_clauses.load(), findings_file=None)
    assert found["my-finding"].reproducer_path == tmp_path / "reproducers" / "my-finding.py"


def test_findings_in_another_file_and_the_built_in_ones_can_be_named(tmp_path):
    (tmp_path / "shared.toml").write_text(finding(), encoding="utf-8")
    [d] = load(tmp_path, 'findings = "shared.toml"\n' + entry())
    assert d.finding == "my-finding"
    # an adapter wrapping Keras can name a built-in finding
    [d] = load(tmp_path, entry(finding="k3-max-ndim-message-omits-shape"), findings_file=expectations.FINDINGS_FILE)
    assert d.kind == "design" and "max_ndim" in d.reason
    # one id declared in two places is an error, wherever they are
    text = problems(
        tmp_path,
        finding(fid="k3-max-ndim-message-omits-shape") + entry(finding="k3-max-ndim-message-omits-shape"),
        findings_file=expectations.FINDINGS_FILE,
    )
    assert "finding 'k3-max-ndim-message-omits-shape' is already declared in" in text


def test_an_entry_naming_a_finding_explains_its_failure_in_a_run_and_the_record_names_it(tmp_path):
    """End to end on the reference with a fault: the record's deviation carries the finding's id and
    kind (a new optional field of the record schema)."""
    from tests.harness.test_plugin import FULL_SHAPE_TEST, output, run_pytest

    path = tmp_path / "exp.toml"
    path.write_text(
        finding(kind="design")
        + entry(
            f"{FULL_SHAPE_TEST}[max_ndim]",
            clause="INPUT.ERROR_FULL_SHAPE",
            match=r"lacks full received shape \(2, 3, 4\)",
        ),
        encoding="utf-8",
    )
    record = tmp_path / "run.json"
    result = run_pytest(
        f"layercontract/{FULL_SHAPE_TEST}[max_ndim]",
        "--fault",
        "error_message_without_full_shape",
        "--expectations",
        str(path),
        "--record",
        str(record),
    )
    assert result.returncode == 0, output(result)
    [test] = json.loads(record.read_text())["tests"]
    assert test["outcome"] == "expected-deviation"
    assert {k: test["deviation"][k] for k in ("finding", "kind", "reason", "upstream")} == {
        "finding": "my-finding",
        "kind": "design",
        "reason": "the reason, once",
        "upstream": "o/r#7",
    }


# ------------------------------------------------------------- the built-in data
def built_in():
    return {path.stem: expectations.load(path, spec_clauses.load()) for path in BUILT_IN}


def test_every_built_in_entry_names_a_finding_and_no_reason_text_is_written_twice():
    """The issue's rule: one upstream behaviour is described once. Every built-in entry refers to
    a finding (so it carries no reason of its own), and no two findings share a reason or title."""
    raw = [
        (path.name, e)
        for path in BUILT_IN
        for e in __import__("tomllib").loads(path.read_text(encoding="utf-8")).get("deviation", [])
    ]
    assert [
        f"{name} {e['test']}" for name, e in raw if "finding" not in e or set(e) & {"reason", "kind", "upstream"}
    ] == []
    findings = expectations.load_findings()
    for field in ("reason", "title", "cause"):
        repeated = [t for t, n in collections.Counter(getattr(f, field) for f in findings.values()).items() if n > 1]
        assert repeated == [], field
    observed = collections.Counter((name, e["observed"]) for name, e in raw)
    assert [k for k, n in observed.items() if n > 1] == []  # within a backend's file, each observation once


def test_every_built_in_finding_is_complete_used_and_names_its_backends():
    findings = expectations.load_findings()
    assert findings, "no built-in findings"
    used = collections.defaultdict(set)
    for backend, deviations in built_in().items():
        for d in deviations:
            used[d.finding].add(backend)
    for f in findings.values():
        assert f.cause and f.status and f.backends and f.reproducer, f"finding {f.id}: incomplete"
        assert f.reproducer == f"reproducers/{f.id}.py", f"finding {f.id}: reproducer is reproducers/<id>.py"
        assert used[f.id], f"finding {f.id}: no built-in entry uses it (delete it, or record its entries)"
        assert used[f.id] <= set(f.backends), f"finding {f.id}: entries on {sorted(used[f.id] - set(f.backends))}"
        for link in f.upstream:
            assert re.fullmatch(r"https://github\.com/[\w.-]+/[\w.-]+/(issues|pull)/\d+", link), (f.id, link)


def test_every_reproducer_is_standalone():
    """A reproducer is plain Keras + numpy (tf_keras for tf-keras): it never imports layercontract,
    it says what it checks, and it exits 1 while the finding holds, 0 once fixed, 2 cannot run."""
    findings = expectations.load_findings()
    scripts = sorted((BACKENDS / "reproducers").glob("*.py"))
    assert {s.stem for s in scripts} == set(findings)  # one per finding, none left over
    for script in scripts:
        tree = ast.parse(script.read_text(encoding="utf-8"))
        imported = {
            alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names
        }
        imported |= {
            node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module
        }
        assert "layercontract" not in imported, script.name
        assert ast.get_docstring(tree) and script.stem in ast.get_docstring(tree), script.name


# ------------------------------------------------------- legacy files: doctor and convert
LEGACY = (
    toml_table(
        "deviation",
        test=TEST,
        clause="BUILD.BUILT_FLAG",
        kind="upstream-behaviour",
        observed="o1",
        reason="Same reason. More.",
        upstream="keras-team/keras#1",
        when="numpy >= 1",
        match="built",
    )
    + toml_table(
        "deviation",
        test="suites/test_build.py::test_build_runs_once_over_calls_with_new_batch_sizes",
        clause="BUILD.ONCE",
        kind="upstream-behaviour",
        observed="o2",
        reason="Same reason. More.",
        upstream="keras-team/keras#1",
        when="numpy >= 2",
    )
    + toml_table(
        "deviation",
        test="suites/test_build.py::test_first_call_runs_build_before_call",
        clause="BUILD.ONCE",
        kind="limitation",
        observed="o3",
        reason="Another reason.",
    )
)


def test_doctor_says_how_to_convert_a_legacy_file(tmp_path):
    from layercontract.spec.harness.commands import doctor
    from layercontract.spec.harness.contract_checks import Report

    path = tmp_path / "exp.toml"
    path.write_text("# an adapter's file\n" + LEGACY, encoding="utf-8")
    report = Report()
    doctor.check_expectations(None, path, report)
    assert report.problems == []
    [hint] = [what for ok, what in report.checks if "legacy form" in what]
    assert f"`layercontract expectations convert {path}` rewrites them as findings" in hint


def test_convert_writes_each_reason_once_and_every_entry_reads_as_before(tmp_path):
    from layercontract.spec.harness.cli import main

    path = tmp_path / "exp.toml"
    path.write_text("# an adapter's file\n\n" + LEGACY, encoding="utf-8")
    before = expectations.load(path, spec_clauses.load())
    assert main(["expectations", "convert", str(path)]) == 0
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# an adapter's file\n") and text.count("Same reason. More.") == 1
    after, found = expectations.load_with_findings(path, spec_clauses.load())
    assert [dataclasses.replace(d, finding="") for d in after] == before  # every field but `finding` as before
    assert [d.finding for d in after] == ["build-built-flag", "build-built-flag", "build-once"]
    assert found["build-built-flag"].upstream == ("https://github.com/keras-team/keras/issues/1",)
    assert found["build-built-flag"].when == () and after[0].when == ("numpy >= 1",)  # differing `when`s stay per entry
    assert main(["expectations", "convert", str(path)]) == 0  # nothing left to convert
    assert path.read_text(encoding="utf-8") == text


# ------------------------------------------------------- reproducers against `when`
def test_the_reproducer_check_compares_each_exit_status_with_when(tmp_path, capsys):
    """Fake reproducers (no Keras import): one exits 0 where its `when` says the finding does not
    hold (agrees), one exits 0 where it holds (disagrees: exit 1), one exits 1 on tf-keras."""
    from layercontract.spec.harness import reproducer_check

    (tmp_path / "reproducers").mkdir()
    for fid, code in (("fixed-here", 0), ("holds-here", 0), ("tfk-holds", 1)):
        (tmp_path / "reproducers" / f"{fid}.py").write_text(
            f"import os\nprint('KERAS_BACKEND', os.environ.get('KERAS_BACKEND'))\nraise SystemExit({code})\n",
            encoding="utf-8",
        )
    findings = tmp_path / "findings.toml"
    findings.write_text(
        finding("fixed-here", when="keras < 1", backends=["keras-numpy"], reproducer="reproducers/fixed-here.py")
        + finding("holds-here", backends=["keras-numpy", "keras-jax"], reproducer="reproducers/holds-here.py")
        + finding("tfk-holds", backends=["tf-keras"], reproducer="reproducers/tfk-holds.py"),
        encoding="utf-8",
    )
    out = tmp_path / "table.md"
    assert (
        reproducer_check.main(["--findings", str(findings), "--out", str(out), "--only", "fixed-here", "tfk-holds"])
        == 0
    )
    assert reproducer_check.main(["--findings", str(findings), "--out", str(out)]) == 1
    printed = capsys.readouterr().out
    assert "agrees     fixed-here on keras-numpy" in printed and "agrees     tfk-holds on tf-keras" in printed
    assert "DISAGREES  holds-here on keras-jax (keras " in printed and ": KERAS_BACKEND jax" in printed
    assert "4 runs, 2 agree with `when`, 2 do NOT" in out.read_text(encoding="utf-8")


# ------------------------------------------------------------- the report's findings view
def test_the_report_lists_each_finding_with_its_backends_checks_link_and_reproducer(tmp_path):
    from layercontract.reports import merge
    from tests.harness.test_plugin import FULL_SHAPE_TEST, output, run_pytest

    (tmp_path / "reproducers").mkdir()
    (tmp_path / "reproducers" / "my-finding.py").write_text("raise SystemExit(1)\n", encoding="utf-8")
    path = tmp_path / "exp.toml"
    path.write_text(
        finding(kind="design", status="reported", reproducer="reproducers/my-finding.py")
        + entry(
            f"{FULL_SHAPE_TEST}[max_ndim]",
            clause="INPUT.ERROR_FULL_SHAPE",
            match=r"lacks full received shape \(2, 3, 4\)",
        ),
        encoding="utf-8",
    )
    record = tmp_path / "run.json"
    result = run_pytest(
        f"layercontract/{FULL_SHAPE_TEST}[max_ndim]",
        "--fault",
        "error_message_without_full_shape",
        "--expectations",
        str(path),
        "--record",
        str(record),
    )
    assert result.returncode == 0, output(result)
    written = merge.write_reports([record], tmp_path / "out")
    matrix = json.loads(written["matrix.json"].read_text(encoding="utf-8"))
    [f] = matrix["findings"]
    assert (f["id"], f["kind"], f["title"], f["status"], f["upstream"], f["n_checks"]) == (
        "my-finding",
        "design",
        "built stays False",
        "reported",
        ["https://github.com/o/r/issues/7"],
        1,
    )
    assert f["reproducer"] == str(tmp_path / "reproducers" / "my-finding.py")
    [column] = f["columns"]
    assert column["checks"] == [f"{FULL_SHAPE_TEST}[max_ndim]"] and column["outcomes"] == {"expected-deviation": 1}
    summary = written["summary.md"].read_text(encoding="utf-8")
    assert "### Findings: 1" in summary and r"[o/r\#7](https://github.com/o/r/issues/7)" in summary
    page = written["index.html"].read_text(encoding="utf-8")
    assert 'id="finding-my-finding"' in page and 'href="#finding-my-finding"' in page


def test_a_built_in_finding_shows_its_reproducer_in_the_repository():
    from layercontract.reports import findings_view

    backends = {
        "keras-jax": {
            "backend": "keras-jax",
            "version": "3.15.1",
            "tests": {
                "suites/test_x.py::test_y": {
                    "outcome": "expected-deviation",
                    "deviation": {
                        "finding": "k3-jax-stateless-call-drops-training",
                        "kind": "upstream-bug",
                        "upstream": "keras-team/keras#23364",
                        "when": ["keras < 3.16.0.dev0"],
                        "file": "layercontract/backends/expectations/keras-jax.toml",
                    },
                }
            },
        }
    }
    [f] = findings_view.build(backends)
    assert f["reproducer"] == "layercontract/backends/reproducers/k3-jax-stateless-call-drops-training.py"
    assert f["upstream"] == ["https://github.com/keras-team/keras/pull/23364"] and f["when"] == ["keras < 3.16.0.dev0"]


def test_an_entry_naming_a_renamed_suite_file_is_told_the_new_name():
    old = "suites/test_tutorials.py::test_tutorial_model_called_with_training_true_trains_its_inner_layers"
    entry = expectations.Deviation(test=old, clause="TRAIN.X", kind="design", observed="", reason="r")
    known = {
        "suites/test_tutorial_models_batchnorm.py::"
        "test_tutorial_model_called_with_training_true_trains_its_inner_layers"
    }
    (problem,) = expectations.static_problems([entry], known)
    assert "renamed to suites/test_tutorial_models_batchnorm.py" in problem


# -------------------------------------------- two entries for one test: their `when` ranges
DISJOINT = [
    ("keras < 3.10", "keras >= 3.10"),
    ("keras < 3.16", "keras >= 3.16.0.dev0"),  # "< 3.16" admits no 3.16 pre-release
    ("keras < 3.16", "keras >= 3.16rc1"),
    ("keras > 3.16", "keras < 3.16.post3"),  # "> 3.16" admits no 3.16 post-release
    ("keras == 3.1.*", "keras >= 3.2.dev0"),
    ("keras ~= 3.1", "keras < 3.1"),
    ("keras >= 3.9, < 3.16", "keras < 3.9"),
    (["keras < 3.10", "numpy >= 2"], "keras >= 3.10"),
]
OVERLAPPING = [
    ("keras <= 3.10", "keras >= 3.10"),
    ("keras >= 3.9", "keras < 3.16"),
    ("keras < 3.16rc1", "keras >= 3.16.0.dev0"),  # a pre-release bound admits the earlier ones
    ("keras == 3.1.*", "keras >= 3.1.99"),
    ("keras < 3.10", "numpy >= 2"),  # different distributions: both hold on keras 3.9, numpy 2
    ("keras != 3.10", "keras == 3.10.*"),
    (None, "keras < 3"),  # no `when`: it holds on every version
]


def _when(when) -> dict:
    return {} if when is None else {"when": when}


@pytest.mark.parametrize("a, b", DISJOINT, ids=[f"{a} | {b}" for a, b in DISJOINT])
def test_two_entries_for_one_test_with_disjoint_when_ranges_load(tmp_path, a, b):
    loaded = load(tmp_path, finding() + entry(**_when(a)) + entry(**_when(b)))
    assert [d.entry for d in loaded] == [1, 2]


@pytest.mark.parametrize("a, b", OVERLAPPING, ids=[f"{a} | {b}" for a, b in OVERLAPPING])
def test_two_entries_for_one_test_whose_when_can_both_hold_are_one_error_naming_both(tmp_path, a, b):
    text = problems(tmp_path, finding() + entry(**_when(a)) + entry(**_when(b)))
    assert "deviation #2" in text and "duplicates deviation #1" in text and len(text.splitlines()) == 1
    assert "keep one entry per test" in text


def test_an_entry_for_one_parameter_beside_one_for_all_is_judged_by_when_too(tmp_path):
    text = finding() + entry(when="keras < 3.10") + entry(test=f"{TEST}[x]", when="keras >= 3.9")
    assert "overlaps deviation #1 ('" in problems(tmp_path, text)
    load(tmp_path, finding() + entry(when="keras < 3.10") + entry(test=f"{TEST}[x]", when="keras >= 3.10"))


def test_entries_inherit_their_findings_when_before_they_are_compared(tmp_path):
    old = finding("old-finding", when="keras < 3.16.0.dev0")
    new = finding("new-finding", when="keras >= 3.16.0.dev0")
    load(tmp_path, old + new + entry(finding="old-finding") + entry(finding="new-finding"))
    assert "can both hold" in problems(
        tmp_path, old + new + entry(finding="old-finding") + entry(finding="new-finding", when="keras >= 3.15")
    )


# the versions and operators of the exhaustive check below, and versions around each
_NAMED = ["3.9", "3.10", "3.16.0.dev0", "3.16rc1", "3.16", "3.16.post1", "1!3.0"]
_AROUND = ["3.8", "3.9.1", "3.10rc1", "3.10.post1", "3.10.1", "3.15", "3.16.dev1", "3.16a1", "3.16rc1.post1"]
_AROUND += ["3.16rc2", "3.16.post0", "3.16.post0.dev0", "3.16.post2", "3.16.0.1", "3.17", "4.0", "1!2.0", "1!3.1"]


def test_disjoint_is_never_said_of_two_conditions_a_version_satisfies():
    """Every pair of one-operator conditions on the versions above: where a version (of those,
    and of those around them) satisfies both, can_both_hold says so."""
    from packaging.specifiers import SpecifierSet
    from packaging.version import Version

    specs = [f"{op}{v}" for v in _NAMED for op in ("<", "<=", ">", ">=", "==", "!=")]
    specs += [f"~={v}" for v in _NAMED if v.count(".") >= 1] + ["==3.16.*", "==3.1.*", "!=3.16.*"]
    versions = [Version(v) for v in _NAMED + _AROUND]
    admits = {s: {v for v in versions if SpecifierSet(s).contains(v, prereleases=True)} for s in specs}
    wrong = [
        (a, b)
        for a in specs
        for b in specs
        if admits[a] & admits[b] and not expectations.can_both_hold((f"keras {a}",), (f"keras {b}",))
    ]
    assert not wrong
