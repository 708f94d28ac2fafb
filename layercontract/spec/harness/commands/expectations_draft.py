"""layercontract expectations draft RECORD: expectations entries drafted from a run's failures.

Reads a run record (reports/records.py) and drafts one entry per unexpected failure (outcome
"fail"; a failure an entry's `match` did not describe is drafted from its own first line),
grouped into candidate findings: failures with the same exception type and normalised first
line (numbers, shapes, addresses and quoted instance names replaced) are one candidate, whatever
their clauses (one upstream behaviour often fails checks of several clauses). Each entry has

  test      the check id (the test function alone when all its parametrizations failed alike)
  clause    the check's first cited clause, unless the failure's text names another of them
  observed  the failure's first line (rewrite it as what the backend does)
  match     a regular expression from the first line: its words and punctuation, escaped, with
            the numbers, shapes and addresses that vary between runs left out (`.*`), a quoted
            layer name's automatic number optional ('dense(?:_\\d+)?'), anchored at the exception
            type; checked to be found in the first line it came from

and placeholders marked TODO (kind, reason, the finding's title, cause, upstream) for a person to
review: the file does not load until they are replaced, by design.

--format findings (the default): a [[finding]] per candidate and [[deviation]] entries that
refer to it (finding = "..."), the format of findings-based expectations files.
--format legacy: today's format, [[deviation]] entries with kind/observed/reason inline, which
the current loader reads (`layercontract run --backend X -- --expectations FILE`).

Harness errors, crashes and timeouts are not drafted (they are not deviations: fix the run);
unexpected passes are listed as stale entries to delete.

Exit status: 0 written (or nothing to draft); 2 an unreadable record or an unwritable --out.
"""

from __future__ import annotations

import collections
import dataclasses
import json
import pathlib
import re
import sys

from layercontract.spec.harness import outcomes
from layercontract.spec.harness.commands.options import usable_file, write_file

HELP = "draft expectations entries (grouped into candidate findings) from a run record's failures"
TODO = "TODO"
LEGACY_KINDS = "upstream-bug | upstream-behaviour | limitation"
FINDING_KINDS = "upstream-bug | regression | design | limitation"
MAX_MATCH = 240

# What varies between runs or parametrizations of one failure: object reprs and addresses,
# bracketed groups with digits (shapes, arrays, lists of numbers), numbers not part of a name.
_VARIABLE = re.compile(
    r"""
      <[^<>]*\bat\s+0x[0-9a-fA-F]+>            # <object at 0x7f...>
    | 0x[0-9a-fA-F]+                          # addresses
    | \((?:\s*(?:[-+]?\d[\w.+-]*|None|\?)\s*,?)+\)          # shapes: (2, 3, 4), (None, 3)
    | \[(?:\s*(?:[-+]?\d[\w.+-]*|None|nan|inf)\s*,?)+\]      # arrays: [0.12 0.3], [1, 2]
    | (?<=[A-Za-z])_\d+\b                      # an automatic name's number: dense_4, simple_dense_2
    | (?<![\w.])[-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?(?![\w])   # 3, -0.5, 1e-06 (not float32, conv2d)
""",
    re.VERBOSE,
)
_QUOTED = re.compile(r"'[^'\s]*'")  # names ('dense', 'simple_dense_2'): one upstream behaviour, any layer
# A quoted snake_case name ('dense', 'simple_dense_2': layer and argument names) is kept in a
# match with its automatic number optional: the number depends on what ran before in the process.
_TOKEN = re.compile(r"(?P<name>'(?P<base>[a-z_][a-z0-9_]*?)(?:_\d+)?')|(?P<var>" + _VARIABLE.pattern + ")", re.VERBOSE)
SHORT = 160  # a longer first line is matched up to its first sentence's end
_EXCEPTION = re.compile(r"^((?:[A-Za-z_]\w*\.)*[A-Za-z_]\w*(?:Error|Exception|Exit|Interrupt|Warning))\b")
_MISMATCH = re.compile(r"^not the expected deviation: .*?; this failure: (.*)$")
_WORD = re.compile(r"[A-Za-z]{2,}")


def failure_line(first_line: str) -> str:
    """The failure's own first line (an entry's mismatch note quotes it at its end)."""
    found = _MISMATCH.match(first_line or "")
    return found.group(1) if found else (first_line or "")


def exception_type(line: str) -> str:
    found = _EXCEPTION.match(line.strip())
    return found.group(1) if found else ""


def normalise(line: str) -> str:
    """The line with what varies replaced by '#': failures alike have the same normal form."""
    text = _QUOTED.sub("'#'", line.split("…", 1)[0])
    return re.sub(r"\s+", " ", _VARIABLE.sub("#", text)).strip()


def escape(text: str) -> str:
    """re.escape, leaving spaces and '·' (the record's line joiner) readable."""
    return re.escape(text).replace("\\ ", " ").replace("\\·", "·").replace("\\-", "-")


def derive_match(line: str) -> str:
    """A regular expression found in `line`: its stable parts, escaped, joined by `.*`."""
    if not line.strip():  # nothing to derive from: a person must write it
        return f"{TODO}: the record has no first line for this failure"
    text = line.split("…", 1)[0]  # a first line cut at its limit ends in "…"
    if len(text) > SHORT:
        end = re.search(r"[.!?](\s|$)", text[40:])
        text = text[: 40 + end.start() + 1] if end else text
    pieces: list[str | None] = []
    pos = 0  # regular-expression pieces; None: a gap where something varies
    for m in _TOKEN.finditer(text):
        pieces.append(text[pos : m.start()])
        pieces.append(f"'{escape(m.group('base'))}(?:_\\d+)?'" if m.group("name") else None)
        pos = m.end()
    pieces.append(text[pos:])
    pattern, gap = "", False
    for i, piece in enumerate(pieces):
        if piece is None or (i % 2 == 0 and not _WORD.search(piece)):  # a gap, or text without words
            gap = gap or bool(piece is None or piece.strip())
            continue
        if i % 2 == 0:
            piece = escape(piece[:MAX_MATCH])
        if pattern and len(pattern) + len(piece) + 2 > MAX_MATCH:
            break
        pattern += (".*" if gap and pattern else "") + piece
        gap = False
    if pattern and exception_type(line) and pieces[0] and _WORD.search(pieces[0]):
        pattern = "^" + pattern
    if not pattern or re.search(pattern, line) is None:
        pattern = escape(text.strip()[:MAX_MATCH])
    assert re.search(pattern, line) is not None, (pattern, line)
    return pattern


def failing_clause(test: dict, line: str) -> str:
    clauses = test.get("clauses") or []
    named = [c for c in clauses if c in line or c in (test.get("message") or "")]
    return (named or clauses or [TODO])[0]


@dataclasses.dataclass
class Entry:
    test: str
    clause: str
    observed: str
    match: str


@dataclasses.dataclass
class Candidate:
    number: int
    clause: str
    exception: str
    normal: str
    entries: list = dataclasses.field(default_factory=list)

    @property
    def id(self) -> str:
        slug = "-".join(re.findall(r"[a-z0-9]+", self.clause.split(".", 1)[-1].lower()))
        return f"draft-{self.number}-{slug}" if slug else f"draft-{self.number}"


def draft(record: dict) -> tuple[list[Candidate], dict]:
    """The candidate findings of a record's failures, and what was not drafted (by outcome)."""
    groups: dict[tuple, Candidate] = {}
    left_out = collections.defaultdict(list)
    tests = record.get("tests") or []
    by_function = collections.defaultdict(list)
    for t in tests:
        by_function[t["nodeid"].split("[", 1)[0]].append(t)
    for t in tests:
        if t["outcome"] != outcomes.FAIL:
            if t["outcome"] in outcomes.UNEXPECTED:  # unexpected, but no failure to draft from
                left_out[t["outcome"]].append(t["nodeid"])
            continue
        line = failure_line(t.get("first_line") or "")
        clause = failing_clause(t, line)
        key = (exception_type(line), normalise(line))
        if key not in groups:
            groups[key] = Candidate(len(groups) + 1, clause, *key)
        groups[key].entries.append(Entry(t["nodeid"], clause, line, derive_match(line)))
    for candidate in groups.values():  # one entry for a test function whose every case failed alike
        functions = collections.defaultdict(list)
        for e in candidate.entries:
            functions[e.test.split("[", 1)[0]].append(e)
        merged = []
        for function, entries in functions.items():
            if len(entries) > 1 and len(entries) == len(by_function[function]) and len({e.match for e in entries}) == 1:
                merged.append(dataclasses.replace(entries[0], test=function))
            else:
                merged += entries
        candidate.entries = merged
    return list(groups.values()), dict(left_out)


def toml_string(text: str) -> str:
    """A TOML string: literal ('...') when it can be, else basic (JSON escapes are TOML's)."""
    if "'" not in text and not any(ord(c) < 32 or ord(c) == 127 for c in text):
        return f"'{text}'"
    return json.dumps(text, ensure_ascii=False)


def render(candidates, record: dict, source: str, fmt: str) -> str:
    from layercontract.reports.records import key_version

    versions = record.get("versions") or {}
    key, version = key_version(record)  # what identifies the implementation: a `when` names it
    lines = [
        f"# Drafted by `layercontract expectations draft` from {source}",
        f"# (backend {record.get('requested_backend') or record.get('backend')}; "
        + ", ".join(f"{k} {v}" for k, v in sorted(versions.items()))
        + ").",
        "# Review every entry before use: reproduce each failure in isolation, replace every TODO,",
        "# rewrite `observed` as what the backend does, narrow `match` if it says too little, and add",
        "# `when` for a deviation bound to versions" + (f" (this run: {key} {version})" if version else "") + ".",
        "",
    ]
    if not candidates:
        lines.append("# The record has no unexpected failure: nothing to draft.")
    for c in candidates:
        head = (
            f"candidate finding {c.number}: {len(c.entries)} entr{'y' if len(c.entries) == 1 else 'ies'}, "
            f"clause {c.clause}" + (f", {c.exception}" if c.exception else "")
        )
        if fmt == "findings":
            lines += [
                f"# {head}",
                "[[finding]]",
                f"id = {toml_string(c.id)}  # TODO: a stable kebab-case id",
                f"kind = {toml_string(TODO)}  # {FINDING_KINDS}",
                f"title = {toml_string(f'{TODO}: one line; the failures read: {c.normal}')}",
                f"cause = {toml_string(f'{TODO}: where in the upstream source')}",
                "upstream = []  # TODO: issue / pull request links",
                f"status = {toml_string(f'{TODO}: reported? fixed in?')}",
                f"backends = [{toml_string(record.get('backend') or TODO)}]",
                f"reason = {toml_string(f'{TODO}: why, pointing at the code')}",
                "",
            ]
            for e in c.entries:
                lines += [
                    "[[deviation]]",
                    f"test = {toml_string(e.test)}",
                    f"clause = {toml_string(e.clause)}",
                    f"finding = {toml_string(c.id)}",
                    f"observed = {toml_string(e.observed)}",
                    f"match = {toml_string(e.match)}",
                    "",
                ]
        else:
            lines += [f"# {head} (entries of one candidate share a reason)"]
            for e in c.entries:
                lines += [
                    "[[deviation]]",
                    f"test = {toml_string(e.test)}",
                    f"clause = {toml_string(e.clause)}",
                    f"kind = {toml_string(TODO)}  # {LEGACY_KINDS}",
                    f"observed = {toml_string(e.observed)}",
                    f"reason = {toml_string(f'{TODO}: why (candidate finding {c.number})')}",
                    f"match = {toml_string(e.match)}",
                    "",
                ]
    return "\n".join(lines).rstrip() + "\n"


def add_arguments(parser):
    parser.add_argument("record", metavar="RECORD", help="a run record (reports/out/<backend>.json)")
    parser.add_argument("--out", default=None, metavar="FILE", help="write here (default: standard output)")
    parser.add_argument(
        "--format",
        choices=("findings", "legacy"),
        default="findings",
        help="findings: [[finding]] + [[deviation]] entries referring to it (default); "
        "legacy: [[deviation]] entries with kind/observed/reason inline (today's loader)",
    )


def run(args) -> int:
    import tomllib

    from layercontract.reports import records
    from layercontract.reports.schema import ReportError

    try:
        record = records.load(args.record)
    except (ReportError, OSError) as e:
        print(f"layercontract expectations draft: error: {e}", file=sys.stderr)
        return 2
    problem = usable_file(args.out) if args.out else None
    if problem:
        print(f"layercontract expectations draft: error: {problem}", file=sys.stderr)
        return 2
    candidates, left_out = draft(record)
    text = render(candidates, record, pathlib.Path(args.record).name, args.format)
    tomllib.loads(text)  # always valid TOML
    if args.out:
        problem = write_file(args.out, text)
        if problem:
            print(f"layercontract expectations draft: error: {problem}", file=sys.stderr)
            return 2
    else:
        sys.stdout.write(text)
    entries = sum(len(c.entries) for c in candidates)
    print(
        f"layercontract expectations draft: {entries} entr{'y' if entries == 1 else 'ies'} in "
        f"{len(candidates)} candidate finding(s)"
        + (f", written to {args.out}" if args.out else "")
        + "; review every TODO",
        file=sys.stderr,
    )
    for outcome, checks in sorted(left_out.items()):
        what = "stale entries to delete" if outcome == "unexpected-pass" else "not drafted: fix the run"
        print(
            f"  {len(checks)} {outcome} ({what}): {', '.join(checks[:5])}{' ...' if len(checks) > 5 else ''}",
            file=sys.stderr,
        )
    return 0
