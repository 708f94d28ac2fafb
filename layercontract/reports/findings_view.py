"""The report's findings view: each finding the merged records' deviations name, with the backend
columns (backend and version) and the checks it explains there, its kind, `when`, status, upstream
links and its reproducer.

The records carry each deviation's finding id (and kind, upstream, when); the title, status,
links and reproducer come from the findings the deviation's expectations file can name (the
built-in findings.toml, the file's own [[finding]] tables, the files its `findings` key names),
read from this checkout; a finding no longer there is shown with what the records say.
"""

from __future__ import annotations

import pathlib
import tomllib

from layercontract.spec.harness import expectations

DEVIATIONS = ("expected-deviation", "unexpected-pass")
_PACKAGE = pathlib.Path(expectations.__file__).resolve().parents[2]  # layercontract/


def _shown_path(path: pathlib.Path | None) -> str:
    """A reproducer's path as the report shows it: relative to the checkout (or the installed
    package's parent) when it is layercontract's own, else as it is."""
    if path is None:
        return ""
    try:
        return str(path.resolve().relative_to(_PACKAGE.parent))
    except ValueError:
        return str(path)


def _known(files) -> dict[str, expectations.Finding]:
    """The findings the given expectations files can name (problems ignored: the report shows
    what it can)."""
    known: dict[str, expectations.Finding] = {}
    try:
        known.update(expectations.load_findings())
    except expectations.ExpectationsError:
        pass
    for file in files:
        path = pathlib.Path(file)
        if not path.is_file():
            continue
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        for fid, finding in expectations.available_findings(path, data, None, []).items():
            known.setdefault(fid, finding)
    return known


def build(backends: dict) -> list[dict]:
    """The findings view of merged backend columns ({column: combined record}), most checks first."""
    seen: dict[str, dict] = {}
    files = set()
    for column, entry in backends.items():
        for nodeid, test in entry["tests"].items():
            dev = test.get("deviation")
            if test["outcome"] not in DEVIATIONS or not dev or not dev.get("finding"):
                continue
            if dev.get("file"):
                files.add(dev["file"])
            item = seen.setdefault(
                dev["finding"],
                {
                    "id": dev["finding"],
                    "kind": dev.get("kind") or "",
                    "upstream_ref": dev.get("upstream") or "",
                    "columns": {},
                },
            )
            where = item["columns"].setdefault(
                column,
                {
                    "backend": entry.get("backend", column),
                    "version": entry.get("version"),
                    "when": list(dev.get("when") or []),
                    "checks": [],
                    "outcomes": {},
                },
            )
            where["checks"].append(nodeid)
            where["outcomes"][test["outcome"]] = where["outcomes"].get(test["outcome"], 0) + 1
    known = _known(sorted(files)) if seen else {}
    out = []
    for fid, item in seen.items():
        finding = known.get(fid)
        links = list(finding.upstream) if finding else []
        if not links and item["upstream_ref"]:
            from layercontract.reports.records import upstream_url

            links = [u for u in [upstream_url(item["upstream_ref"])] if u]
        out.append(
            {
                "id": fid,
                "kind": finding.kind if finding else item["kind"],
                "title": finding.title if finding else "",
                "status": finding.status if finding else "",
                "when": list(finding.when) if finding else [],
                "upstream": links,
                "reproducer": _shown_path(finding.reproducer_path) if finding else "",
                "known": finding is not None,
                "columns": [{"column": c, **w} for c, w in item["columns"].items()],
                "n_checks": sum(len(w["checks"]) for w in item["columns"].values()),
            }
        )
    return sorted(out, key=lambda f: (-f["n_checks"], f["id"]))


def markdown(view: list[dict], md_text, md_link, max_items: int = 30) -> list[str]:
    """The Markdown summary's findings section (lines)."""
    if not view:
        return []
    out = [
        f"### Findings: {len(view)} (each explains these backends' deviations)",
        "",
        "| finding | kind | backend columns (checks) | upstream | reproducer |",
        "|---|---|---|---|---|",
    ]
    for f in view[:max_items]:
        where = ", ".join(
            f"{md_text(c['column'])}"
            + (f" {md_text(c['version'])}" if c.get("version") and "@" not in c["column"] else "")
            + f" ({len(c['checks'])})"
            for c in f["columns"]
        )
        links = " ".join(md_link(expectations.short_ref(u), u) for u in f["upstream"]) or "none"
        title = f" {md_text(f['title'], 160)}" if f["title"] else ""
        out.append(
            f"| **{md_text(f['id'])}**{title} | {md_text(f['kind'])} | {where} | {links} | "
            f"{md_text(f['reproducer']) or 'none'} |"
        )
    if len(view) > max_items:
        out.append(f"| … {len(view) - max_items} more in the HTML report | | | | |")
    out.append("")
    return out
