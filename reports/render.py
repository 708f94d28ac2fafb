"""Reports from run records: a compact Markdown summary (clause x backend)."""
from __future__ import annotations

import json
import pathlib

from reports.record import SCHEMA

SYMBOL = {"pass": "pass", "fail": "**FAIL**", "expected-deviation": "deviation",
          "unexpected-pass": "**UNEXPECTED PASS**", "unsupported": "unsupported",
          "not-applicable": "n/a", "harness-error": "**ERROR**"}


class ReportError(Exception):
    pass


def load_record(path: pathlib.Path) -> dict:
    path = pathlib.Path(path)
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ReportError(f"{path}: not a readable run record: {e}") from None
    if not isinstance(record, dict) or record.get("schema") != SCHEMA:
        found = record.get("schema") if isinstance(record, dict) else type(record).__name__
        raise ReportError(f"{path}: schema {found!r}, expected {SCHEMA!r}")
    return record


def markdown(records: list[dict]) -> str:
    from spec.clauses import load

    clauses = load()
    backends = [r["backend"] for r in records]
    lines = ["# layercontract report", ""]
    for r in records:
        versions = ", ".join(f"{k} {v}" for k, v in sorted(r["versions"].items()))
        state = "complete" if r["complete"] else "INCOMPLETE"
        lines.append(f"- **{r['backend']}** (edition {r['edition']}, {state}, {r['duration_s']:.1f} s): {versions}")
    lines += ["", "| clause | " + " | ".join(backends) + " |", "|---|" + "---|" * len(backends)]
    for cid in clauses:
        cells = [SYMBOL.get(r["clauses"].get(cid, {}).get("outcome", ""), "not run") for r in records]
        lines.append(f"| {cid} | " + " | ".join(cells) + " |")
    deviations = [(r["backend"], t) for r in records for t in r["tests"]
                  if t["outcome"] in ("expected-deviation", "fail", "unexpected-pass", "harness-error")]
    if deviations:
        lines += ["", "## Deviations and failures", ""]
        for backend, t in deviations:
            message = " ".join(t["message"].split())[:300]
            lines.append(f"- {backend} `{t['nodeid']}` ({t['outcome']}): {message}")
    return "\n".join(lines) + "\n"


def write_markdown_report(record_paths, out_path) -> pathlib.Path:
    records = [load_record(p) for p in record_paths]
    out_path = pathlib.Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(markdown(records), encoding="utf-8")
    return out_path
