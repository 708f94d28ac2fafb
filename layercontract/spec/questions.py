"""The users' questions the spec answers: real upstream threads, loaded from spec/questions.toml
and checked against the clauses (a question settled or touched by a clause names existing clauses)."""

from __future__ import annotations

import collections
import dataclasses
import functools
import pathlib
import re
import tomllib

from layercontract.spec import clauses as spec_clauses

QUESTIONS_FILE = pathlib.Path(__file__).with_name("questions.toml")
STATUSES = ("settled", "partial", "open", "out-of-scope")
AREAS = {"build", "input", "training", "multi", "dtype"}
CLUSTERS = {
    0: "core",
    1: "a model's inputs",
    2: "building composites and models",
    3: "the training flag through other entry points",
    4: "dtype policies",
    5: "older releases",
}
SOURCE = re.compile(r"^([\w.-]+/[\w.-]+#\d+|stackoverflow:\d+|[\w.-]+:[\w./-]+)$")


@dataclasses.dataclass(frozen=True)
class Question:
    id: str
    url: str
    source: str
    question: str
    area: str
    cluster: int
    backends: tuple[str, ...]
    releases: str
    answer_upstream: str
    status: str
    settled_by: tuple[str, ...] = ()
    touched_by: tuple[str, ...] = ()
    why: str = ""

    @property
    def in_scope(self) -> bool:
        return self.status != "out-of-scope"


class QuestionsError(Exception):
    pass


def parse(text: str, known_clauses, source: str = "questions.toml") -> list[Question]:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise QuestionsError(f"{source}: not valid TOML: {e}") from None
    fields = {f.name for f in dataclasses.fields(Question)}
    questions, problems, seen = [], [], set()
    for raw in data.get("question", []):
        qid = raw.get("id", "<no id>")
        unknown = sorted(set(raw) - fields)
        if unknown:
            problems.append(f"{qid}: unknown fields {unknown}")
            continue
        try:
            q = Question(**{**raw, **{k: tuple(raw.get(k, ())) for k in ("backends", "settled_by", "touched_by")}})
        except TypeError as e:
            problems.append(f"{qid}: {e}")
            continue
        if q.id in seen:
            problems.append(f"{qid}: duplicate id")
        seen.add(q.id)
        if q.status not in STATUSES:
            problems.append(f"{qid}: status {q.status!r} is not one of {list(STATUSES)}")
        if q.area not in AREAS or q.cluster not in CLUSTERS:
            problems.append(f"{qid}: area must be one of {sorted(AREAS)}, cluster one of {sorted(CLUSTERS)}")
        if not q.url.startswith("https://") or not SOURCE.match(q.source):
            problems.append(f"{qid}: url must be https://..., source like 'owner/repo#N'")
        unknown_clauses = [c for c in (*q.settled_by, *q.touched_by) if c not in known_clauses]
        if unknown_clauses:
            problems.append(f"{qid}: unknown clauses {unknown_clauses}")
        if (q.status == "settled") != bool(q.settled_by):
            problems.append(
                f"{qid}: a settled question names the clauses that settle it (settled_by), and only a settled one does"
            )
        if q.status == "partial" and not q.touched_by:
            problems.append(f"{qid}: a partial question names the clauses that touch it (touched_by)")
        if q.status == "out-of-scope" and not q.why:
            problems.append(f"{qid}: an out-of-scope question says why")
        questions.append(q)
    if problems:
        raise QuestionsError(f"{source}: " + "; ".join(problems))
    return questions


@functools.cache
def load() -> list[Question]:
    return parse(QUESTIONS_FILE.read_text(encoding="utf-8"), spec_clauses.load(), str(QUESTIONS_FILE))


def coverage(questions: list[Question]) -> dict[str, int]:
    """Counts by status, and `in_scope`: every question but the out-of-scope ones."""
    counts = collections.Counter(q.status for q in questions)
    return {**{s: counts.get(s, 0) for s in STATUSES}, "in_scope": sum(q.in_scope for q in questions)}


def by_clause(questions: list[Question]) -> dict[str, list[Question]]:
    """For each clause, the questions it settles."""
    out: dict[str, list[Question]] = collections.defaultdict(list)
    for q in questions:
        for cid in q.settled_by:
            out[cid].append(q)
    return dict(out)
