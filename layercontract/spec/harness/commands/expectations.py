"""layercontract expectations SUBCOMMAND: tools for expectations files.

draft RECORD [--out FILE] [--format findings|legacy]
      entries for a run record's unexpected failures, grouped into candidate findings, each
      with a `match` derived from the failure's first line, TODOs for a person to review
      (`layercontract expectations draft --help`)
convert FILE [--out PATH]
      rewrite a legacy expectations file (kind, reason, upstream in every entry) as findings,
      each described once (`layercontract expectations convert --help`)
"""

from __future__ import annotations

import argparse

from layercontract.spec.harness.commands import expectations_convert, expectations_draft

HELP = (
    "expectations files: draft entries from a run record (expectations draft RECORD), convert a "
    "legacy file to findings (expectations convert FILE)"
)
SUBCOMMANDS = {"draft": expectations_draft, "convert": expectations_convert}


def add_arguments(parser):
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    sub = parser.add_subparsers(dest="expectations_command", required=True, metavar="SUBCOMMAND")
    for name, module in SUBCOMMANDS.items():
        command = sub.add_parser(
            name, help=module.HELP, description=module.__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
        )
        module.add_arguments(command)
        command.set_defaults(expectations_run=module.run)


def run(args) -> int:
    return args.expectations_run(args)
