"""The clauses of the layer contract, loaded from spec/clauses.toml and validated."""

from __future__ import annotations

import dataclasses
import functools
import pathlib
import re
import tomllib

from layercontract.spec import user_cache

CLAUSES_FILE = pathlib.Path(__file__).with_name("clauses.toml")
AREAS = {
    "CALL": "The __call__ -> call path",
    "BUILD": "Lazy, one-time build and weight tracking",
    "INPUT": "InputSpec compatibility checks",
    "TRAIN": "The training flag: Dropout, BatchNormalization, propagation, fit vs predict",
    "MULTI": "Multi-input calls and Concatenate",
    "SYMBOLIC": "Symbolic Input tensors",
    "MODE": "Compiled execution (tf.function, jax.jit) keeps the eager contract",
    "DIFF": "Numerical agreement with the reference implementation",
    "DTYPE": "Dtype policies: the dtypes a layer holds, computes in, receives in call and returns",
}
LEVELS = {"MUST", "SHOULD", "MAY"}
EDITIONS = {"keras3", "keras2"}
ID_PATTERN = re.compile(r"^[A-Z]+(\.[A-Z0-9_]+)+$")
# A user question a clause settles, as the thread's `source` in the questions list (issue 19):
# "keras-team/keras#23258", "tensorflow/tensorflow#42443".
QUESTION_PATTERN = re.compile(
    r"^([A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9][A-Za-z0-9_.-]*#[1-9][0-9]*"
    r"|[a-z][a-z0-9.-]*:[1-9][0-9]*)$"
)  # a GitHub thread, or site:id (Q&A)


@dataclasses.dataclass(frozen=True)
class Clause:
    id: str
    area: str
    level: str
    statement: str
    observes: str
    editions: tuple
    rationale: str
    evidence: str
    stochastic: bool = False
    tolerance: dict | None = None
    questions: tuple = ()  # the real user threads the clause settles ("owner/repo#N"), rendered "Asked in"

    def applies_to(self, edition: str) -> bool:
        return edition in self.editions


class SpecError(Exception):
    pass


def parse(text: str, source: str = "clauses.toml") -> dict[str, Clause]:
    try:
        data = user_cache.toml(text)
    except tomllib.TOMLDecodeError as e:
        raise SpecError(f"{source}: not valid TOML: {e}") from None
    clauses, problems = {}, []
    fields = {f.name for f in dataclasses.fields(Clause)}
    for raw in data.get("clause", []):
        cid = raw.get("id", "<no id>")
        unknown = set(raw) - fields
        if unknown:
            problems.append(f"{cid}: unknown fields {sorted(unknown)}")
            continue
        try:
            clause = Clause(
                **{**raw, "editions": tuple(raw.get("editions", ())), "questions": tuple(raw.get("questions", ()))}
            )
        except TypeError as e:
            problems.append(f"{cid}: {e}")
            continue
        if not ID_PATTERN.match(clause.id):
            problems.append(f"{cid}: id must look like AREA.NAME")
        if clause.id.split(".")[0] != clause.area or clause.area not in AREAS:
            problems.append(f"{cid}: area {clause.area!r} must be one of {sorted(AREAS)} and prefix the id")
        if clause.level not in LEVELS:
            problems.append(f"{cid}: level must be one of {sorted(LEVELS)}")
        if not clause.editions or not set(clause.editions) <= EDITIONS:
            problems.append(f"{cid}: editions must be a non-empty subset of {sorted(EDITIONS)}")
        bad = [q for q in clause.questions if not (isinstance(q, str) and QUESTION_PATTERN.match(q))]
        if bad or len(set(clause.questions)) != len(clause.questions):
            problems.append(
                f"{cid}: questions must be distinct thread sources like 'keras-team/keras#123'; got {bad or list(clause.questions)}"
            )
        if cid in clauses:
            problems.append(f"{cid}: duplicate id")
        clauses[cid] = clause
    if problems:
        raise SpecError(f"{source}: " + "; ".join(problems))
    return clauses


@functools.cache
def load() -> dict[str, Clause]:
    return parse(CLAUSES_FILE.read_text(encoding="utf-8"), str(CLAUSES_FILE))
