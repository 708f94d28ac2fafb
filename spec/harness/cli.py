"""layercontract's command line.

    layercontract run [--backend NAME] [--out DIR] [-- PYTEST ARGS...]
        the conformance run: all suites on one backend, a per-clause summary in the
        terminal, the run record (JSON) and a Markdown report in DIR (default reports/out)
    layercontract backends
        the known backends and where each comes from
"""
from __future__ import annotations

import argparse
import pathlib
import sys

from spec.harness import registry

ROOT = pathlib.Path(__file__).resolve().parents[2]
DEFAULT_OUT = ROOT / "reports" / "out"


def _run(args) -> int:
    import pytest

    out = pathlib.Path(args.out).resolve()
    safe_name = args.backend.replace(":", "_").replace("/", "_")
    record = out / f"{safe_name}.json"
    pytest_args = [str(ROOT / "suites"), f"--backend={args.backend}", f"--record={record}",
                   f"--rootdir={ROOT}", "-q", *args.pytest_args]
    status = int(pytest.main(pytest_args))
    from reports import render  # after the run: importing the plugin module first defeats assert rewriting

    if not record.exists():  # pytest stopped before the session (bad backend, bad expectations)
        return status
    try:
        report = render.write_markdown_report([record], out / f"{safe_name}.md")
    except render.ReportError as e:
        print(f"layercontract: could not write the report: {e}", file=sys.stderr)
        return status or 3
    print(f"\nlayercontract: run record {record}\nlayercontract: report     {report}")
    return status


def _backends(_args) -> int:
    for name, spec in registry.known_backends().items():
        print(f"{name:<20} {spec}")
    print("(any other adapter: --backend package.module:AdapterClass)")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="layercontract", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the conformance suites on one backend and write its report")
    run.add_argument("--backend", default="reference")
    run.add_argument("--out", default=str(DEFAULT_OUT), help="directory for the record and report")
    run.add_argument("pytest_args", nargs=argparse.REMAINDER, help="extra pytest arguments after --")
    run.set_defaults(func=_run)
    sub.add_parser("backends", help="list known backends").set_defaults(func=_backends)
    args = parser.parse_args(argv)
    if getattr(args, "pytest_args", None) and args.pytest_args[0] == "--":
        args.pytest_args = args.pytest_args[1:]
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
