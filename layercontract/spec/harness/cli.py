"""layercontract's command line: `layercontract COMMAND ...` (see spec/harness/commands/)."""

from __future__ import annotations

import argparse
import importlib
import sys

from layercontract.spec.harness.commands import COMMANDS


def safe_streams() -> None:
    """Never fail on printing: a character stdout's encoding lacks (PYTHONIOENCODING=latin-1, an
    ASCII locale) is written as a backslash escape, not an exception after the work is done."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)  # None: replaced by a test harness
        try:
            if reconfigure is not None:
                reconfigure(errors="backslashreplace")
        except ValueError:  # closed
            pass


def main(argv=None) -> int:
    safe_streams()
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = argparse.ArgumentParser(
        prog="layercontract", description="Conformance checks of the Keras layer/model contract."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    # Only the command given is imported (some import pytest or numpy, a few tenths of a second
    # each); every command only for the list of commands (--help, a missing or unknown command).
    for name in [argv[0]] if argv and argv[0] in COMMANDS else COMMANDS:
        module = importlib.import_module(f"layercontract.spec.harness.commands.{name.replace('-', '_')}")
        command = sub.add_parser(name, help=module.HELP, description=module.__doc__)
        module.add_arguments(command)
        command.set_defaults(func=module.run)
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:  # the command has stopped its children and said so
        print(f"layercontract {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
