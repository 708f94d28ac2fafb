"""Subcommands of the `layercontract` command line, one module each.

A command module defines HELP (one line), add_arguments(parser) and run(args) -> exit code.
To add a command, create a module here and list it in COMMANDS.
"""

COMMANDS = [
    "run",
    "backends",
    "doctor",
    "run-many",
    "merge",
    "diff",
    "kill-matrix",
    "bisect",
    "repro",
    "expectations",
    "upstream-report",
    "bench",
    "reproducers",
]
