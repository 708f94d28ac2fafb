"""Expectations files: reviewed data listing a backend's known deviations.

    [[deviation]]
    test = "suites/test_train.py::test_name"     # a node id; without [params] it covers all
    clause = "TRAIN.SOMETHING"                      # the clause the deviation concerns
    kind = "upstream-bug"                           # upstream-bug | upstream-behaviour | limitation
    observed = "what the backend does"
    reason = "why"
    upstream = "keras-team/keras#12345"            # optional
"""
from __future__ import annotations

import dataclasses
import pathlib
import tomllib

KINDS = {"upstream-bug", "upstream-behaviour", "limitation"}
REQUIRED = ("test", "clause", "kind", "observed", "reason")


class ExpectationsError(Exception):
    pass


@dataclasses.dataclass(frozen=True)
class Deviation:
    test: str
    clause: str
    kind: str
    observed: str
    reason: str
    upstream: str = ""

    def matches(self, nodeid: str) -> bool:
        return nodeid == self.test or nodeid.split("[", 1)[0] == self.test

    def describe(self) -> str:
        ref = f" [{self.upstream}]" if self.upstream else ""
        return f"{self.kind}: {self.observed} — {self.reason}{ref}"


def load(path: pathlib.Path | None, known_clauses) -> list[Deviation]:
    if path is None or not pathlib.Path(path).exists():
        return []
    path = pathlib.Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise ExpectationsError(f"{path}: not valid TOML: {e}") from e
    entries = data.get("deviation", [])
    problems, deviations = [], []
    unknown_tables = sorted(set(data) - {"deviation"})
    if unknown_tables:
        problems.append(f"{path}: unknown top-level keys {', '.join(unknown_tables)} (expected [[deviation]])")
    if not isinstance(entries, list):
        problems.append(f"{path}: 'deviation' must be an array of tables ([[deviation]])")
        entries = []
    for i, entry in enumerate(entries):
        where = f"{path}: deviation #{i + 1}"
        if not isinstance(entry, dict):
            problems.append(f"{where}: must be a table")
            continue
        missing = [k for k in REQUIRED if not entry.get(k)]
        unknown = sorted(set(entry) - set(REQUIRED) - {"upstream"})
        if missing:
            problems.append(f"{where}: missing {', '.join(missing)}")
        if unknown:
            problems.append(f"{where}: unknown fields {', '.join(unknown)}")
        if entry.get("kind") and entry["kind"] not in KINDS:
            problems.append(f"{where}: kind {entry['kind']!r} is not one of {sorted(KINDS)}")
        if entry.get("clause") and entry["clause"] not in known_clauses:
            problems.append(f"{where}: unknown clause {entry['clause']!r}")
        if not missing and not unknown:
            deviations.append(Deviation(**entry))
    if problems:
        raise ExpectationsError("\n".join(problems))
    return deviations
