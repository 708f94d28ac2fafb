"""layercontract reproducers: run every finding's standalone reproducer on each backend its finding
names (a process each, --jobs at a time) and check its exit status against the finding's `when`:
1 where the finding holds, 0 where it does not. On the installed (pinned) Keras by default, or on
a Keras overlay with --keras nightly / --keras VERSION (Keras 3 backends only; a reproducer that
cannot run there is reported, not a disagreement). Exit status 0: every run agrees; 1: a run
disagrees (or cannot run on the pinned versions); 2: the check could not start.
"""

from __future__ import annotations

import sys

from layercontract.spec.harness import reproducer_check
from layercontract.spec.harness.commands.options import usable_file

HELP = "check every finding's reproducer against its `when` (exit 1 where it holds, 0 where not)"


def add_arguments(parser):
    reproducer_check.add_arguments(parser)


def run(args) -> int:
    problem = usable_file(args.out) if args.out else None
    if problem:  # before the reproducers run, not after
        print(f"layercontract reproducers: error: {problem}", file=sys.stderr)
        return 2
    return reproducer_check.check(args)
