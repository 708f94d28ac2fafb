"""Check every finding's reproducer against its `when`: each runs, in a process of its own, on each
backend its finding names, and must exit 1 where the finding's `when` holds for the Keras it runs
on and 0 where it does not (2: it cannot run there).

    layercontract reproducers [--keras nightly|VERSION] [--jobs N] [--findings FILE] [--only ID ...]
        [--out FILE.md]          (also: python -m layercontract.spec.harness.reproducer_check)

Without --keras: the pinned (installed) Keras and tf-keras; every row must agree, and a reproducer
that cannot run on a pinned backend is a failure too (CI gates on it). With --keras nightly (or an
exact version): that Keras as a cached overlay first on PYTHONPATH (overlay.py), on the Keras 3
backends only (tf-keras does not import keras); a reproducer that cannot run there (keras-openvino:
not part of keras-nightly) is reported, not a disagreement. Exit status 0: every row agrees;
1: a row disagrees (or cannot run on the pinned versions); 2: the check itself could not start.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import dataclasses
import importlib.metadata
import os
import pathlib
import subprocess
import sys
import time

from packaging.requirements import Requirement
from packaging.version import Version

from layercontract.spec.harness import expectations, processes

KERAS_BACKENDS = {
    "keras-tensorflow": "tensorflow",
    "keras-jax": "jax",
    "keras-torch": "torch",
    "keras-numpy": "numpy",
    "keras-openvino": "openvino",
}
RECORDED = ("keras", "tf-keras", "tensorflow-cpu", "tensorflow", "jax", "torch", "numpy", "openvino")
TIMEOUT_S = 300
HOLDS, FIXED, CANNOT_RUN = 1, 0, 2


@dataclasses.dataclass
class Row:
    finding: str
    backend: str
    keras: str
    expected: int
    returncode: int | None = None
    seconds: float = 0.0
    said: str = ""  # the reproducer's last line of output

    @property
    def verdict(self) -> str:
        if self.returncode == self.expected:
            return "agrees"
        if self.returncode == CANNOT_RUN:
            return "cannot run"
        if self.returncode is None:
            return "timed out"
        return "DISAGREES"


def installed() -> dict[str, str]:
    found = {}
    for name in RECORDED:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            pass
    return found


def holds(when: tuple[str, ...], versions: dict[str, str]) -> bool:
    """True if every requirement holds; a requirement on a distribution not in `versions` is an
    error (as in expectations entries)."""
    for text in when:
        requirement = Requirement(text)
        if requirement.name not in versions:
            raise expectations.ExpectationsError(
                f"`when` {text!r} names {requirement.name!r}, which this "
                f"run does not record ({', '.join(sorted(versions))})"
            )
        if not requirement.specifier.contains(Version(versions[requirement.name]), prereleases=True):
            return False
    return True


def rows_for(findings, base_versions: dict[str, str], keras: str | None, only=()) -> list[Row]:
    rows = []
    for finding in findings.values():
        if only and finding.id not in only:
            continue
        if finding.reproducer_path is None:
            continue  # a finding without a reproducer (an adapter's): nothing to run
        for backend in finding.backends:
            if backend in KERAS_BACKENDS:
                versions = {k: v for k, v in base_versions.items() if k != "tf-keras"}
                if keras:
                    versions["keras"] = keras
            elif backend == "tf-keras":
                if keras:
                    continue  # tf-keras does not import keras: an overlay changes nothing
                versions = {k: v for k, v in base_versions.items() if k != "keras"}
            else:
                continue  # not a built-in backend: nothing here knows how to run it
            shown = (
                f"keras {versions.get('keras')}"
                if backend in KERAS_BACKENDS
                else f"tf-keras {versions.get('tf-keras')}"
            )
            rows.append(Row(finding.id, backend, shown, HOLDS if holds(finding.when, versions) else FIXED))
    return rows


def environment(backend: str, overlay=None) -> dict:
    from layercontract.spec.harness import overlay as overlay_mod

    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("LAYERCONTRACT_") and k not in ("PYTEST_ADDOPTS", "PYTHONPATH")
    }
    env.update(TF_CPP_MIN_LOG_LEVEL="3", PYTHONUNBUFFERED="1", PYTHONDONTWRITEBYTECODE="1")
    if backend in KERAS_BACKENDS:
        env["KERAS_BACKEND"] = KERAS_BACKENDS[backend]
    if overlay is not None:
        env = overlay_mod.child_environment(overlay, env)
    return env


def run_row(row: Row, script: pathlib.Path | None, overlay=None) -> Row:
    assert script is not None  # rows_for makes rows only for findings with a reproducer
    started = time.monotonic()
    try:
        proc = processes.run(
            [sys.executable, str(script)],
            timeout=TIMEOUT_S,
            cwd=str(script.parent),
            env=environment(row.backend, overlay),
        )
        row.returncode = proc.returncode
        lines = [line.strip() for line in proc.stdout.splitlines() if line.strip()]
        row.said = lines[-1] if lines else (proc.stderr.strip().splitlines() or [""])[-1]
    except subprocess.TimeoutExpired:
        row.said = f"ran past {TIMEOUT_S} s and was killed"
    row.seconds = round(time.monotonic() - started, 1)
    return row


def table(rows: list[Row], title: str) -> str:
    lines = [
        f"### {title}",
        "",
        "| finding | backend | version | exit | expected by `when` | verdict | s |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r.finding} | {r.backend} | {r.keras} | {r.returncode} | {r.expected} | {r.verdict} | {r.seconds} |"
        )
    return "\n".join(lines) + "\n"


def add_arguments(parser):
    parser.add_argument(
        "--keras", default=None, help="nightly or an exact Keras version (an overlay); default: the installed Keras"
    )
    parser.add_argument("--jobs", type=int, default=2, help="reproducers at once (default 2)")
    parser.add_argument("--findings", type=pathlib.Path, default=expectations.FINDINGS_FILE)
    parser.add_argument("--only", nargs="*", default=(), metavar="ID")
    parser.add_argument("--out", type=pathlib.Path, default=None, help="also write the table (Markdown) here")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="layercontract reproducers", description=__doc__.split("\n\n")[0])
    add_arguments(parser)
    return check(parser.parse_args(argv))


def check(args) -> int:
    started = time.monotonic()
    try:
        findings = expectations.load_findings(args.findings)
        overlay = None
        if args.keras:
            from layercontract.spec.harness import overlay as overlay_mod

            overlay = overlay_mod.prepare(args.keras)
        rows = rows_for(findings, installed(), overlay.version if overlay else None, args.only)
    except Exception as e:  # an invalid findings file, an overlay that cannot be prepared
        print(f"reproducer check: {type(e).__name__}: {e}", file=sys.stderr)
        return 2
    if args.only and set(args.only) - set(findings):
        print(f"reproducer check: no finding {', '.join(sorted(set(args.only) - set(findings)))}", file=sys.stderr)
        return 2
    what = f"keras {overlay.version} (overlay)" if overlay else "the pinned versions"
    print(f"reproducer check: {len(rows)} runs ({len(findings)} findings) on {what}, {args.jobs} at a time", flush=True)
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        futures = [pool.submit(run_row, row, findings[row.finding].reproducer_path, overlay) for row in rows]
        for future in concurrent.futures.as_completed(futures):
            r = future.result()
            print(
                f"  {r.verdict:10} {r.finding} on {r.backend} ({r.keras}): exit {r.returncode}, "
                f"expected {r.expected} ({r.seconds} s){'' if r.verdict == 'agrees' else ': ' + r.said}",
                flush=True,
            )
    wall = time.monotonic() - started
    bad = [r for r in rows if r.verdict != "agrees" and not (overlay and r.verdict == "cannot run")]
    unrunnable = [r for r in rows if r.verdict == "cannot run"]
    summary = (
        f"reproducer check on {what}: {len(rows)} runs, {len(rows) - len(bad) - len(unrunnable) if overlay else len(rows) - len(bad)} agree with `when`"
        + (f", {len(unrunnable)} cannot run there" if overlay and unrunnable else "")
        + (f", {len(bad)} do NOT" if bad else "")
        + f"; {wall:.0f} s of wall, "
        f"{sum(r.seconds for r in rows):.0f} s summed over the runs"
    )
    print(summary)
    if args.out:
        from layercontract.reports import records

        try:
            records.write_atomic(args.out, table(rows, summary))
        except OSError as e:
            print(
                f"reproducer check: cannot write --out {args.out}: {e.strerror or e}; nothing written", file=sys.stderr
            )
            return 2
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
