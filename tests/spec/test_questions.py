"""spec/questions.toml: the users' questions are real threads, each with a status the clauses back."""

from __future__ import annotations

import pytest

from layercontract.spec import clauses as spec_clauses
from layercontract.spec import questions as Q


def test_the_questions_load_and_name_existing_clauses():
    questions = Q.load()
    assert len(questions) >= 60, "issue 19 tracks at least 60 real user questions"
    assert len({q.source for q in questions}) == len(questions), "one entry per thread"


@pytest.mark.parametrize(
    "mutation, problem",
    [
        ({"status": "settled"}, "a settled question names the clauses"),
        ({"status": "partial"}, "a partial question names the clauses that touch it"),
        ({"status": "out-of-scope"}, "says why"),
        ({"status": "maybe"}, "is not one of"),
        ({"settled_by": ["NO.SUCH_CLAUSE"], "status": "settled"}, "unknown clauses"),
        ({"source": "somewhere"}, "source like"),
    ],
)
def test_a_question_whose_status_the_clauses_do_not_back_is_refused(mutation, problem):
    base = {
        "id": "Q999",
        "url": "https://github.com/keras-team/keras/issues/1",
        "source": "keras-team/keras#1",
        "question": "?",
        "area": "build",
        "cluster": 2,
        "backends": ["any"],
        "releases": "keras 3",
        "answer_upstream": "",
        "status": "open",
    }
    entry = {**base, **mutation}
    text = "[[question]]\n" + "\n".join(f"{k} = {_toml(v)}" for k, v in entry.items())
    with pytest.raises(Q.QuestionsError, match=problem):
        Q.parse(text, spec_clauses.load())


def _toml(value):
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, int):
        return str(value)
    return '"' + value.replace('"', '\\"') + '"'


def test_the_clauses_and_the_questions_agree_on_what_settles_what():
    """A thread a clause lists under `questions` (SPEC.md: "Asked in") is settled by that clause in
    the questions list, and a question settled by a clause is listed by it: one relation, two views."""
    questions = {q.source: q for q in Q.load()}
    clauses = spec_clauses.load()
    problems = []
    for cid, clause in clauses.items():
        for source in clause.questions:
            q = questions.get(source)
            if q is None:
                problems.append(f"{cid} lists {source}, which the questions list does not have")
            elif cid not in q.settled_by:
                problems.append(f"{cid} lists {source} ({q.id}), which does not name it in settled_by")
    for q in questions.values():
        for cid in q.settled_by:
            if q.source not in clauses[cid].questions:
                problems.append(f"{q.id} ({q.source}) is settled by {cid}, which does not list it")
    assert not problems, "\n".join(problems)


def test_coverage_counts_every_question_once():
    questions = Q.load()
    counts = Q.coverage(questions)
    assert sum(counts[s] for s in Q.STATUSES) == len(questions)
    assert counts["in_scope"] == len(questions) - counts["out-of-scope"]


def test_the_merged_report_shows_question_coverage_beside_spec_coverage():
    from layercontract.reports import merge
    from tests.fixtures import reports as F

    matrix = merge.build(F.loaded(F.record()))
    assert matrix["coverage"]["questions"] == Q.coverage(Q.load())
    pages = merge.render_all(matrix)
    q = matrix["coverage"]["questions"]
    assert f"{q['settled']} of {q['in_scope']} in scope settled by a clause" in pages["index.html"]
    assert f"**Users' questions:** {q['settled']} of {q['in_scope']} in scope settled" in pages["summary.md"]
