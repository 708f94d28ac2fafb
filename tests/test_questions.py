"""spec/questions.toml: the users' questions are real threads, each with a status the clauses back."""
from __future__ import annotations

import pytest

from layercontract.spec import clauses as spec_clauses
from layercontract.spec import questions as Q


def test_the_questions_load_and_name_existing_clauses():
    questions = Q.load()
    assert len(questions) >= 60, "issue 19 tracks at least 60 real user questions"
    assert len({q.source for q in questions}) == len(questions), "one entry per thread"


@pytest.mark.parametrize("mutation, problem", [
    ({"status": "settled"}, "a settled question names the clauses"),
    ({"status": "partial"}, "a partial question names the clauses that touch it"),
    ({"status": "out-of-scope"}, "says why"),
    ({"status": "maybe"}, "is not one of"),
    ({"settled_by": ["NO.SUCH_CLAUSE"], "status": "settled"}, "unknown clauses"),
    ({"source": "somewhere"}, "source like"),
])
def test_a_question_whose_status_the_clauses_do_not_back_is_refused(mutation, problem):
    base = {"id": "Q999", "url": "https://github.com/keras-team/keras/issues/1",
            "source": "keras-team/keras#1", "question": "?", "area": "build", "cluster": 2,
            "backends": ["any"], "releases": "keras 3", "answer_upstream": "", "status": "open"}
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
