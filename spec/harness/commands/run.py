"""layercontract run: the conformance suites on one backend, then its record and report."""
from __future__ import annotations

import argparse
import os
import pathlib
import sys

from layercontract.spec.harness import integrity

DEFAULT_OUT = pathlib.Path("reports") / "out"  # relative to the working directory
HELP = "run the conformance suites on one backend and write its record and report"


def add_arguments(parser):
    parser.add_argument("--backend", default="reference",
                        help="backend name or package.module:AdapterClass (default: reference)")
    parser.add_argument("--out", default=str(DEFAULT_OUT), help="directory for the record and report")
    parser.add_argument("--keras-cache", default=None, metavar="DIR",
                        help="cache of Keras overlays for a NAME@VERSION backend such as keras-jax@3.12.0 or "
                             "keras-jax@nightly (default: $LAYERCONTRACT_KERAS_CACHE, else the user cache "
                             "directory's layercontract/keras)")
    parser.add_argument("pytest_args", nargs=argparse.REMAINDER, help="extra pytest arguments after --")


def record_name(backend: str) -> str:
    return backend.replace(":", "_").replace("/", "_")


def prepare_overlay(args) -> bool:
    """For a NAME@VERSION backend: find or install its Keras overlay now and hand it to the run
    (this process runs only this backend; the plugin puts the overlay first on sys.path before
    Keras is imported). False, with the reason printed, when it cannot be prepared."""
    from layercontract.spec.harness import overlay

    if getattr(args, "keras_cache", None):
        os.environ[overlay.ENV_CACHE] = str(pathlib.Path(args.keras_cache).expanduser().resolve())
    if "@" not in args.backend or ":" in args.backend:
        return True
    try:
        _base, request = overlay.split_name(args.backend)
        found = overlay.prepare(request)
    except overlay.OverlayError as e:
        print(f"layercontract run: backend {args.backend!r}: {e}", file=sys.stderr)
        return False
    print(f"layercontract: {args.backend}: {found.distribution} {found.version} from {found.path} "
          f"(ready in {found.seconds:.1f} s)" + (f"; {found.note}" if found.note else ""), flush=True)
    os.environ.update(overlay.child_environment(found))
    return True


def run(args) -> int:
    import pytest

    extra = args.pytest_args[1:] if args.pytest_args[:1] == ["--"] else args.pytest_args
    out = pathlib.Path(args.out).resolve()
    record = out / f"{record_name(args.backend)}.json"
    pytest_args = [str(integrity.SUITES_DIR), *integrity.pytest_location_args(),
                   f"--backend={args.backend}", f"--record={record}", "-q", *extra]
    record.unlink(missing_ok=True)  # a run that stops before its session must not report an old record
    if not prepare_overlay(args):
        return 4  # as pytest's usage error: the backend cannot be set up
    status = int(pytest.main(pytest_args))
    from layercontract.reports import merge  # after the run: importing the plugin module first defeats assert rewriting
    from layercontract.reports.schema import ReportError

    if not record.exists():  # pytest stopped before the session (bad backend, bad expectations)
        return status
    stem = record_name(args.backend)
    try:  # the report of this one run: <backend>.html (as index.html of `merge`) and <backend>.md
        written = merge.write_reports([record], out, names={"index.html": f"{stem}.html",
                                                            "summary.md": f"{stem}.md", "matrix.json": None})
    except ReportError as e:
        print(f"layercontract: could not write the report: {e}", file=sys.stderr)
        return status or 3
    print(f"\nlayercontract: run record {record}\nlayercontract: report     {written['index.html']}"
          f"\nlayercontract: summary    {written['summary.md']}")
    return status
