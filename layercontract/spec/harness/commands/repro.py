"""layercontract repro FINDING: run a finding's standalone reproducer.

The reproducer is <findings dir>/reproducers/<FINDING>.py beside the findings file (the
package's backends/findings.toml, or --findings PATH): plain Keras and numpy, no layercontract
import. It runs in a child process with KERAS_BACKEND set from --backend (keras-jax -> jax;
tf-keras reproducers import tf_keras) and, for NAME@VERSION (keras-jax@3.15.1,
keras-numpy@nightly, keras-numpy@3.16.0.dev2026101504), that Keras's cached overlay first on
PYTHONPATH (installed once, as `layercontract run` does). Without --backend: the finding's
first backend (keras-numpy when it is one of them).

Prints the reproducer's output and its verdict. Exit status: the reproducer's own, 1 the
finding holds, 0 it is fixed here, 2 it cannot run here (or bad input: an unknown finding, a
version that cannot be installed).
"""

from __future__ import annotations

import os
import pathlib
import sys

STDERR_TAIL = 30
HELP = "run a finding's standalone reproducer (exit 1 holds, 0 fixed, 2 cannot run)"


def add_arguments(parser):
    parser.add_argument("finding", metavar="FINDING", help="the finding's id, as in the findings file")
    parser.add_argument(
        "--backend",
        default=None,
        metavar="NAME[@VERSION]",
        help="keras-jax, keras-numpy@3.15.1, keras-torch@nightly, tf-keras, ... (default: the finding's first backend)",
    )
    parser.add_argument(
        "--findings", default=None, metavar="PATH", help="findings file (default: the package's backends/findings.toml)"
    )
    parser.add_argument(
        "--keras-cache",
        default=None,
        metavar="DIR",
        help="cache of Keras overlays for NAME@VERSION (default: $LAYERCONTRACT_KERAS_CACHE, else the user cache)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=600.0,
        metavar="SECONDS",
        help="kill the reproducer after this long (default 600)",
    )


def _error(text) -> int:
    print(f"layercontract repro: error: {text}", file=sys.stderr)
    return 2


def run(args) -> int:
    from layercontract.spec.harness import findings, overlay

    if args.keras_cache:
        os.environ[overlay.ENV_CACHE] = str(pathlib.Path(args.keras_cache).expanduser().resolve())
    try:
        finding = findings.get(args.finding, args.findings)
    except findings.FindingsError as e:
        return _error(str(e))
    script = findings.reproducer_script(finding)
    if not script.is_file():
        return _error(f"finding {finding.id}: no reproducer {script}")
    requested = args.backend or findings.default_backend(finding)
    try:
        base, version = overlay.split_name(requested)
    except overlay.OverlayError as e:
        return _error(str(e))
    if version and base not in findings.KERAS_BACKENDS:
        return _error(
            f"--backend {requested!r}: a Keras version only goes with a Keras 3 backend "
            f"({', '.join(findings.KERAS_BACKENDS)})"
        )
    found = None
    if version:
        try:
            found = overlay.prepare(version)
        except overlay.OverlayError as e:
            return _error(f"backend {requested!r}: {e}")
        print(
            f"layercontract repro: {requested}: {found.distribution} {found.version} from {found.path}"
            + (f"; {found.note}" if found.note else ""),
            flush=True,
        )
    print(f"layercontract repro: {finding.id} on {requested}: {script}", flush=True)
    result = findings.run_reproducer(script, base, found, timeout=args.timeout)
    sys.stdout.write(result.output if result.output.endswith("\n") or not result.output else result.output + "\n")
    if result.returncode not in (findings.HOLDS, findings.FIXED) and result.errors.strip():
        print("\n".join(result.errors.rstrip().splitlines()[-STDERR_TAIL:]))  # why it could not run
    print(
        f"layercontract repro: {finding.id} on {requested}: {result.verdict.upper()} "
        f"(exit status {result.returncode}, {result.seconds:.1f} s)",
        flush=True,
    )
    return result.returncode
