"""layercontract merge: run records of any backends -> index.html, summary.md, matrix.json.

index.html is one self-contained page (the clause x backend matrix by area; click a cell for
its tests, messages, deviation reasons and rerun commands; versions, totals, spec coverage,
and the kill matrix with --kill-matrix). summary.md is compact (a GitHub step summary or PR
comment); matrix.json is the merged data (reports/SCHEMA.md). Every input is validated before
anything is written: a bad file is one error naming it (exit 2) and no output is touched.
"""

from __future__ import annotations

import pathlib
import sys
import time

HELP = "merge run records into index.html, summary.md and matrix.json"


def add_arguments(parser):
    parser.add_argument("records", nargs="+", metavar="RECORD", help="run records (JSON) to merge")
    parser.add_argument("--out", required=True, metavar="DIR", help="directory for the three outputs")
    parser.add_argument(
        "--kill-matrix",
        default=None,
        metavar="PATH",
        help='fault kill matrix JSON: {"faults": {name: {"description", "killed_by", "first_message"}}}',
    )


def run(args) -> int:
    from layercontract.reports import merge
    from layercontract.reports.schema import ReportError

    start = time.perf_counter()
    # `merge reports/out/*.json --out reports/out` globs the previous matrix.json: not an input
    outputs = {(pathlib.Path(args.out) / name).resolve() for name in merge.OUTPUTS}
    records = [r for r in args.records if pathlib.Path(r).resolve() not in outputs]
    for skipped in sorted(set(args.records) - set(records)):
        print(f"layercontract merge: skipping {skipped}: an output of this merge")
    try:
        written = merge.write_reports(records, args.out, args.kill_matrix)
    except ReportError as e:
        for line in str(e).splitlines():
            print(f"layercontract merge: error: {line}", file=sys.stderr)
        print("layercontract merge: nothing written", file=sys.stderr)
        return 2
    except OSError as e:  # an unusable --out: a file or directory in the way, no space, no permission
        print(
            f"layercontract merge: error: cannot write to {args.out}: {e.strerror or e} "
            f"({e.filename or args.out}); give a writable directory to --out",
            file=sys.stderr,
        )
        print("layercontract merge: nothing written", file=sys.stderr)
        return 2
    elapsed = time.perf_counter() - start
    for name, path in written.items():
        print(f"layercontract merge: {name:<11} {path} ({pathlib.Path(path).stat().st_size / 1024:.0f} KiB)")
    print(f"layercontract merge: {len(records)} record(s) in {elapsed:.2f} s")
    return 0
