"""layercontract run: the conformance suites on one backend, then its record and report."""
from __future__ import annotations

import argparse
import pathlib
import sys

from layercontract.spec.harness import integrity

DEFAULT_OUT = pathlib.Path("reports") / "out"  # relative to the working directory
HELP = "run the conformance suites on one backend and write its record and report"


def add_arguments(parser):
    parser.add_argument("--backend", default="reference",
                        help="backend name or package.module:AdapterClass (default: reference)")
    parser.add_argument("--out", default=str(DEFAULT_OUT), help="directory for the record and report")
    parser.add_argument("pytest_args", nargs=argparse.REMAINDER, help="extra pytest arguments after --")


def record_name(backend: str) -> str:
    return backend.replace(":", "_").replace("/", "_")


def run(args) -> int:
    import pytest

    extra = args.pytest_args[1:] if args.pytest_args[:1] == ["--"] else args.pytest_args
    out = pathlib.Path(args.out).resolve()
    record = out / f"{record_name(args.backend)}.json"
    pytest_args = [str(integrity.SUITES_DIR), *integrity.pytest_location_args(),
                   f"--backend={args.backend}", f"--record={record}", "-q", *extra]
    record.unlink(missing_ok=True)  # a run that stops before its session must not report an old record
    status = int(pytest.main(pytest_args))
    from layercontract.reports import merge  # after the run: importing the plugin module first defeats assert rewriting
    from layercontract.reports.schema import ReportError

    if not record.exists():  # pytest stopped before the session (bad backend, bad expectations)
        return status
    stem = record_name(args.backend)
    try:  # the report of this one run: <backend>.html (as index.html of `merge`) and <backend>.md
        written = merge.write_reports([record], out, names={"index.html": f"{stem}.html",
                                                            "summary.md": f"{stem}.md", "matrix.json": None})
    except ReportError as e:
        print(f"layercontract: could not write the report: {e}", file=sys.stderr)
        return status or 3
    print(f"\nlayercontract: run record {record}\nlayercontract: report     {written['index.html']}"
          f"\nlayercontract: summary    {written['summary.md']}")
    return status
