"""Reports from merged run records (reports/merge.py's matrix): a self-contained HTML page
and a compact Markdown summary (a GitHub step summary or PR comment).

The HTML page is one file: inline CSS and a few lines of inline JavaScript, no network, no
external assets, no libraries. It is rendered with jinja2 autoescaping, so every text from a
record (a test message, a reason, a falsifying example) shows as text, whatever it contains;
the only links it makes from record data are http(s) upstream URLs and its own fragments
(percent-encoded, so any clause ID or backend name works as an anchor).

Units: the page counts clauses (a clause x column cell takes the worst outcome of its tests)
and tests, and always says which.
"""

from __future__ import annotations

import pathlib
import re
import urllib.parse

import jinja2
import jinja2.bccache
import markupsafe

from layercontract.reports import findings_view
from layercontract.reports.records import first_line
from layercontract.spec import user_cache
from layercontract.spec.harness import check_ids
from layercontract.spec.harness.outcomes import BAR_ORDER as OUTCOME_BAR_ORDER
from layercontract.spec.harness.outcomes import BY_NAME, DEVIATIONS, QUIET, SEVERITY, UNEXPECTED, Outcome

TEMPLATES = pathlib.Path(__file__).resolve().parent / "templates"


# How each outcome shows (label, verb, glyph, emoji, colours, bar order, description): the one
# outcome table, spec/harness/outcomes.py.
LOOKS = dict(BY_NAME)
DESCRIPTION = {o: look.description for o, look in LOOKS.items()}
BAR_ORDER = list(OUTCOME_BAR_ORDER)


def _look(outcome: str) -> Outcome:
    return LOOKS.get(outcome) or Outcome(
        outcome, outcome, outcome, "?", "❔", "#000000", "#ffffff", "#8c959f", len(LOOKS), False, None, outcome
    )


def label(outcome: str) -> str:
    return _look(outcome).label


def glyph(outcome: str) -> str:
    return _look(outcome).glyph


def cell_label(result: dict) -> str:
    """ "2/4 deviate": how many of the cell's tests have the cell's (worst) outcome, of how many;
    a cell of one test says only its outcome."""
    outcome, total = result["outcome"], len(result["tests"])
    counts = result.get("counts") or {outcome: total}
    verb = _look(outcome).verb
    return verb if total == 1 else f"{counts.get(outcome, 0)}/{total} {verb}"


def cell_title(column: str, cid: str, result: dict) -> str:
    total = len(result["tests"])
    counts = result.get("counts") or {result["outcome"]: total}
    parts = ", ".join(
        f"{n} {_look(o).verb}"
        for o, n in sorted(counts.items(), key=lambda i: SEVERITY.index(i[0]) if i[0] in SEVERITY else 99)
    )
    return f"{column} · {cid}: {parts} (of {total} test{'s' * (total != 1)})"


def cell_id(cid: str, column: str) -> str:
    """The element id of a clause x column cell: by the column's name, never its position."""
    return f"cell-{cid}--{column}"


def fragment(text: str) -> str:
    """A fragment identifier for an element id: percent-encoded (a clause ID with %, #, spaces)."""
    return urllib.parse.quote(str(text), safe="-._~@:!$'()*+,;=")


def safe_url(url) -> str | None:
    return url if isinstance(url, str) and re.fullmatch(r"https?://[^\s<>\"'`]+", url) else None


# ----------------------------------------------------------------------- views
def bar(counts: dict, total: int | None = None) -> list[dict]:
    total = total if total is not None else sum(counts.values())
    return [
        {"outcome": o, "n": counts[o], "pct": round(100 * counts[o] / total, 3) if total else 0, "look": _look(o)}
        for o in BAR_ORDER + [o for o in counts if o not in BAR_ORDER]
        if counts.get(o)
    ]


def counts_text(counts: dict) -> str:
    return " · ".join(f"{n} {_look(o).verb}" for o, n in ((o, counts.get(o)) for o in BAR_ORDER) if n)


def deviation_key(dev: dict) -> tuple:
    return (dev.get("kind") or "", dev.get("observed") or "", dev.get("reason") or "", dev.get("upstream") or "")


def cell_groups(matrix: dict, column: str, nodeids: list[str]) -> list[dict]:
    """A cell's tests, grouped: one group per distinct deviation (its data shown once, with the
    tests it covers), then the other tests; worst first."""
    tests = matrix["backends"][column]["tests"]
    groups: dict[tuple, dict] = {}
    for nodeid in nodeids:
        t = tests[nodeid]
        dev = t.get("deviation") if t["outcome"] in DEVIATIONS else None
        key = ("dev", t["outcome"]) + deviation_key(dev) if dev else ("tests",)
        group = groups.setdefault(key, {"outcome": t["outcome"], "deviation": dev, "tests": []})
        group["tests"].append((nodeid, t))
    rank = {o: i for i, o in enumerate(SEVERITY)}
    for group in groups.values():
        if not group["deviation"]:
            group["tests"].sort(key=lambda item: rank.get(item[1]["outcome"], 99))
            group["outcome"] = group["tests"][0][1]["outcome"]
    return sorted(groups.values(), key=lambda g: (g["deviation"] is None, rank.get(g["outcome"], 99)))


def attention_rank(clause: dict) -> int:
    outs = [r["outcome"] for r in clause["results"].values()]
    return min((SEVERITY.index(o) for o in outs if o in SEVERITY), default=len(SEVERITY))


def unexpected_tests(matrix: dict) -> list[dict]:
    rows = []
    for column, entry in matrix["backends"].items():
        for nodeid, t in entry["tests"].items():
            if t["outcome"] in UNEXPECTED:
                rows.append({"column": column, "nodeid": nodeid, "test": t, "clause": (t["clauses"] or ["?"])[0]})
    return sorted(
        rows,
        key=lambda r: (
            SEVERITY.index(r["test"]["outcome"]) if r["test"]["outcome"] in SEVERITY else 99,
            r["column"],
            r["nodeid"],
        ),
    )


def deviation_groups(matrix: dict) -> list[dict]:
    """Expected deviations (and stale ones) grouped by their reason, across columns: each group
    lists where it applies (column, clause, tests) and its number of tests (n_tests: per column,
    each test once however many clauses it cites)."""
    groups: dict[tuple, dict] = {}
    for column, entry in matrix["backends"].items():
        for nodeid, t in entry["tests"].items():
            dev = t.get("deviation")
            if t["outcome"] not in DEVIATIONS or not dev:
                continue
            group = groups.setdefault(
                deviation_key(dev), {"deviation": dev, "where": {}, "outcomes": set(), "files": {}}
            )
            for cid in t["clauses"] or ["?"]:
                group["where"].setdefault((column, cid), []).append((nodeid, t))
            group["outcomes"].add(t["outcome"])
            if dev.get("file"):
                group["files"][(dev["file"], dev.get("entry"))] = column
    out = []
    for group in groups.values():
        group["where"] = [{"column": c, "clause": cid, "tests": tests} for (c, cid), tests in group["where"].items()]
        # tests, each once: a test citing several clauses is listed under each of them
        group["n_tests"] = len({(w["column"], nodeid) for w in group["where"] for nodeid, _t in w["tests"]})
        out.append(group)
    return sorted(out, key=lambda g: ("unexpected-pass" not in g["outcomes"], -g["n_tests"]))


# ----------------------------------------------------------------------- HTML
class _CompiledTemplates(jinja2.FileSystemBytecodeCache):
    """The report template compiled once per user, not once per process: compiling it costs more
    than rendering a record. Keyed by the template's source (jinja2 checks it); a cache that
    cannot be written (a full disk, a read-only home) is no cache, never an error."""

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        try:
            super().dump_bytecode(bucket)
        except OSError:
            pass


def _compiled_templates() -> jinja2.BytecodeCache | None:
    directory = user_cache.directory() / "templates"
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    return _CompiledTemplates(str(directory))


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        bytecode_cache=_compiled_templates(),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["label"] = label
    env.filters["glyph"] = glyph
    env.filters["look"] = _look
    env.filters["first_line"] = first_line
    env.filters["seconds"] = lambda s: f"{s:.1f} s" if s >= 0.1 else f"{s * 1000:.0f} ms"
    env.filters["inline_code"] = inline_code
    env.filters["pyargs"] = check_ids.pyargs_target  # how a rerun command names a check
    env.filters["frag"] = fragment
    env.filters["safe_url"] = safe_url
    env.filters["plural"] = lambda n, word, many=None: f"{n} {word if n == 1 else (many or word + 's')}"
    env.globals.update(
        cell_id=cell_id,
        cell_label=cell_label,
        cell_title=cell_title,
        bar=bar,
        counts_text=counts_text,
        cell_groups=cell_groups,
    )
    return env


def inline_code(text) -> markupsafe.Markup:
    """Escaped text whose `backticked` spans (the spec's Markdown) show as <code>."""
    escaped = str(markupsafe.escape(text or ""))
    return markupsafe.Markup(re.sub(r"`([^`]+)`", r"<code>\1</code>", escaped))


def _css_colours() -> str:
    lines = []
    for outcome, look in LOOKS.items():
        lines.append(f".o-{outcome} {{ color: {look.fg}; background: {look.bg}; }}")
        lines.append(f".b-{outcome} {{ background-color: {look.bar}; }}")
    return "\n".join(lines)


def html(matrix: dict) -> str:
    columns = list(matrix["backends"])
    attention = {
        cid for cid, c in matrix["clauses"].items() if any(r["outcome"] not in QUIET for r in c["results"].values())
    }
    attention_rows = sorted(
        ((cid, c) for cid, c in matrix["clauses"].items() if cid in attention), key=lambda item: attention_rank(item[1])
    )
    areas = []
    for area, title in matrix["areas"].items():
        rows = [(cid, c) for cid, c in matrix["clauses"].items() if c["area"] == area]
        if rows:
            areas.append(
                {
                    "id": area,
                    "title": title,
                    "clauses": rows,
                    "rest": [(cid, c) for cid, c in rows if cid not in attention],
                }
            )
    return (
        _environment()
        .get_template("index.html.j2")
        .render(
            m=matrix,
            columns=columns,
            backends=columns,
            areas=areas,
            attention=attention,
            attention_rows=attention_rows,
            looks=LOOKS,
            bar_order=BAR_ORDER,
            severity=SEVERITY,
            unexpected=unexpected_tests(matrix),
            deviations=deviation_groups(matrix),
            css_colours=_css_colours(),
            description=DESCRIPTION,
        )
    )


# ------------------------------------------------------------------- Markdown
# Characters with a meaning somewhere in GitHub Markdown inside a line: backslash-escaped
# (CommonMark escapes any ASCII punctuation), "|" as "\|" also works in table cells; "$" starts
# GitHub math; & < > become entities (no HTML, no entity of the text's own).
_MD_SPECIAL = re.compile(r"([\\`*_\[\]|~!$#{}])")


def md_text(text, limit: int | None = None) -> str:
    """Text safe in a Markdown table cell or list item: one line, no HTML, no emphasis, links,
    code spans or table breaks; shown exactly as written."""
    text = " ".join(str(text or "").split())
    if limit is not None and len(text) > limit:
        text = text[: limit - 1] + "…"
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MD_SPECIAL.sub(r"\\\1", text)


def md_code(text, in_table: bool = False) -> str:
    """A code span that shows `text` literally, whatever backtick runs it holds (the fence is
    one backtick longer than its longest run); in a table cell its "|" are escaped as GFM asks."""
    text = " ".join(str(text).split())
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if longest or text.startswith(" ") or text.endswith(" ") else ""
    if in_table:
        text = text.replace("|", "\\|")
    return f"{fence}{pad}{text}{pad}{fence}"


def md_link(text: str, url) -> str:
    url = safe_url(url)
    if not url:
        return md_text(text)
    url = url.replace("(", "%28").replace(")", "%29")
    return f"[{md_text(text)}]({url})"


def _cell(outcome: str | None) -> str:
    if outcome is None:
        return " "
    return _look(outcome).emoji


def markdown(matrix: dict, max_items: int = 30, report_name: str = "index.html") -> str:
    backends = matrix["backends"]
    totals = matrix["totals"]
    names = list(backends)
    out = [
        f"## layercontract conformance: {len(names)} backend column{'s' * (len(names) != 1)}, "
        f"{totals['clauses']} clauses",
        "",
    ]
    commits = ", ".join(md_code(c[:10]) for c in matrix["git_commits"]) or "unknown"
    unexpected = totals["unexpected"]
    verdict = (
        f"**{unexpected} unexpected test outcome{'s' * (unexpected != 1)}** (they fail the run)."
        if unexpected
        else "**No unexpected test outcome.**"
    )
    out += [f"{verdict} Suite {commits}; generated {md_text(matrix['generated'])}.", ""]
    for warning in matrix["warnings"]:
        out.append(f"> ⚠️ {md_text(warning, 600)}")
    if matrix["warnings"]:
        out.append("")

    columns = ["pass", "expected-deviation", "unexpected", "unsupported", "not-applicable", "not-run"]
    out += [
        "Clauses per outcome (a clause takes the worst outcome of its tests):",
        "",
        "| backend | version | status | "
        + " | ".join("❌ unexpected" if c == "unexpected" else f"{LOOKS[c].emoji} {label(c)}" for c in columns)
        + " | tests | time | versions |",
        "|---|---|---|" + "---:|" * (len(columns) + 2) + "---|",
    ]
    for name, b in backends.items():
        cc = dict(b["clause_counts"])
        cc["unexpected"] = sum(n for o, n in cc.items() if o in UNEXPECTED)
        status = "complete" if b["complete"] else f"⚠️ {md_text(b['status'])}"
        versions = ", ".join(f"{k} {v}" for k, v in sorted(b["versions"].items()))
        key = f"{b.get('version_of')} {b['version']}" if b.get("version") else None
        out.append(
            f"| **{md_text(b.get('backend', name))}** | {md_text(key) if key else '?'} | {status} | "
            + " | ".join(str(cc.get(c, 0)) for c in columns)
            + f" | {len(b['tests'])} | {b['duration_s']:.1f} s | {md_text(versions, 200)} |"
        )
    out.append("")

    header = "| clause | " + " | ".join(md_text(n) for n in names) + " |"
    rule = "|---|" + ":-:|" * len(names)

    def row(cid, clause):
        return (
            f"| {md_code(cid, in_table=True)} | "
            + " | ".join(_cell(clause["results"].get(n, {}).get("outcome")) for n in names)
            + " |"
        )

    attention = sorted(
        (
            (cid, c)
            for cid, c in matrix["clauses"].items()
            if any(r["outcome"] not in QUIET for r in c["results"].values())
        ),
        key=lambda item: attention_rank(item[1]),
    )
    if attention:
        out += [f"### Clauses that need attention ({len(attention)})", "", header, rule]
        out += [row(cid, c) for cid, c in attention] + [""]

    problems = unexpected_tests(matrix)
    if problems:
        out += [f"### Unexpected outcomes ({len(problems)} test{'s' * (len(problems) != 1)})", ""]
        for p in problems[:max_items]:
            t = p["test"]
            clauses = ", ".join(md_code(c) for c in t["clauses"])
            out.append(
                f"- {_cell(t['outcome'])} **{md_text(p['column'])}** {clauses} {md_code(p['nodeid'])} "
                f"({md_text(label(t['outcome']))}): {md_text(t.get('first_line') or first_line(t['message']))}"
            )
            dev = t.get("deviation")
            if dev:
                out.append(f"  stale expectation: {_md_deviation(dev)}")
            if t["falsifying_example"]:
                out.append(f"  falsifying example: {md_code(first_line(t['falsifying_example'], 300))}")
            out.append(f"  rerun: {md_code(t['rerun'])}")
        if len(problems) > max_items:
            out.append(f"- … and {len(problems) - max_items} more in {md_text(report_name)}")
        out.append("")

    groups = deviation_groups(matrix)
    if groups:
        n_tests = sum(g["n_tests"] for g in groups)
        out += [
            f"<details><summary>Expected deviations: {n_tests} test{'s' * (n_tests != 1)}, "
            f"{len(groups)} reason{'s' * (len(groups) != 1)}</summary>",
            "",
        ]
        for g in groups[:max_items]:
            out.append(f"- {_md_deviation(g['deviation'])}")
            for w in g["where"]:
                first = w["tests"][0][1]
                tests = ", ".join(md_code(nodeid) for nodeid, _ in w["tests"])
                out.append(
                    f"  - **{md_text(w['column'])}** {md_code(w['clause'])}: "
                    f"{len(w['tests'])} test{'s' * (len(w['tests']) != 1)} ({tests}); "
                    f"rerun: {md_code(first['rerun'])}"
                )
        if len(groups) > max_items:
            out.append(f"- … and {len(groups) - max_items} more in {md_text(report_name)}")
        out += ["", "</details>", ""]

    out += findings_view.markdown(matrix.get("findings") or [], md_text, md_link, max_items)

    history = matrix.get("history") or {}
    for backend, h in history.items():
        out += [
            f"### History of {md_text(backend)} ({len(h['columns'])} versions: "
            f"{md_text(', '.join(str(v) for v in h['versions']))})",
            "",
        ]
        if not h["changes"]:
            out += ["No clause changed its outcome between consecutive versions.", ""]
        for c in h["changes"][:max_items]:
            out.append(
                f"- {md_text(c['from_version'])} → {md_text(c['to_version'])}: {md_code(c['clause'])} "
                f"{md_text(label(c['old']) if c['old'] else 'not run')} → "
                f"{md_text(label(c['new']) if c['new'] else 'not run')}"
            )
        if len(h["changes"]) > max_items:
            out.append(f"- … and {len(h['changes']) - max_items} more in {md_text(report_name)}")
        out.append("")

    out += [f"<details><summary>All {len(matrix['clauses'])} clauses</summary>", "", header, rule]
    out += [row(cid, c) for cid, c in matrix["clauses"].items()] + ["", "</details>", ""]

    km = matrix["kill_matrix"]
    if km:
        survivors = ", ".join(md_code(s) for s in km["survivors"]) or "none"
        out += [f"**Kill matrix:** {km['killed']} of {len(km['faults'])} faults killed; survivors: {survivors}.", ""]

    cov = matrix["coverage"]
    q = cov.get("questions")
    if q:
        out.append(
            f"**Users' questions:** {q['settled']} of {q['in_scope']} in scope settled by a clause, "
            f"{q['partial']} partly, {q['open']} open ({q['out-of-scope']} out of scope; spec/questions.toml)."
        )
        out.append("")
    if cov["without_tests"] or cov["not_run_anywhere"]:
        out.append(
            f"**Spec coverage:** {cov['spec_clauses']} clauses; without tests: "
            f"{', '.join(md_code(c) for c in cov['without_tests']) or 'none'}; run on no backend: "
            f"{', '.join(md_code(c) for c in cov['not_run_anywhere']) or 'none'}."
        )
        out.append("")
    out.append(
        "Legend: "
        + " · ".join(f"{LOOKS[o].emoji} {o}" for o in SEVERITY if o in LOOKS)
        + f". Full report: {md_text(report_name)}; data: matrix.json."
    )
    return "\n".join(out) + "\n"


def _md_deviation(dev: dict) -> str:
    parts = []
    if dev.get("kind"):
        parts.append(
            f"**{md_text(dev['kind'])}**"
            + (f" (when {md_text('; '.join(dev['when']))})" if dev.get("when") else "")
            + ":"
        )
    if dev.get("observed"):
        parts.append(f"{md_text(dev['observed'])} —")
    parts.append(md_text(dev.get("reason") or ""))
    if dev.get("upstream"):
        parts.append(f"({md_link(dev['upstream'], dev.get('upstream_url'))})")
    if dev.get("file"):
        parts.append(f"— expectations: {md_code(dev['file'])}" + (f" entry {dev['entry']}" if dev.get("entry") else ""))
    return " ".join(parts)
