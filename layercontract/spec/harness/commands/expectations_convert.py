"""layercontract expectations convert FILE [--out PATH]: rewrite an expectations file written in
the legacy form (kind, reason and upstream inline in every entry) as findings.

Entries with the same kind, reason and upstream become one finding, declared once in the file
itself as a [[finding]] table (kind, a drafted title, the reason, the upstream link as a URL, and
the `when` its entries share); each entry keeps only what is per check (test, clause, finding,
observed, match, and its own `when` where its finding's differs). Ids are drafted from the
first entry's clause (INPUT.ERROR_FULL_SHAPE -> input-error-full-shape); rename them and rewrite
the titles as you review, and add a reproducer (`reproducer = "reproducers/<id>.py"`, relative to
the file) for each.

Before it writes, it loads the converted file and checks that every entry reads as before (test,
clause, kind, observed, reason, upstream, when, match): nothing lost. Entries that already name
a finding, and comments before the first table, are kept. Exit 0: written (or nothing to
convert); 1: the conversion would change an entry (nothing written); 2: FILE is invalid.
"""

from __future__ import annotations

import collections
import pathlib
import re
import sys
import tempfile
import tomllib

from layercontract.spec.harness.commands.options import usable_file, write_file

HELP = "rewrite a legacy expectations file as findings (expectations convert FILE)"
COMPARED = ("test", "clause", "kind", "observed", "reason", "upstream", "when", "match")


def add_arguments(parser):
    parser.add_argument("file", type=pathlib.Path, help="the expectations file (legacy form)")
    parser.add_argument(
        "--out", type=pathlib.Path, default=None, help="where to write the converted file (default: FILE itself)"
    )


def toml_string(text: str) -> str:
    """A TOML string: literal '...' when possible (regular expressions stay readable), else basic."""
    if "'" not in text and "\n" not in text:
        return f"'{text}'"
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def toml_value(value) -> str:
    if isinstance(value, str):
        return toml_string(value)
    return "[" + ", ".join(toml_string(v) for v in value) + "]"


def _table(name: str, fields: dict) -> list[str]:
    return [f"[[{name}]]"] + [f"{k} = {toml_value(v)}" for k, v in fields.items() if v not in ("", (), [], None)] + [""]


def upstream_link(ref: str) -> str:
    """ "owner/repo#12" -> https://github.com/owner/repo/issues/12 (GitHub redirects a pull
    request's); anything else unchanged."""
    m = re.fullmatch(r"([\w.-]+/[\w.-]+)#(\d+)", ref.strip())
    return f"https://github.com/{m.group(1)}/issues/{m.group(2)}" if m else ref.strip()


def _title(reason: str) -> str:
    first = re.split(r"(?<=[.!?])\s", reason.strip(), maxsplit=1)[0]
    return first if len(first) <= 120 else first[:117].rstrip() + "..."


def _slug(clause: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", clause.lower()).strip("-") or "finding"


def convert_text(path: pathlib.Path, known_clauses, findings_file=None) -> tuple[str, int, int]:
    """The converted text of an expectations file, with (findings drafted, entries converted).
    Raises ExpectationsError for an invalid file, ValueError if the result would read differently."""
    from layercontract.spec.harness import expectations

    if findings_file is None:
        findings_file = expectations.FINDINGS_FILE
    before, available = expectations.load_with_findings(path, known_clauses, findings_file)
    text = path.read_text(encoding="utf-8")
    data = tomllib.loads(text)
    raw = data.get("deviation", [])
    groups: dict[tuple, list[int]] = collections.defaultdict(list)
    for i, (entry, dev) in enumerate(zip(raw, before)):
        if "finding" not in entry:
            groups[(dev.kind, dev.reason, dev.upstream)].append(i)
    taken = set(available)
    drafted, ids = [], {}
    for (kind, reason, upstream), members in groups.items():
        base = _slug(before[members[0]].clause)
        fid, n = base, 2
        while fid in taken:
            fid, n = f"{base}-{n}", n + 1
        taken.add(fid)
        whens = {before[i].when for i in members}
        shared = next(iter(whens)) if len(whens) == 1 else ()
        drafted.append(
            {
                "id": fid,
                "kind": kind,
                "title": _title(reason),
                "reason": reason,
                "upstream": [upstream_link(upstream)] if upstream else [],
                "when": list(shared),
            }
        )
        for i in members:
            ids[i] = (fid, shared)
    header = []  # the comments before the first key or table
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            break
        header.append(line)
    out = header[:]
    while out and not out[-1].strip():
        out.pop()
    out += [
        "# Converted by `layercontract expectations convert`: each entry names a finding (declared below,",
        "# once); review the drafted ids and titles, and add a reproducer per finding.",
        "",
    ]
    if "findings" in data:
        out += [f"findings = {toml_value(data['findings'])}", ""]
    for f in data.get("finding", []):
        out += _table("finding", f)
    for f in drafted:
        out += _table("finding", f)
    for i, entry in enumerate(raw):
        if "finding" in entry:
            out += _table("deviation", entry)
            continue
        fid, shared = ids[i]
        fields: dict[str, object] = {
            "test": entry["test"],
            "clause": entry["clause"],
            "finding": fid,
            "observed": entry["observed"],
        }
        if before[i].when != shared:
            fields["when"] = list(before[i].when)
        if "match" in entry:
            fields["match"] = entry["match"]
        out += _table("deviation", fields)
    converted = "\n".join(out).rstrip("\n") + "\n"
    # read it back where the file is (relative paths resolve alike): every entry as before
    tmp = tempfile.NamedTemporaryFile(
        "w", suffix=".toml", prefix=".convert-", dir=path.resolve().parent, delete=False, encoding="utf-8"
    )
    try:  # no space, read-only: the temporary file goes too, and the caller says so in one line
        with tmp:
            tmp.write(converted)
        after = expectations.load(pathlib.Path(tmp.name), known_clauses, findings_file)
    finally:
        pathlib.Path(tmp.name).unlink(missing_ok=True)
    changed = [
        f"entry #{d.entry} ({d.test}): {k} {getattr(d, k)!r} -> {getattr(a, k)!r}"
        for d, a in zip(before, after)
        for k in COMPARED
        if getattr(d, k) != getattr(a, k)
    ]
    if len(after) != len(before):
        changed.append(f"{len(before)} entries before, {len(after)} after")
    if changed:
        raise ValueError("\n".join(changed))
    return converted, len(drafted), sum(len(m) for m in groups.values())


def run(args) -> int:
    from layercontract.spec import clauses as spec_clauses
    from layercontract.spec.harness import expectations

    path = args.file
    if not path.is_file():
        print(f"layercontract expectations convert: no file {path}", file=sys.stderr)
        return 2
    out = args.out or path
    problem = usable_file(out, "--out" if args.out else "the file")
    if problem:
        print(f"layercontract expectations convert: error: {problem}", file=sys.stderr)
        return 2
    try:
        converted, n_findings, n_entries = convert_text(path, spec_clauses.load())
    except expectations.ExpectationsError as e:
        print(f"layercontract expectations convert: {path} is invalid:\n{e}", file=sys.stderr)
        return 2
    except OSError as e:  # its checking copy beside the file: no space, read-only
        print(
            f"layercontract expectations convert: error: cannot write a copy to check beside {path}: "
            f"{e.strerror or e}; nothing written",
            file=sys.stderr,
        )
        return 2
    except ValueError as e:
        print(
            f"layercontract expectations convert: the conversion would change entries (nothing written):\n{e}",
            file=sys.stderr,
        )
        return 1
    if not n_entries:
        print(f"{path}: every entry already names a finding; nothing to convert")
        return 0
    problem = write_file(out, converted, "--out" if args.out else "the file")
    if problem:  # the file as it was: written atomically
        print(f"layercontract expectations convert: error: {problem}", file=sys.stderr)
        return 2
    print(
        f"{out}: {n_entries} legacy entries -> {n_findings} findings (declared in the file); every entry "
        "reads as before. Review the drafted ids and titles; add a reproducer per finding."
    )
    return 0
