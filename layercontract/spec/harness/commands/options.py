"""Options and checks the run commands share (run, run-many, doctor): seconds as an argparse type (values.py),
the timeouts, the output directory."""

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


def usable_out(out: pathlib.Path) -> str | None:
    """None if records can be written in `out` (created if missing), else why not."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out):
            pass
    except OSError as e:
        return f"--out {out} is not a writable directory: {e.strerror or e}"
    return None
