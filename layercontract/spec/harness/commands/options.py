"""Options and checks the commands share: seconds as an argparse type (values.py), the timeouts
(run, run-many, doctor), the output directory, and an output file checked before a command does
its work and written atomically after it (bench, bisect, kill-matrix, reproducers,
upstream-report, expectations draft and convert)."""

from __future__ import annotations

import pathlib
import tempfile

from layercontract.spec.harness.values import seconds  # also the plugin's and forwarded values' type

DEFAULT_OUT = pathlib.Path("reports") / "out"  # relative to the working directory
DEFAULT_TEST_TIMEOUT_S = 120.0
DEFAULT_GRACE_S = 10.0


def add_timeouts(parser, backend_default):
    parser.add_argument(
        "--test-timeout",
        type=seconds,
        default=DEFAULT_TEST_TIMEOUT_S,
        metavar="SECONDS",
        help=f"per-test timeout (default {DEFAULT_TEST_TIMEOUT_S:g}; 0: none)",
    )
    parser.add_argument(
        "--backend-timeout",
        type=seconds,
        default=backend_default,
        metavar="SECONDS",
        help=f"per-backend timeout (default {backend_default:g}; 0: none)",
    )
    parser.add_argument(
        "--grace",
        type=seconds,
        default=DEFAULT_GRACE_S,
        metavar="SECONDS",
        help="how long past the per-test timeout a stuck test may run before its "
        f"process is killed (default {DEFAULT_GRACE_S:g})",
    )


def usable_out(out: pathlib.Path, option: str = "--out") -> str | None:
    """None if records can be written in `out` (created if missing), else why not."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out):
            pass
    except OSError as e:
        return f"{option} {out} is not a writable directory: {e.strerror or e}"
    return None


def usable_file(path, option: str = "--out") -> str | None:
    """None if a file can be written at `path` (its directory created if missing), else why not:
    checked before a command's work, so that a long run never ends in an unwritable place."""
    path = pathlib.Path(path).expanduser()
    if path.is_dir():
        return f"{option} {path} is a directory: give a file name"
    problem = usable_out(path.absolute().parent, option)
    return f"{problem} (for {path.name})" if problem else None


def write_file(path, text: str, option: str = "--out") -> str | None:
    """Write `text` to `path` atomically (a reader, or a full disk, sees the old file or the new
    one, never a part); None, or why it could not be written, in one line."""
    from layercontract.reports import records

    try:
        records.write_atomic(pathlib.Path(path).expanduser(), text)
    except OSError as e:
        return f"cannot write {option} {path}: {e.strerror or e}; nothing written"
    return None
