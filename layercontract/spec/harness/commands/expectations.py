"""layercontract expectations SUBCOMMAND: tools for expectations files.

  convert FILE [--out PATH]
        rewrite a legacy expectations file (kind, reason, upstream in every entry) as findings,
        each described once (`layercontract expectations convert --help`)
"""
from __future__ import annotations

import argparse

from layercontract.spec.harness.commands import expectations_convert

HELP = "expectations files: convert a legacy file to findings (expectations convert FILE)"
SUBCOMMANDS = {"convert": expectations_convert}


def add_arguments(parser):
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    sub = parser.add_subparsers(dest="expectations_command", required=True, metavar="SUBCOMMAND")
    for name, module in SUBCOMMANDS.items():
        command = sub.add_parser(name, help=module.HELP, description=module.__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
        module.add_arguments(command)
        command.set_defaults(expectations_run=module.run)


def run(args) -> int:
    return args.expectations_run(args)
