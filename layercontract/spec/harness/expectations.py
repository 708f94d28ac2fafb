"""Expectations files: reviewed data listing a backend's known deviations, each explained by a
finding (one upstream behaviour, described once).

    [[deviation]]
    test = "suites/test_train.py::test_name"     # a node id; without [params] it covers all
    clause = "TRAIN.SOMETHING"                      # the clause the deviation concerns
    finding = "k3-jax-stateless-call-drops-training"  # the finding that explains it
    observed = "what the backend does"
    match = "moving mean not updated"               # the failure it explains (a regular expression)
    when = "keras < 3.16"                           # optional: only where it differs from the finding's

A finding-referencing entry takes kind, reason, upstream and `when` (unless it has its own) from
its finding. The findings an expectations file can name: the built-in ones
(layercontract/backends/findings.toml, FINDINGS_FILE), `[[finding]]` tables in the file itself,
and the files its top-level `findings = "path"` (or a list; relative to the expectations file)
names. A finding:

    [[finding]]
    id = "k3-jax-stateless-call-drops-training"    # stable, lower-case kebab-case
    kind = "upstream-bug"                           # upstream-bug | regression | design | limitation
    title = "one line"
    reason = "the explanation, once"
    cause = "where in the upstream source"          # optional (the built-in findings have every field)
    upstream = ["https://github.com/o/r/pull/1"]    # optional: links (or one string)
    status = "fixed upstream in ..."                # optional
    when = "keras < 3.16.0.dev0"                    # optional: the versions it holds for
    backends = ["keras-jax"]                        # optional: the backends it affects
    reproducer = "reproducers/<id>.py"              # optional: relative to the file that declares it
    last_good = "3.16.0.dev..."                     # optional, once bisected; so is first_bad

The legacy form, which adapters' files written before findings use, still loads: the entry
carries `kind`, `reason` and optional `upstream` itself (no `finding`). Kinds: upstream-bug,
regression, design, limitation; the old name `upstream-behaviour` is accepted as `design`.
`layercontract expectations convert FILE` rewrites a legacy file into findings (expectations_convert.py).

`when` is a condition on the versions the backend records (its `versions()`): one PEP 440
requirement ("keras >= 3.9, < 3.16") or a list of them, all of which must hold. Pre-releases
count as versions like any other ("keras < 3.16" excludes 3.16.0.dev builds, as PEP 440 says
for an exclusive bound). Without `when` an entry holds on every version. An entry whose
condition does not hold is inactive: its check must pass. A condition naming a distribution the
backend does not record is an error. Two entries for one test (or one for a test and one for
some of its parameters) are an error when their conditions can both hold for some versions;
entries on disjoint ranges ("keras < 3.10" and "keras >= 3.10") describe one test each in turn.

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
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import InvalidVersion, Version

from layercontract.spec import user_cache
from layercontract.spec.harness import check_ids, inputs, safe_regex

MAX_FILE_BYTES = 4 * 1024 * 1024  # a backend's deviations: a few KiB
MAX_WHEN_CHARS = 200  # 'keras >= 3.12, < 3.16'

KINDS = ("upstream-bug", "regression", "design", "limitation")
LEGACY_KINDS = {"upstream-behaviour": "design"}  # old name -> kind; accepted on load
REQUIRED = ("test", "clause", "kind", "observed", "reason")  # a legacy entry
OPTIONAL = ("upstream", "when", "match")
FINDING_ENTRY_REQUIRED = ("test", "clause", "finding", "observed")  # an entry naming a finding
FINDING_ENTRY_OPTIONAL = ("when", "match")
FROM_FINDING = ("kind", "reason", "upstream")  # what a finding-referencing entry takes from its finding
FINDING_REQUIRED = ("id", "kind", "title", "reason")
FINDING_OPTIONAL = ("cause", "upstream", "status", "when", "backends", "reproducer", "last_good", "first_bad")
# The built-in findings (beside the built-in expectations files); reproducers in reproducers/<id>.py.
FINDINGS_FILE = pathlib.Path(__file__).resolve().parents[2] / "backends" / "findings.toml"
_FINDING_ID = re.compile(r"[a-z0-9][a-z0-9.-]*")


class ExpectationsError(Exception):
    pass


@dataclasses.dataclass(frozen=True)
class Finding:
    """One upstream behaviour, described once; expectations entries refer to it by id."""

    id: str
    kind: str
    title: str
    reason: str
    cause: str = ""
    upstream: tuple[str, ...] = ()  # links
    status: str = ""
    when: tuple[str, ...] = ()
    backends: tuple[str, ...] = ()
    reproducer: str = ""  # as written: relative to `file`
    last_good: str = ""
    first_bad: str = ""
    file: str = dataclasses.field(default="", compare=False)  # the file that declares it

    @property
    def reproducer_path(self) -> pathlib.Path | None:
        """The reproducer script (absolute), or None when the finding names none."""
        if not self.reproducer:
            return None
        return pathlib.Path(self.file).resolve().parent / self.reproducer

    @property
    def upstream_ref(self) -> str:
        """The first upstream link as entries spelled it ("owner/repo#N"), or ""."""
        return short_ref(self.upstream[0]) if self.upstream else ""


def short_ref(link: str) -> str:
    """https://github.com/o/r/pull/12 (or /issues/12) -> o/r#12; anything else unchanged."""
    m = re.fullmatch(r"https://github\.com/([^/]+/[^/]+)/(?:pull|issues)/(\d+)/?", link.strip())
    return f"{m.group(1)}#{m.group(2)}" if m else link.strip()


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
    finding: str = ""  # the id of the finding that explains it ("" for a legacy entry)
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
                    f"{', '.join(sorted(versions)) or 'nothing'})"
                )
            try:
                version = Version(recorded)
            except InvalidVersion:
                raise ExpectationsError(
                    f"expectations entry for {self.test!r}: the backend records "
                    f"{requirement.name} {recorded!r}, not a PEP 440 version"
                ) from None
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
        return (
            f"not the expected deviation: {self.file} deviation #{self.entry} expects a failure "
            f"matching {self.match!r}{undecided}; this failure: {first_line}"
        )

    def describe(self) -> str:
        ref = f" [{self.upstream}]" if self.upstream else ""
        cond = f" (when {'; '.join(self.when)})" if self.when else ""
        return f"{self.kind}{cond}: {self.observed} — {self.reason}{ref}"


def entry_for(deviations, check: str) -> Deviation | None:
    """The entry describing a check (a check id), or None: the first that matches it."""
    return next((d for d in deviations if d.matches(check)), None)


_TEST_ID = re.compile(r"suites/test_\w+\.py::\w+(\[.+\])?")


def can_both_hold(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    """True if some versions satisfy both conditions (`when` tuples; () holds everywhere).

    A condition constrains each distribution it names independently, so the two can both hold
    unless, for some distribution, the requirements of both on it admit no common version. That
    is decided exactly by packaging's interval arithmetic (SpecifierSet.is_unsatisfiable, which
    knows PEP 440's exclusions: "< 3.16" admits no 3.16 pre-release, "> 3.16" no 3.16 post-release,
    "== 3.1.*" is a whole range), with pre-releases admitted, as `Deviation.holds_on` admits them.
    A requirement that does not parse (reported on its own) counts as holding everywhere."""
    by_name: dict[str, SpecifierSet] = {}
    for text in (*a, *b):
        try:
            requirement = Requirement(text)
        except InvalidRequirement:
            continue
        specifier = SpecifierSet(str(requirement.specifier), prereleases=True)
        by_name[requirement.name] = by_name[requirement.name] & specifier if requirement.name in by_name else specifier
    try:
        return not any(specifier.is_unsatisfiable() for specifier in by_name.values())
    except (InvalidVersion, ValueError):  # a bound too odd to reason about: refuse rather than guess
        return True


def _overlaps(path, deviations: list[Deviation]) -> list[str]:
    """Two entries for one test (a duplicate, or a test entry beside one for all its parameters)
    whose conditions can both hold for some versions: which one describes the test is ambiguous.
    Entries whose `when` ranges are disjoint ("keras < 3.10" and "keras >= 3.10") are kept."""
    problems = []
    for i, a in enumerate(deviations):
        for j in range(i):
            b = deviations[j]
            if not (a.matches(b.test) or b.matches(a.test)) or not can_both_hold(a.when, b.when):
                continue
            what = "duplicates" if a.test == b.test else "overlaps"
            both = (
                f" and their conditions can both hold ({_condition(b)} and {_condition(a)})" if a.when or b.when else ""
            )
            problems.append(
                f"{path}: deviation #{a.entry} ({a.test!r}) {what} deviation #{b.entry} ({b.test!r}){both}: "
                "keep one entry per test" + (", or make their `when` ranges disjoint" if both else "")
            )
    return problems


def _condition(deviation: Deviation) -> str:
    return f"when {'; '.join(deviation.when)!r}" if deviation.when else "always"


def static_problems(deviations: list[Deviation], known_tests: set[str]) -> list[str]:
    """Entries naming a suite file or test function that does not exist (`known_tests`:
    "suites/test_x.py::test_name", from the suites' source): checkable on any selection."""
    files = {t.split("::", 1)[0] for t in known_tests}
    problems = []
    for d in deviations:
        base = d.test.split("[", 1)[0]
        file = base.split("::", 1)[0]
        if file in check_ids.RENAMED_FILES and file not in files:
            problems.append(
                f"expectations entry for {d.test!r}: {file} was renamed to "
                f"{check_ids.RENAMED_FILES[file]} (write that file in the entry's test)"
            )
        elif file not in files:
            problems.append(f"expectations entry for {d.test!r}: no suite file {file} (fix or remove the entry)")
        elif base not in known_tests:
            problems.append(
                f"expectations entry for {d.test!r}: {file} has no test "
                f"{base.split('::', 1)[1]!r} (fix or remove the entry)"
            )
    return problems


def load_for_run(path, clauses, known_tests: set[str], *, given: bool) -> list[Deviation]:
    """The entries a run takes from its expectations file (`given`: named on the command line, so
    it must exist), checked against the clauses and the suites (`known_tests`); one
    ExpectationsError says why not. What holds only on a backend (`when`) is the run's to check."""
    if given and not pathlib.Path(path).exists():  # a FIFO or a directory: the loader says what it is
        raise ExpectationsError(f"expectations file {path} does not exist: give an existing file to --expectations")
    try:
        deviations = load(path, clauses)
    except ExpectationsError as e:
        raise ExpectationsError(
            f"expectations file {path} is invalid (fix it, or check it with `layercontract doctor`):\n{e}"
        ) from None
    static = static_problems(deviations, known_tests)
    if static:
        raise ExpectationsError(f"expectations file {path} is invalid:\n" + "\n".join(static))
    return deviations


def unmatched(deviations: list[Deviation], check_ids) -> list[str]:
    """Entries matching none of `check_ids` (every test of the whole suite): a parameter that
    does not exist. Only meaningful against the complete collection."""
    check_ids = list(check_ids)
    return [
        f"expectations entry for {d.test!r} matches no test (no such parameter; fix or remove the entry)"
        for d in deviations
        if not any(d.matches(c) for c in check_ids)
    ]


def _read_toml(path: pathlib.Path) -> dict:
    try:
        return user_cache.toml(inputs.read_text(path, MAX_FILE_BYTES, "expectations (TOML)"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise ExpectationsError(f"{path}: not valid TOML: {e}") from e
    except inputs.InputError as e:  # a FIFO, a device, a directory, too large
        raise ExpectationsError(str(e)) from None
    except OSError as e:
        raise ExpectationsError(f"{path}: cannot read it: {e}") from e


def _when(where: str, entry: dict, problems: list[str]) -> tuple[str, ...]:
    """An entry's or finding's `when` as a tuple of requirements (problems appended)."""
    when = entry.get("when", ())
    when = (when,) if isinstance(when, str) else when
    if (
        not isinstance(when, (list, tuple))
        or ("when" in entry and not when)
        or not all(isinstance(w, str) and w.strip() for w in when)
    ):
        problems.append(f"{where}: when must be a requirement string or a list of them")
        return ()
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
            problems.append(f"{where}: when {text!r} must be '<distribution> <specifiers>', e.g. 'keras < 3.16'")
    return tuple(when)


def _strings(where: str, table: dict, key: str, problems: list[str]) -> tuple[str, ...]:
    """A field that is one string or a list of strings, as a tuple."""
    value = table.get(key, ())
    value = (value,) if isinstance(value, str) else value
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) and v.strip() for v in value):
        problems.append(f"{where}: {key} must be a string or a list of strings, got {table[key]!r}")
        return ()
    return tuple(value)


def _findings(path: pathlib.Path, tables, problems: list[str]) -> dict[str, Finding]:
    """The [[finding]] tables of one file (problems appended)."""
    found: dict[str, Finding] = {}
    if not isinstance(tables, list):
        problems.append(f"{path}: 'finding' must be an array of tables ([[finding]])")
        return found
    for i, table in enumerate(tables):
        where = f"{path}: finding #{i + 1}"
        if not isinstance(table, dict):
            problems.append(f"{where}: must be a table")
            continue
        if isinstance(table.get("id"), str) and table["id"]:
            where = f"{path}: finding {table['id']!r}"
        before = len(problems)
        missing = [k for k in FINDING_REQUIRED if table.get(k) is None or table.get(k) == ""]
        if missing:
            problems.append(f"{where}: missing {', '.join(missing)}")
        unknown = sorted(set(table) - set(FINDING_REQUIRED) - set(FINDING_OPTIONAL))
        if unknown:
            problems.append(f"{where}: unknown fields {', '.join(unknown)}")
        single = [
            k
            for k in (*FINDING_REQUIRED, "cause", "status", "reproducer", "last_good", "first_bad")
            if k in table and not isinstance(table[k], str)
        ]
        for k in single:
            problems.append(f"{where}: {k} must be a string, got {table[k]!r}")
        if len(problems) > before:
            continue
        if not _FINDING_ID.fullmatch(table["id"]):
            problems.append(f"{where}: id must be lower-case kebab-case (letters, digits, '-', '.')")
        if table["kind"] not in KINDS:
            hint = (
                f" (the old name of {LEGACY_KINDS[table['kind']]!r}: write that)"
                if table["kind"] in LEGACY_KINDS
                else ""
            )
            problems.append(f"{where}: kind {table['kind']!r} is not one of {list(KINDS)}{hint}")
        upstream = _strings(where, table, "upstream", problems)
        backends = _strings(where, table, "backends", problems)
        when = _when(where, table, problems)
        finding = Finding(**{**table, "upstream": upstream, "backends": backends, "when": when}, file=str(path))
        script = finding.reproducer_path
        if script is not None and not script.is_file():
            problems.append(
                f"{where}: reproducer {finding.reproducer} does not exist "
                f"(looked for {script}; the path is relative to {path.name})"
            )
        if finding.id in found:
            problems.append(f"{where}: duplicate id (a finding is described once)")
            continue
        found[finding.id] = finding
    return found


def load_findings(path: pathlib.Path | str = FINDINGS_FILE) -> dict[str, Finding]:
    """A findings file (only [[finding]] tables): id -> Finding, in file order."""
    path = pathlib.Path(path)
    if not path.exists():  # anything else that is no regular file: _read_toml says what it is
        raise ExpectationsError(f"findings file {path} does not exist")
    data = _read_toml(path)
    problems: list[str] = []
    unknown_tables = sorted(set(data) - {"finding"})
    if unknown_tables:
        problems.append(f"{path}: unknown top-level keys {', '.join(unknown_tables)} (expected [[finding]])")
    found = _findings(path, data.get("finding", []), problems)
    if problems:
        raise ExpectationsError("\n".join(problems))
    return found


def available_findings(path: pathlib.Path, data: dict, findings_file, problems) -> dict[str, Finding]:
    """The findings an expectations file can name: the built-in ones, those of the files its
    `findings` key names, its own [[finding]] tables. One id declared twice is an error."""
    sources: list[dict[str, Finding]] = []
    if findings_file is not None and pathlib.Path(findings_file).is_file():
        try:
            sources.append(load_findings(findings_file))
        except ExpectationsError as e:
            problems.append(str(e))
    linked = data.get("findings", ())
    linked = (linked,) if isinstance(linked, str) else linked
    if not isinstance(linked, (list, tuple)) or not all(isinstance(p, str) and p for p in linked):
        problems.append(f"{path}: findings must be a path or a list of paths (relative to {path.name})")
        linked = ()
    for name in linked:
        other = path.resolve().parent / name
        if findings_file is not None and other.resolve() == pathlib.Path(findings_file).resolve():
            continue  # the built-in findings, already there
        try:
            sources.append(load_findings(other))
        except ExpectationsError as e:
            problems.append(f"{path}: findings {name!r}: {e}")
    if "finding" in data:
        sources.append(_findings(path, data["finding"], problems))
    available: dict[str, Finding] = {}
    for source in sources:
        for fid, finding in source.items():
            if fid in available:
                problems.append(
                    f"{finding.file}: finding {fid!r} is already declared in "
                    f"{available[fid].file} (a finding is described once; use another id)"
                )
                continue
            available[fid] = finding
    return available


def load_with_findings(
    path: pathlib.Path | None, known_clauses, findings_file=FINDINGS_FILE
) -> tuple[list[Deviation], dict[str, Finding]]:
    """The entries of an expectations file and the findings it can name (see the module doc)."""
    if path is None or not pathlib.Path(path).exists():
        return [], {}
    path = pathlib.Path(path)
    data = _read_toml(path)
    entries = data.get("deviation", [])
    problems: list[str] = []
    deviations: list[Deviation] = []
    unknown_tables = sorted(set(data) - {"deviation", "finding", "findings"})
    if unknown_tables:
        problems.append(f"{path}: unknown top-level keys {', '.join(unknown_tables)} (expected [[deviation]])")
    findings = available_findings(path, data, findings_file, problems)
    if not isinstance(entries, list):
        problems.append(f"{path}: 'deviation' must be an array of tables ([[deviation]])")
        entries = []
    for i, entry in enumerate(entries):
        where = f"{path}: deviation #{i + 1}"
        if not isinstance(entry, dict):
            problems.append(f"{where}: must be a table")
            continue
        required: tuple[str, ...]
        optional: tuple[str, ...]
        if "finding" in entry:
            required, optional = FINDING_ENTRY_REQUIRED, FINDING_ENTRY_OPTIONAL
        else:
            required, optional = REQUIRED, OPTIONAL
        missing = [k for k in required if entry.get(k) is None or entry.get(k) == ""]
        inherited = [k for k in FROM_FINDING if "finding" in entry and k in entry]
        unknown = sorted(set(entry) - set(required) - set(optional) - set(inherited))
        not_text = [k for k in (*required, *FROM_FINDING, "match") if k in entry and not isinstance(entry[k], str)]
        for k in not_text:
            problems.append(f"{where}: {k} must be a string, got {entry[k]!r}")
        if not_text:
            continue
        test = entry.get("test") or ""
        if test and not _TEST_ID.fullmatch(test):
            problems.append(
                f"{where}: test {test!r} is not a check id like "
                "'suites/test_x.py::test_name' or 'suites/test_x.py::test_name[param]'"
            )
            continue
        if missing:
            problems.append(f"{where}: missing {', '.join(missing)}")
        if unknown:
            problems.append(f"{where}: unknown fields {', '.join(unknown)}")
        if inherited:
            problems.append(
                f"{where}: {', '.join(inherited)} come(s) from finding {entry['finding']!r}: "
                "remove it from the entry (or correct the finding)"
            )
        finding = None
        if entry.get("finding"):
            finding = findings.get(entry["finding"])
            if finding is None:
                import difflib

                close = difflib.get_close_matches(entry["finding"], list(findings), n=3, cutoff=0.5)
                problems.append(
                    f"{where}: unknown finding {entry['finding']!r}"
                    + (
                        f" (did you mean {', '.join(close)}?)"
                        if close
                        else " (declare it in a [[finding]] table, or name its file in `findings`)"
                    )
                )
        kind = entry.get("kind")
        if kind and kind not in KINDS and kind not in LEGACY_KINDS:
            problems.append(f"{where}: kind {kind!r} is not one of {list(KINDS)}")
        if entry.get("clause") and entry["clause"] not in known_clauses:
            problems.append(f"{where}: unknown clause {entry['clause']!r}")
        if "match" in entry:
            try:
                safe_regex.check(entry["match"])
            except safe_regex.RegexError as e:
                problems.append(f"{where}: match {str(entry['match'])[:80]!r} {e}")
        when = _when(where, entry, problems)
        if missing or unknown or inherited or ("finding" in entry and finding is None):
            continue
        fields: dict[str, Any]
        if finding is not None:
            fields = {
                "kind": finding.kind,
                "reason": finding.reason,
                "upstream": finding.upstream_ref,
                "when": when if "when" in entry else finding.when,
                "finding": finding.id,
            }
        else:
            fields = {
                "kind": LEGACY_KINDS.get(kind, kind) if kind else kind,
                "reason": entry["reason"],
                "upstream": entry.get("upstream", ""),
                "when": when,
            }
        deviations.append(
            Deviation(
                test=entry["test"],
                clause=entry["clause"],
                observed=entry["observed"],
                match=entry.get("match", ""),
                **fields,
                file=str(path),
                entry=i + 1,
            )
        )
    problems += _overlaps(path, deviations)
    if problems:
        raise ExpectationsError("\n".join(problems))
    return deviations, findings


def load(path: pathlib.Path | None, known_clauses, findings_file=FINDINGS_FILE) -> list[Deviation]:
    """The entries of an expectations file, either form (see the module doc); ExpectationsError
    lists every problem."""
    return load_with_findings(path, known_clauses, findings_file)[0]
