"""Reports from merged run records (reports/merge.py's matrix): a self-contained HTML page
and a compact Markdown summary (a GitHub step summary or PR comment).

The HTML page is one file: inline CSS and a few lines of inline JavaScript, no network, no
external assets. It is rendered with jinja2 autoescaping, so every text from a record (a test
message, a reason, a falsifying example) shows as text, whatever it contains.
"""
from __future__ import annotations

import pathlib
import re

import jinja2
import markupsafe

from layercontract.reports.record import SEVERITY, UNEXPECTED
from layercontract.spec.harness import integrity

TEMPLATES = pathlib.Path(__file__).resolve().parent / "templates"

# outcome -> (short label, emoji for Markdown, text colour, background)
STYLE = {
    "pass": ("pass", "✅", "#1a7f37", "#dafbe1"),
    "expected-deviation": ("deviation", "🟡", "#7d4e00", "#fff8c5"),
    "fail": ("FAIL", "❌", "#ffffff", "#cf222e"),
    "unexpected-pass": ("XPASS", "🟣", "#ffffff", "#8250df"),
    "harness-error": ("ERROR", "⚠️", "#ffffff", "#24292f"),
    "crash": ("CRASH", "💥", "#ffffff", "#82071e"),
    "timeout": ("TIMEOUT", "⏱️", "#ffffff", "#bc4c00"),
    "not-run": ("not run", "⏸️", "#57606a", "#ffffff"),
    "unsupported": ("unsupported", "🚫", "#0550ae", "#ddf4ff"),
    "not-applicable": ("n/a", "➖", "#57606a", "#eaeef2"),
}
DESCRIPTION = {
    "pass": "the check holds",
    "expected-deviation": "the check fails as the backend's reviewed expectations say (reason given)",
    "fail": "the check fails and no expectation explains it",
    "unexpected-pass": "an expected deviation that no longer happens: its expectations entry is stale",
    "harness-error": "the check could not run properly (fixture or set-up error)",
    "crash": "the process running the check died",
    "timeout": "the check ran past its time limit",
    "not-run": "selected but never run: the run was interrupted or killed first",
    "unsupported": "the backend lacks a capability the check needs",
    "not-applicable": "the clause does not apply to the backend's edition",
}
GOOD = {"pass", "not-applicable", "unsupported"}


def label(outcome: str) -> str:
    return STYLE.get(outcome, (outcome,))[0]


def first_line(message: str, limit: int = 200) -> str:
    """The line of a message that says what went wrong: pytest's first "E" line, else the
    first non-empty line."""
    lines = [ln.strip() for ln in (message or "").splitlines() if ln.strip()]
    errors = [ln[1:].strip() for ln in lines if ln.startswith("E ")]
    text = (errors or lines or [""])[0]
    return text if len(text) <= limit else text[:limit - 1] + "…"


# ----------------------------------------------------------------------- HTML
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["label"] = label
    env.filters["first_line"] = first_line
    env.filters["seconds"] = lambda s: f"{s:.1f} s" if s >= 0.1 else f"{s * 1000:.0f} ms"
    env.filters["inline_code"] = inline_code
    env.filters["pyargs"] = integrity.pyargs_target  # how a rerun command names a check
    return env


def inline_code(text) -> markupsafe.Markup:
    """Escaped text whose `backticked` spans (the spec's Markdown) show as <code>."""
    escaped = str(markupsafe.escape(text or ""))
    return markupsafe.Markup(re.sub(r"`([^`]+)`", r"<code>\1</code>", escaped))


def html(matrix: dict) -> str:
    backends = list(matrix["backends"])
    areas = []
    attention = {cid for cid, c in matrix["clauses"].items()
                 if any(r["outcome"] not in GOOD for r in c["results"].values())}
    for area, title in matrix["areas"].items():
        rows = [(cid, c) for cid, c in matrix["clauses"].items() if c["area"] == area]
        if rows:
            areas.append({"id": area, "title": title, "clauses": rows,
                          "attention": any(cid in attention for cid, _ in rows)})
    return _environment().get_template("index.html.j2").render(
        m=matrix, backends=backends, areas=areas, attention=attention, style=STYLE,
        description=DESCRIPTION, severity=SEVERITY)


# ------------------------------------------------------------------- Markdown
def md_text(text, limit: int = 200) -> str:
    """Text safe in a Markdown table cell or list item: one line, no HTML, no table breaks."""
    text = " ".join(str(text or "").split())
    if len(text) > limit:
        text = text[:limit - 1] + "…"
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace("|", "\\|").replace("`", "'"))


def md_code(text: str) -> str:
    """A code span (shown literally: no HTML inside is interpreted)."""
    text = " ".join(str(text).split())
    return f"`` {text} ``" if "`" in text else f"`{text}`"


def _cell(outcome: str | None) -> str:
    if outcome is None:
        return " "
    return STYLE.get(outcome, ("", "?"))[1]


def markdown(matrix: dict, max_items: int = 30, report_name: str = "index.html") -> str:
    backends = matrix["backends"]
    totals = matrix["totals"]
    names = list(backends)
    out = [f"## layercontract conformance: {len(names)} backend{'s' * (len(names) != 1)}, "
           f"{totals['clauses']} clauses", ""]
    commits = ", ".join(c[:10] for c in matrix["git_commits"]) or "unknown"
    unexpected = totals["unexpected"]
    verdict = (f"**{unexpected} unexpected outcome{'s' * (unexpected != 1)}** (they fail the run)."
               if unexpected else "**No unexpected outcome.**")
    out += [f"{verdict} Suite {commits}; generated {matrix['generated']}.", ""]
    for warning in matrix["warnings"]:
        out.append(f"> ⚠️ {md_text(warning, 400)}")
    if matrix["warnings"]:
        out.append("")

    columns = ["pass", "expected-deviation", "unexpected", "unsupported", "not-applicable", "not-run"]
    out += ["| backend | status | " + " | ".join(
                "❌ unexpected" if c == "unexpected" else f"{STYLE[c][1]} {label(c)}" for c in columns)
            + " | tests | time | versions |",
            "|---|---|" + "---:|" * (len(columns) + 2) + "---|"]
    for name, b in backends.items():
        cc = dict(b["clause_counts"])
        cc["unexpected"] = sum(n for o, n in cc.items() if o in UNEXPECTED)
        status = "complete" if b["complete"] else f"⚠️ {b['status']}"
        versions = ", ".join(f"{k} {v}" for k, v in sorted(b["versions"].items()))
        out.append(f"| **{md_text(name)}** | {status} | " + " | ".join(str(cc.get(c, 0)) for c in columns)
                   + f" | {len(b['tests'])} | {b['duration_s']:.1f} s | {md_text(versions, 160)} |")
    out.append("")

    header = "| clause | " + " | ".join(md_text(n) for n in names) + " |"
    rule = "|---|" + ":-:|" * len(names)

    def row(cid, clause):
        return (f"| `{cid}` | " + " | ".join(_cell(clause["results"].get(n, {}).get("outcome")) for n in names)
                + " |")

    attention = [(cid, c) for cid, c in matrix["clauses"].items()
                 if any(r["outcome"] not in GOOD for r in c["results"].values())]
    if attention:
        out += [f"### Clauses that need attention ({len(attention)})", "", header, rule]
        out += [row(cid, c) for cid, c in attention] + [""]
    out += [f"<details><summary>All {len(matrix['clauses'])} clauses</summary>", "", header, rule]
    out += [row(cid, c) for cid, c in matrix["clauses"].items()] + ["", "</details>", ""]

    problems = [(name, nodeid, t) for name, b in backends.items() for nodeid, t in b["tests"].items()
                if t["outcome"] in UNEXPECTED]
    if problems:
        out += [f"### Unexpected outcomes ({len(problems)})", ""]
        for name, nodeid, t in problems[:max_items]:
            out.append(f"- {_cell(t['outcome'])} **{md_text(name)}** {md_code(nodeid)} "
                       f"({label(t['outcome'])}): {md_text(first_line(t['message']))}")
            if t["falsifying_example"]:
                out.append(f"  falsifying example: {md_code(first_line(t['falsifying_example'], 300))}")
            out.append(f"  rerun: {md_code(t['rerun'])}")
        if len(problems) > max_items:
            out.append(f"- … and {len(problems) - max_items} more in {report_name}")
        out.append("")

    deviations = [(name, nodeid, t) for name, b in backends.items() for nodeid, t in b["tests"].items()
                  if t["outcome"] == "expected-deviation"]
    if deviations:
        out += [f"<details><summary>Expected deviations ({len(deviations)})</summary>", ""]
        for name, nodeid, t in deviations[:max_items]:
            out.append(f"- **{md_text(name)}** {md_code(nodeid)}: {md_text(t['reason'], 300)}")
        if len(deviations) > max_items:
            out.append(f"- … and {len(deviations) - max_items} more in {report_name}")
        out += ["", "</details>", ""]

    km = matrix["kill_matrix"]
    if km:
        survivors = ", ".join(f"`{md_text(s)}`" for s in km["survivors"]) or "none"
        out += [f"**Kill matrix:** {km['killed']} of {len(km['faults'])} faults killed; survivors: {survivors}.", ""]

    cov = matrix["coverage"]
    if cov["without_tests"] or cov["not_run_anywhere"]:
        out.append(f"**Spec coverage:** {cov['spec_clauses']} clauses; without tests: "
                   f"{', '.join(cov['without_tests']) or 'none'}; run on no backend: "
                   f"{', '.join(cov['not_run_anywhere']) or 'none'}.")
        out.append("")
    out.append("Legend: " + " · ".join(f"{STYLE[o][1]} {o}" for o in SEVERITY if o in STYLE)
               + f". Full report: {report_name}; data: matrix.json.")
    return "\n".join(out) + "\n"
