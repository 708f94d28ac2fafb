"""Expectations files: reviewed data listing a backend's known deviations.

    [[deviation]]
    test = "suites/test_train.py::test_name"     # a node id; without [params] it covers all
    clause = "TRAIN.SOMETHING"                      # the clause the deviation concerns
    kind = "upstream-bug"                           # upstream-bug | upstream-behaviour | limitation
    observed = "what the backend does"
    reason = "why"
    upstream = "keras-team/keras#12345"            # optional
    when = "keras < 3.16"                           # optional: only on these versions
    match = "moving mean not updated"               # the failure it explains (a regular expression)

`when` is a condition on the versions the backend records (its `versions()`): one PEP 440
requirement ("keras >= 3.9, < 3.16") or a list of them, all of which must hold. Pre-releases
count as versions like any other ("keras < 3.16" excludes 3.16.0.dev builds, as PEP 440 says
for an exclusive bound). Without `when` an entry holds on every version. An entry whose
condition does not hold is inactive: its check must pass. A condition naming a distribution the
backend does not record is an error.

`match` pins the entry to the failure it describes: a regular expression searched in the
failure's first line (the line the record and report show: the assertion message, or the
exception's type and message). A failure it does not find is not this deviation: the test fails
as "fail", its first line saying which entry expected what. Without `match` any failure of the
test counts (kept for adapters' own files; every entry of the built-in files has one), which can
hide a new, unrelated failure behind a reviewed entry: a Keras release that cannot run `fit` at all
still "failed as expected" on the fit clauses.
"""
from __future__ import annotations

import dataclasses
import pathlib
import re
import tomllib

from packaging.requirements import InvalidRequirement, Requirement
from packaging.version import InvalidVersion, Version

from layercontract.spec.harness import inputs, safe_regex

MAX_FILE_BYTES = 4 * 1024 * 1024  # a backend's deviations: a few KiB
MAX_WHEN_CHARS = 200  # 'keras >= 3.12, < 3.16'

KINDS = {"upstream-bug", "upstream-behaviour", "limitation"}
REQUIRED = ("test", "clause", "kind", "observed", "reason")
OPTIONAL = ("upstream", "when", "match")


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
    when: tuple[str, ...] = ()
    match: str = ""
    file: str = dataclasses.field(default="", compare=False)  # the expectations file, as given
    entry: int = dataclasses.field(default=0, compare=False)  # 1-based index of its [[deviation]]

    def holds_on(self, versions: dict[str, str]) -> bool:
        """True if every `when` requirement holds on these {distribution: version}; raises
        ExpectationsError for a distribution the backend does not record."""
        for text in self.when:
            requirement = Requirement(text)
            recorded = versions.get(requirement.name)
            if recorded is None:
                raise ExpectationsError(
                    f"expectations entry for {self.test!r}: its condition {text!r} names "
                    f"{requirement.name!r}, which the backend does not record (it records: "
                    f"{', '.join(sorted(versions)) or 'nothing'})")
            try:
                version = Version(recorded)
            except InvalidVersion:
                raise ExpectationsError(f"expectations entry for {self.test!r}: the backend records "
                                        f"{requirement.name} {recorded!r}, not a PEP 440 version") from None
            if not requirement.specifier.contains(version, prereleases=True):
                return False
        return True

    def matches(self, nodeid: str) -> bool:
        return nodeid == self.test or nodeid.split("[", 1)[0] == self.test

    def explains(self, first_line: str) -> bool:
        """True if this entry describes a failure whose first line is `first_line` (matched
        with a time bound: safe_regex)."""
        return not self.match or safe_regex.search(self.match, first_line) is True

    def mismatch(self, first_line: str) -> str:
        """The first line of a failure this entry does not explain."""
        undecided = " (the match did not decide in time)" if safe_regex.search(self.match, first_line) is None else ""
        return (f"not the expected deviation: {self.file} deviation #{self.entry} expects a failure "
                f"matching {self.match!r}{undecided}; this failure: {first_line}")

    def describe(self) -> str:
        ref = f" [{self.upstream}]" if self.upstream else ""
        cond = f" (when {'; '.join(self.when)})" if self.when else ""
        return f"{self.kind}{cond}: {self.observed} — {self.reason}{ref}"


def entry_for(deviations, check: str) -> Deviation | None:
    """The entry describing a check (a check id), or None: the first that matches it."""
    return next((d for d in deviations if d.matches(check)), None)


_TEST_ID = re.compile(r"suites/test_\w+\.py::\w+(\[.+\])?")


def _overlaps(path, deviations: list[Deviation]) -> list[str]:
    """Two entries for one test (a duplicate, or a test entry beside one for all its parameters)
    whose conditions could both hold: which one describes the test is ambiguous."""
    problems = []
    for i, a in enumerate(deviations):
        for j in range(i):
            b = deviations[j]
            if not (a.matches(b.test) or b.matches(a.test)):
                continue
            if a.when and b.when and a.when != b.when:
                continue  # conditioned on different versions: may be disjoint ranges
            what = "duplicates" if a.test == b.test else "overlaps"
            problems.append(f"{path}: deviation #{a.entry} ({a.test!r}) {what} deviation "
                            f"#{b.entry} ({b.test!r}): keep one entry per test")
    return problems


def static_problems(deviations: list[Deviation], known_tests: set[str]) -> list[str]:
    """Entries naming a suite file or test function that does not exist (`known_tests`:
    "suites/test_x.py::test_name", from the suites' source): checkable on any selection."""
    files = {t.split("::", 1)[0] for t in known_tests}
    problems = []
    for d in deviations:
        base = d.test.split("[", 1)[0]
        file = base.split("::", 1)[0]
        if file not in files:
            problems.append(f"expectations entry for {d.test!r}: no suite file {file} "
                            "(fix or remove the entry)")
        elif base not in known_tests:
            problems.append(f"expectations entry for {d.test!r}: {file} has no test "
                            f"{base.split('::', 1)[1]!r} (fix or remove the entry)")
    return problems


def unmatched(deviations: list[Deviation], check_ids) -> list[str]:
    """Entries matching none of `check_ids` (every test of the whole suite): a parameter that
    does not exist. Only meaningful against the complete collection."""
    check_ids = list(check_ids)
    return [f"expectations entry for {d.test!r} matches no test (no such parameter; fix or remove "
            "the entry)" for d in deviations if not any(d.matches(c) for c in check_ids)]


def load(path: pathlib.Path | None, known_clauses) -> list[Deviation]:
    if path is None or not pathlib.Path(path).exists():
        return []
    path = pathlib.Path(path)
    try:
        data = tomllib.loads(inputs.read_text(path, MAX_FILE_BYTES, "expectations (TOML)"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise ExpectationsError(f"{path}: not valid TOML: {e}") from e
    except (inputs.InputError, OSError) as e:  # a FIFO, a device, a directory, too large, unreadable
        raise ExpectationsError(str(e) if isinstance(e, inputs.InputError) else f"{path}: cannot be read: {e}") from None
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
        missing = [k for k in REQUIRED if entry.get(k) is None or entry.get(k) == ""]
        unknown = sorted(set(entry) - set(REQUIRED) - set(OPTIONAL))
        not_text = [k for k in (*REQUIRED, "upstream", "match") if k in entry and not isinstance(entry[k], str)]
        for k in not_text:
            problems.append(f"{where}: {k} must be a string, got {entry[k]!r}")
        if not_text:
            continue
        test = entry.get("test") or ""
        if test and not _TEST_ID.fullmatch(test):
            problems.append(f"{where}: test {test!r} is not a check id like "
                            "'suites/test_x.py::test_name' or 'suites/test_x.py::test_name[param]'")
            continue
        if missing:
            problems.append(f"{where}: missing {', '.join(missing)}")
        if unknown:
            problems.append(f"{where}: unknown fields {', '.join(unknown)}")
        if entry.get("kind") and entry["kind"] not in KINDS:
            problems.append(f"{where}: kind {entry['kind']!r} is not one of {sorted(KINDS)}")
        if entry.get("clause") and entry["clause"] not in known_clauses:
            problems.append(f"{where}: unknown clause {entry['clause']!r}")
        if "match" in entry:
            try:
                safe_regex.check(entry["match"])
            except safe_regex.RegexError as e:
                problems.append(f"{where}: match {str(entry['match'])[:80]!r} {e}")
        when = entry.get("when", ())
        when = (when,) if isinstance(when, str) else when
        if (not isinstance(when, (list, tuple)) or ("when" in entry and not when)
                or not all(isinstance(w, str) and w.strip() for w in when)):
            problems.append(f"{where}: when must be a requirement string or a list of them")
            when = ()
        for text in when:
            try:
                if len(text) > MAX_WHEN_CHARS:
                    raise InvalidRequirement(f"{len(text)} characters long (at most {MAX_WHEN_CHARS})")
                requirement = Requirement(text)
                requirement.specifier.contains(Version("1"), prereleases=True)  # every bound parses
            except (InvalidRequirement, InvalidVersion, ValueError) as e:
                problems.append(f"{where}: when {text[:80]!r} is not a PEP 440 requirement: {e}"[:400])
                continue
            if requirement.marker or requirement.extras or requirement.url or not requirement.specifier:
                problems.append(f"{where}: when {text!r} must be '<distribution> <specifiers>', "
                                "e.g. 'keras < 3.16'")
        if not missing and not unknown:
            deviations.append(Deviation(**{**entry, "when": tuple(when)}, file=str(path), entry=i + 1))
    problems += _overlaps(path, deviations)
    if problems:
        raise ExpectationsError("\n".join(problems))
    return deviations
