"""layercontract diff OLD NEW: what changed between two runs, as Markdown.

OLD and NEW are run records or matrix.json files (any mix). Lists, per backend, regressions
(a test's conformance got worse: pass -> deviation -> fail/error/crash/timeout), fixes, other
changes, clauses added/removed/changed and version changes. Exit status: 1 when anything
regressed, 0 otherwise, 2 when an input cannot be read - or cannot be judged: a run that did
not complete (killed, interrupted, still running; --allow-incomplete compares it anyway) or two
inputs with no backend in common (--allow-disjoint), which a gate must never read as "no
regression".
"""

from __future__ import annotations

import pathlib
import sys

HELP = "compare two run records or matrix.json files (exit 1 on a regression)"


def add_arguments(parser):
    parser.add_argument("old", metavar="OLD", help="the baseline: a run record or matrix.json")
    parser.add_argument("new", metavar="NEW", help="the run to compare: a run record or matrix.json")
    parser.add_argument(
        "--allow-incomplete",
        action="store_true",
        help="compare runs that did not complete (default: exit 2, they prove nothing)",
    )
    parser.add_argument(
        "--allow-disjoint", action="store_true", help="compare inputs with no backend in common (default: exit 2)"
    )


def run(args) -> int:
    from layercontract.reports import diff
    from layercontract.reports.schema import ReportError

    problems, runs = [], []
    for path in (args.old, args.new):
        try:
            runs.append(diff.load_runs(path))
        except ReportError as e:
            problems.append(str(e))
    if not problems:
        problems = diff.gate_problems(
            runs[0],
            runs[1],
            (args.old, args.new),
            allow_incomplete=args.allow_incomplete,
            allow_disjoint=args.allow_disjoint,
        )
    if problems:
        for problem in problems:
            print(f"layercontract diff: error: {problem}", file=sys.stderr)
        return 2
    result = diff.compare(*runs)
    print(diff.markdown(result, pathlib.Path(args.old).name, pathlib.Path(args.new).name))
    return 1 if result.regressions else 0
