"""`layercontract expectations draft`: matches derived from first lines, grouping into candidate
findings, both output formats, and the adapter author's path: a red run of a deliberately
deviating adapter, a drafted legacy file with its TODOs filled, a green next run; and that path
end to end on the multi-backend example package's deviating backend, through `layercontract run`."""

import re
import subprocess
import sys
import tomllib

import pytest

from layercontract.spec.harness import check_ids, cli
from layercontract.spec.harness.commands import expectations_draft as d
from tests import forked
from tests._env import clean_env
from tests.conftest import ROOT

ADAPTER = "tests.fixtures.deviating_adapter:BuildsEveryCall"

LINES = [
    "AssertionError: Arrays are not equal · moving mean updated",
    "error message lacks full received shape (2, 3, 4): ValueError: Input 0 of layer 'dense_3' is "
    "incompatible with the layer: expected max_ndim=2, found ndim=3",
    "ValueError: shapes (None, 3) and (2, 3, 5) differ at <KerasTensor shape=(2, 3) at 0x7f00aa12> [0.1 0.  1e-05]",
    "AssertionError: received [False], expected True last",
    "TypeError: float32 conv2d 1e-06 got 3 (the first of 2 distinct failures hypothesis found)",
    "x" * 299 + "…",
    "ValueError: " + "word " * 80,
]


@pytest.mark.parametrize("line", LINES)
def test_match_is_found_in_its_line_and_keeps_the_words(line):
    pattern = d.derive_match(line)
    assert re.search(pattern, line)
    assert len(pattern) <= d.MAX_MATCH + 20
    if d.exception_type(line):
        assert pattern.startswith("^" + d.exception_type(line))


def test_no_first_line_leaves_a_todo():
    assert d.derive_match("").startswith("TODO")


def test_match_leaves_out_what_varies_and_keeps_names_of_things():
    line = LINES[1]
    pattern = d.derive_match(line)
    other = line.replace("(2, 3, 4)", "(5, 6, 7)").replace("dense_3", "dense_12").replace("ndim=3", "ndim=4")
    assert re.search(pattern, other)
    assert "max_ndim=" in pattern and "float32" in d.derive_match(LINES[4])
    assert d.normalise(line) == d.normalise(other)
    assert "hypothesis found" in d.derive_match(LINES[4])  # a parenthetical of words is kept
    assert "'dense(?:_\\d+)?'" in pattern and re.search(pattern, line.replace("'dense_3'", "'dense'"))
    assert "'ValueError'" in d.derive_match("Failed: DID NOT RAISE <class 'ValueError'>")  # a class name stays


def _row(nodeid, line, outcome="fail", clauses=("BUILD.ONCE",)):
    return {"nodeid": nodeid, "outcome": outcome, "first_line": line, "message": line, "clauses": list(clauses)}


def test_grouping_and_one_entry_for_a_function_failing_alike_in_every_case():
    mismatch = (
        "not the expected deviation: x.toml deviation #1 expects a failure matching 'abc'; "
        "this failure: ValueError: Layer 'dense_9': cannot add state"
    )
    record = {
        "backend": "b",
        "versions": {},
        "tests": [
            _row("suites/test_a.py::t[1]", "ValueError: Layer 'dense_1': cannot add state"),
            _row("suites/test_a.py::t[2]", "ValueError: Layer 'dense_2': cannot add state"),
            _row("suites/test_a.py::u[1]", mismatch, clauses=("BUILD.LAZY", "BUILD.ONCE")),
            _row("suites/test_a.py::u[2]", "", outcome="pass"),
            _row("suites/test_b.py::v", "AssertionError: BUILD.LAZY broken", clauses=("BUILD.ONCE", "BUILD.LAZY")),
            _row("suites/test_b.py::w", "crash: the process died", outcome="crash"),
            _row("suites/test_b.py::x", "", outcome="unexpected-pass"),
        ],
    }
    candidates, left_out = d.draft(record)
    assert [[e.test for e in c.entries] for c in candidates] == [
        ["suites/test_a.py::t", "suites/test_a.py::u[1]"],
        ["suites/test_b.py::v"],
    ]
    assert candidates[0].entries[1].observed == "ValueError: Layer 'dense_9': cannot add state"
    assert candidates[1].entries[0].clause == "BUILD.LAZY"  # the clause its failure names
    assert left_out == {"crash": ["suites/test_b.py::w"], "unexpected-pass": ["suites/test_b.py::x"]}
    for fmt in ("findings", "legacy"):
        data = tomllib.loads(d.render(candidates, record, "r.json", fmt))
        for entry in data["deviation"]:
            line = next(t["first_line"] for t in record["tests"] if t["nodeid"].startswith(entry["test"]))
            assert re.search(entry["match"], d.failure_line(line))
    data = tomllib.loads(d.render(candidates, record, "r.json", "findings"))
    assert [f["id"] for f in data["finding"]] == ["draft-1-once", "draft-2-lazy"]
    assert {e["finding"] for e in data["deviation"]} == {"draft-1-once", "draft-2-lazy"}
    assert all(f["kind"] == "TODO" and f["reason"].startswith("TODO") for f in data["finding"])
    assert "kind" not in data["deviation"][0] and "reason" not in data["deviation"][0]


def _review(text: str, kind: str, found: str) -> str:
    """What a person does to a drafted findings file: each finding's kind chosen, and every TODO
    field (title, cause, status, reason) replaced by what they found."""
    reviewed = re.sub(r"(?m)^kind = 'TODO'.*$", f"kind = '{kind}'", text)
    reviewed = re.sub(
        r"(?m)^(title|cause|status|reason) = '?\"?TODO[^\n]*$",
        lambda m: f"{m.group(1)} = 'reviewed: {found}'",
        reviewed,
    )
    assert "TODO" not in "\n".join(ln.split("#")[0] for ln in reviewed.splitlines() if not ln.startswith("#"))
    return reviewed


def _suite_run(tmp_path, name, *extra):
    record = tmp_path / f"{name}.json"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            str(check_ids.SUITES_DIR / "test_build.py"),
            *check_ids.pytest_location_args(),
            f"--backend={ADAPTER}",
            f"--record={record}",
            "-q",
            *extra,
        ],
        cwd=ROOT,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    return proc, record


def test_a_drafted_legacy_file_once_reviewed_makes_the_next_run_green(tmp_path, capsys):
    red, record = _suite_run(tmp_path, "red")
    assert red.returncode == 1, red.stdout[-2000:]
    draft = tmp_path / "expectations.toml"
    assert cli.main(["expectations", "draft", str(record), "--format", "legacy", "--out", str(draft)]) == 0
    assert "review every TODO" in capsys.readouterr().err
    text = draft.read_text()
    assert "kind = 'TODO'" in text
    # the review: a person fills in kind and reason
    reviewed = text.replace("kind = 'TODO'", "kind = 'limitation'").replace(
        "'TODO: why", "'reviewed: build runs on every call; why"
    )
    assert "TODO" not in "\n".join(ln for ln in reviewed.splitlines() if not ln.startswith("#"))
    draft.write_text(reviewed)
    green, record2 = _suite_run(tmp_path, "green", f"--expectations={draft}")
    assert green.returncode == 0, green.stdout[-3000:]
    import json

    counts = json.loads(record2.read_text())["counts"]
    assert counts.get("expected-deviation") == sum(1 for ln in text.splitlines() if ln == "[[deviation]]")
    assert "fail" not in counts


def test_the_findings_format_parses_and_a_bad_record_is_exit_2(tmp_path, capsys):
    _red, record = _suite_run(tmp_path, "red")
    out = tmp_path / "draft.toml"
    assert cli.main(["expectations", "draft", str(record), "--out", str(out)]) == 0
    data = tomllib.loads(out.read_text())
    assert len(data["finding"]) == 1 and all(e["finding"] == data["finding"][0]["id"] for e in data["deviation"])
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    assert cli.main(["expectations", "draft", str(bad)]) == 2
    assert "error" in capsys.readouterr().err


def test_a_drafted_findings_file_once_reviewed_makes_the_next_run_green(tmp_path, capsys):
    """The default format: the candidate findings declared in the file, entries naming them; the
    loader rejects it while a kind is TODO, and takes it once a person has filled the finding in."""
    import json

    from layercontract.spec import clauses as spec_clauses
    from layercontract.spec.harness import expectations

    red, record = _suite_run(tmp_path, "red")
    assert red.returncode == 1, red.stdout[-2000:]
    draft = tmp_path / "expectations.toml"
    assert cli.main(["expectations", "draft", str(record), "--out", str(draft)]) == 0
    text = draft.read_text()
    with pytest.raises(expectations.ExpectationsError, match="kind 'TODO' is not one of"):
        expectations.load(draft, spec_clauses.load())
    draft.write_text(_review(text, "limitation", "build runs on every call"))
    deviations = expectations.load(draft, spec_clauses.load())
    assert deviations and all(d.finding and d.kind == "limitation" for d in deviations)
    green, record2 = _suite_run(tmp_path, "green", f"--expectations={draft}")
    assert green.returncode == 0, green.stdout[-3000:]
    counts = json.loads(record2.read_text())["counts"]
    assert counts.get("expected-deviation") == len(deviations) and "fail" not in counts


# ------------------------------------------- end to end: the multi-backend example package
EXAMPLE = ROOT / "examples" / "layercontract-example-adapter"
LENIENT = "layercontract_example_adapter:ExampleKerasNumpyLenient"  # its deliberately deviating backend
SHIPPED = EXAMPLE / "layercontract_example_adapter" / "example-keras-numpy-lenient.toml"
DROPOUT_RATE_CHECK = "suites/test_train_dropout.py::test_dropout_rejects_rate_outside_unit_interval_at_construction"
MAX_NDIM_CHECK = "suites/test_input.py::test_error_shows_the_full_received_shape[max_ndim]"  # a shipped entry's


def _layercontract_run(place, out, *selection):
    """`layercontract run` of the example's deviating backend from a directory of the author's own,
    the package not installed: PYTHONPATH reaches it (docs/WRITING_AN_ADAPTER.md)."""
    return forked.cli(
        "run",
        "--backend",
        LENIENT,
        "--out",
        out,
        "--",
        *selection,
        cwd=place,
        env=clean_env(PYTHONPATH=str(EXAMPLE)),
        timeout=600,
    )


@pytest.mark.integration
def test_the_multi_backend_example_goes_from_red_to_green_through_a_drafted_file(tmp_path, capsys):
    """The author's path on the example's deviating backend: a red run, its record drafted into
    a findings file, the draft reviewed (the finding renamed, its kind chosen, its TODOs filled)
    and added to the backend's expectations file, a green run; the version every view shows is
    the example's declared key distribution's, never "?"."""
    from layercontract.reports import records

    example_version = tomllib.loads((EXAMPLE / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
    key = f"layercontract-example-adapter {example_version}"
    red = _layercontract_run(tmp_path, tmp_path / "red", DROPOUT_RATE_CHECK, MAX_NDIM_CHECK)
    assert red.returncode == 1, red.stdout[-3000:] + red.stderr
    assert red.stdout.splitlines()[-1].startswith(
        f"layercontract run: FAIL example-keras-numpy-lenient ({key}): 3 tests, 2 unexpected: 2 fail; "
        "as expected: 1 expected-deviation"
    ), red.stdout[-2000:]

    draft = tmp_path / "drafted.toml"
    record = tmp_path / "red" / "example-keras-numpy-lenient.json"
    assert cli.main(["expectations", "draft", str(record), "--out", str(draft)]) == 0
    assert "review every TODO" in capsys.readouterr().err
    text = draft.read_text(encoding="utf-8")
    assert f"(this run: {key})" in text and DROPOUT_RATE_CHECK in text and MAX_NDIM_CHECK not in text
    drafted_id = tomllib.loads(text)["finding"][0]["id"]
    reviewed = _review(text.replace(drafted_id, "lenient-dropout-clamps-rate"), "design", "Dropout clamps the rate")
    own = tmp_path / "example-keras-numpy-lenient.toml"  # the backend's file: what it shipped, and the new finding
    own.write_text(SHIPPED.read_text(encoding="utf-8") + "\n" + reviewed, encoding="utf-8")

    green = _layercontract_run(tmp_path, tmp_path / "green", DROPOUT_RATE_CHECK, MAX_NDIM_CHECK, "--expectations", own)
    assert green.returncode == 0, green.stdout[-3000:] + green.stderr
    assert green.stdout.splitlines()[-1] == (
        f"layercontract run: PASS example-keras-numpy-lenient ({key}): 3 tests, every outcome as expected: "
        "3 expected-deviation"
    )
    data = records.load(tmp_path / "green" / "example-keras-numpy-lenient.json")
    assert data["key_distribution"] == "layercontract-example-adapter"  # the adapter's declaration, recorded
    assert records.key_version(data) == ("layercontract-example-adapter", example_version)
    deviations = {t["nodeid"]: t["deviation"]["finding"] for t in data["tests"]}
    assert deviations == {  # the drafted entry covers both rates; the shipped one is a legacy entry (no finding)
        f"{DROPOUT_RATE_CHECK}[-0.1]": "lenient-dropout-clamps-rate",
        f"{DROPOUT_RATE_CHECK}[1.5]": "lenient-dropout-clamps-rate",
        MAX_NDIM_CHECK: "",
    }
    summary = (tmp_path / "green" / "example-keras-numpy-lenient.md").read_text(encoding="utf-8")
    assert f"| **example-keras-numpy-lenient** | {key} | complete |" in summary
