"""The specification itself: spec/clauses.toml loads and validates, and SPEC.md is current."""

import math
import pathlib

import pytest

from layercontract.spec import clauses as spec_clauses
from layercontract.spec import render
from layercontract.spec.clauses import SpecError, parse
from layercontract.spec.harness import check_ids, clause_citations

VALID = {
    "id": "BUILD.EXAMPLE",
    "area": "BUILD",
    "level": "MUST",
    "statement": "A statement.",
    "observes": "something",
    "editions": ["keras3", "keras2"],
    "rationale": "Because.",
    "evidence": "Observed.",
}


def toml_clause(**fields) -> str:
    """One [[clause]] table; a field set to None is left out."""
    lines = ["[[clause]]"]
    for key, value in {**VALID, **fields}.items():
        if value is None:
            continue
        if isinstance(value, list):
            lines.append(f"{key} = [{', '.join(repr(v).replace(chr(39), chr(34)) for v in value)}]")
        elif isinstance(value, bool):
            lines.append(f"{key} = {str(value).lower()}")
        else:
            lines.append(f'{key} = "{value}"')
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------ the clauses
def test_clauses_load():
    clauses = spec_clauses.load()
    assert len(clauses) >= 40
    assert all(isinstance(c, spec_clauses.Clause) for c in clauses.values())
    assert all(cid == c.id for cid, c in clauses.items())


@pytest.mark.parametrize("area", list(spec_clauses.AREAS))
def test_every_area_has_clauses(area):
    assert any(c.area == area for c in spec_clauses.load().values())


def test_every_clause_explains_itself():
    for c in spec_clauses.load().values():
        for field in ("statement", "observes", "rationale", "evidence"):
            assert getattr(c, field).strip(), f"{c.id} has an empty {field}"


def test_tolerances_are_nonnegative_rtol_and_atol():
    # suites/_helpers.tolerance() reads exactly these two keys
    for c in spec_clauses.load().values():
        if c.tolerance is not None:
            assert set(c.tolerance) == {"rtol", "atol"}, c.id
            assert all(isinstance(v, (int, float)) and math.isfinite(v) and v >= 0 for v in c.tolerance.values()), c.id


def test_checks_take_tolerances_only_from_clauses_toml():
    """No rtol/atol written in a suite: every numeric comparison reads tolerance("ID"), a literal
    id of a clause that states one, so clauses.toml is the one place a tolerance is stated."""
    import ast

    clauses = spec_clauses.load()
    problems = []
    for path in sorted(pathlib.Path(check_ids.SUITES_DIR).glob("*.py")):
        if path.name == "_helpers.py":  # defines close() and tolerance() themselves
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.keyword) and node.arg in ("rtol", "atol", "rel_tol", "abs_tol", "decimal"):
                problems.append(f"{path.name}:{node.value.lineno} writes {node.arg}=")
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "tolerance":
                arg = node.args[0] if len(node.args) == 1 and not node.keywords else None
                if not (isinstance(arg, ast.Constant) and arg.value in clauses and clauses[arg.value].tolerance):
                    problems.append(f"{path.name}:{node.lineno} tolerance() of no clause stating one")
    assert not problems, "\n".join(problems)


def test_stochastic_clauses_are_flagged():
    clauses = spec_clauses.load()
    assert clauses["TRAIN.DROPOUT_RATE"].stochastic is True
    assert clauses["BUILD.LAZY"].stochastic is False


def test_edition_specific_clauses_apply_to_their_edition_only():
    clauses = spec_clauses.load()
    for cid, c in clauses.items():
        if cid.endswith(".K3"):
            assert c.editions == ("keras3",), cid
        if cid.endswith(".K2"):
            assert c.editions == ("keras2",), cid


# ---------------------------------------------------------------- validation
def test_parse_accepts_a_valid_clause():
    clauses = parse(toml_clause(stochastic=True) + "tolerance = { rtol = 1e-5, atol = 0.0 }\n")
    c = clauses["BUILD.EXAMPLE"]
    assert c.editions == ("keras3", "keras2") and c.stochastic
    assert c.tolerance == {"rtol": 1e-5, "atol": 0.0}
    assert c.applies_to("keras2") and not c.applies_to("keras4")


@pytest.mark.parametrize(
    "fields, clause_id, problem",
    [
        ({"id": "BUILD.lower_case"}, "BUILD.lower_case", "id must look like AREA.NAME"),
        ({"id": "BUILDNODOT"}, "BUILDNODOT", "id must look like AREA.NAME"),
        ({"id": "NOSUCH.THING", "area": "NOSUCH"}, "NOSUCH.THING", "area 'NOSUCH' must be one of"),
        ({"area": "CALL"}, "BUILD.EXAMPLE", "area 'CALL' must be one of"),  # area must prefix the id
        ({"level": "SHALL"}, "BUILD.EXAMPLE", "level must be one of"),
        ({"colour": "blue"}, "BUILD.EXAMPLE", "unknown fields ['colour']"),
        ({"editions": []}, "BUILD.EXAMPLE", "editions must be a non-empty subset"),
        ({"editions": ["keras4"]}, "BUILD.EXAMPLE", "editions must be a non-empty subset"),
        ({"rationale": None}, "BUILD.EXAMPLE", "rationale"),
    ],
)
def test_parse_rejects_a_malformed_clause_naming_it(fields, clause_id, problem):
    text = toml_clause(id="BUILD.FINE") + toml_clause(**fields)
    with pytest.raises(SpecError) as e:
        parse(text, "example.toml")
    message = str(e.value)
    assert message.startswith("example.toml: ")
    assert f"{clause_id}: " in message and problem in message
    assert "BUILD.FINE" not in message  # only the bad clause is blamed


def test_questions_are_thread_sources_rendered_as_asked_in():
    text = toml_clause(questions=["keras-team/keras#23258", "tensorflow/tensorflow#42443"])
    clause = parse(text)["BUILD.EXAMPLE"]
    assert clause.questions == ("keras-team/keras#23258", "tensorflow/tensorflow#42443")
    assert parse(toml_clause())["BUILD.EXAMPLE"].questions == ()
    rendered = render.render(parse(text), citations={})
    assert (
        "- **Asked in:** [keras-team/keras#23258](https://github.com/keras-team/keras/issues/23258), "
        "[tensorflow/tensorflow#42443](https://github.com/tensorflow/tensorflow/issues/42443)\n"
    ) in rendered
    assert "Asked in" not in render.render(parse(toml_clause()), citations={}).split('<a id="BUILD.EXAMPLE">')[1]


@pytest.mark.parametrize(
    "questions",
    [
        ["keras#1"],
        ["https://github.com/keras-team/keras/issues/1"],
        ["keras-team/keras#1", "keras-team/keras#1"],
        ["keras-team/keras#0"],
    ],
)
def test_parse_rejects_malformed_questions(questions):
    with pytest.raises(SpecError, match=r"BUILD\.EXAMPLE: questions must be distinct thread sources"):
        parse(toml_clause(questions=questions))


def test_evidence_cites_probes_that_exist():
    """A clause's evidence names its probe by its path in the checkout (evidence/probes/<probe>.py)."""
    import re

    root = pathlib.Path(__file__).resolve().parents[2]
    cited = {
        (cid, path)
        for cid, c in spec_clauses.load().items()
        for path in re.findall(r"evidence/[\w/.-]+\.py", c.evidence)
    }
    assert [(cid, path) for cid, path in sorted(cited) if not (root / path).is_file()] == []


def test_parse_rejects_a_duplicate_id():
    with pytest.raises(SpecError, match=r"BUILD\.EXAMPLE: duplicate id"):
        parse(toml_clause() + toml_clause(statement="Another."))


def test_parse_reports_every_problem_at_once():
    text = toml_clause(id="BUILD.ONE", level="SHALL") + toml_clause(id="BUILD.TWO", editions=[])
    with pytest.raises(SpecError) as e:
        parse(text)
    assert "BUILD.ONE: level" in str(e.value) and "BUILD.TWO: editions" in str(e.value)


# ------------------------------------------------------------------- SPEC.md
def test_spec_md_is_up_to_date(capsys):
    assert render.main(["--check"]) == 0, capsys.readouterr().err


def test_render_check_fails_clearly_on_a_stale_or_missing_file(tmp_path, capsys):
    spec_md = tmp_path / "SPEC.md"
    assert render.main(["--check"], spec_md=spec_md) == 1
    assert "does not exist" in capsys.readouterr().err
    first = next(c for c in spec_clauses.load().values() if c.level == "MUST")
    statement = render._markdown(first.statement)
    stale = render.render().replace(f"**MUST** — {statement}", f"**MAY** — {statement}")
    spec_md.write_text(stale, encoding="utf-8")
    assert render.main(["--check"], spec_md=spec_md) == 1
    err = capsys.readouterr().err
    assert "is out of date" in err and "python -m layercontract.spec.render" in err
    assert f"-**MAY** — {statement}" in err and f"+**MUST** — {statement}" in err
    assert render.main([], spec_md=spec_md) == 0
    assert render.main(["--check"], spec_md=spec_md) == 0


def test_spec_md_has_an_anchor_level_and_tests_for_every_clause():
    text = render.render()
    citations = clause_citations.cited_clauses()
    for cid, c in spec_clauses.load().items():
        section = text.split(f'<a id="{cid}"></a>\n', 1)[1].split("<a id=", 1)[0]
        assert f"### {cid}\n" in section
        assert f"**{c.level}**" in section
        assert "**Editions:** " + ", ".join(c.editions) in section
        for test in citations[cid]:
            assert f"`suites/{test}`" in section
    for area in spec_clauses.AREAS:
        assert f'<a id="{area}"></a>' in text and f"[{area}](#{area})" in text


def test_render_is_deterministic_and_counts_per_area():
    assert render.render() == render.render()
    clauses = parse(toml_clause(id="CALL.ONE", area="CALL") + toml_clause(id="CALL.TWO", area="CALL", level="SHOULD"))
    text = render.render(clauses, citations={"CALL.ONE": ["test_x.py::test_one"]})
    assert "| [CALL](#CALL) | The \\_\\_call\\_\\_ -> call path | 2 | 1 | 1 | 0 |" in text
    assert "| [BUILD](#BUILD) | Lazy, one-time build and weight tracking | 0 | 0 | 0 | 0 |" in text
    assert "`suites/test_x.py::test_one`" in text
    assert "- **Checked by:** *no test*" in text  # CALL.TWO


def test_markdown_escaping_leaves_code_spans_alone():
    assert render._markdown("the __call__ path, `__call__` itself") == r"the \_\_call\_\_ path, `__call__` itself"


def test_every_built_in_expectations_entry_names_the_failure_it_explains():
    """`match` (CONTRIBUTING's expectations review): without it an entry would accept any failure of
    its check, and an unrelated one (a Keras that cannot fit at all) would pass as the reviewed deviation."""
    import importlib.resources

    from layercontract.spec.harness import expectations

    files = sorted(
        pathlib.Path(str(f))
        for f in importlib.resources.files("layercontract.backends.expectations").iterdir()
        if f.name.endswith(".toml")
    )
    assert len(files) >= 7
    missing = [
        f"{path.name} #{d.entry} {d.test}"
        for path in files
        for d in expectations.load(path, spec_clauses.load())
        if not d.match
    ]
    assert missing == []
