"""layercontract kill-matrix: run the suites against the reference once per fault of
reference_impl/faults/ (several at a time) and write which clauses killed each fault, with the
first failing message, as JSON for `layercontract merge --kill-matrix`."""

from __future__ import annotations

import json
import pathlib
import sys
import tempfile
import time

from layercontract.spec.harness.commands.options import usable_file, write_file

HELP = "run every fault of the reference and write the fault x clause kill matrix (JSON)"


def add_arguments(parser):
    parser.add_argument(
        "--out",
        default=str(pathlib.Path("reports") / "out" / "kill-matrix.json"),
        help="the JSON file to write (default reports/out/kill-matrix.json)",
    )
    parser.add_argument("-j", "--jobs", type=int, default=None, help="runs at once (default: cores)")


def run(args) -> int:
    from layercontract.reference_impl import faults
    from layercontract.spec.harness import fault_runs

    problem = usable_file(args.out)
    if problem:  # before the runs, not after
        print(f"layercontract kill-matrix: error: {problem}", file=sys.stderr)
        return 2
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="layercontract-faults-") as workdir:
        runs = fault_runs.runs_for(faults.FAULTS, pathlib.Path(workdir), workers=args.jobs)
        try:
            matrix = fault_runs.kill_matrix(faults.FAULTS, runs)
        except fault_runs.FaultRunError as e:
            print(f"layercontract kill-matrix: {e}", file=sys.stderr)
            return 2
        finally:
            runs.close()
    problem = write_file(args.out, json.dumps(matrix, indent=1) + "\n")
    if problem:
        print(f"layercontract kill-matrix: error: {problem}", file=sys.stderr)
        return 2
    out = args.out
    survivors = [name for name, row in matrix["faults"].items() if not row["killed_by"]]
    print(
        f"layercontract kill-matrix: {len(matrix['faults']) - len(survivors)} of {len(matrix['faults'])} "
        f"faults killed in {time.monotonic() - started:.1f} s -> {out}"
    )
    if survivors:
        print(f"survivors: {', '.join(survivors)}", file=sys.stderr)
    return 1 if survivors else 0
