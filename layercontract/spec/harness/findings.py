"""Findings' standalone reproducers, as the command line runs them (`repro`, `bisect --reproducer`,
`upstream-report`): where a finding's script is, the environment it runs in, its exit status.

The findings themselves are read by the one reader, expectations.load_findings (the same
validation the expectations files' loader applies); `load` and `get` here turn its errors into
FindingsError, one message for the command line. A reproducer is plain Keras (no layercontract
import): it runs on the backend KERAS_BACKEND names (tf-keras reproducers import tf_keras) and
exits 1 while the finding holds, 0 once it is fixed, 2 when it cannot run there. The findings
file is expectations.FINDINGS_FILE (one constant); the commands take --findings PATH for another.
"""

from __future__ import annotations

import dataclasses
import os
import pathlib
import subprocess
import sys
import time

from layercontract.spec.harness import expectations
from layercontract.spec.harness.expectations import Finding

FINDINGS_FILE = expectations.FINDINGS_FILE
REPRODUCERS_DIR = "reproducers"
HOLDS, FIXED, CANNOT_RUN, TIMED_OUT = 1, 0, 2, 124
VERDICTS = {HOLDS: "holds", FIXED: "fixed", CANNOT_RUN: "cannot run"}
REPRODUCER_TIMEOUT_S = 600
# Keras 3 backend names -> KERAS_BACKEND
KERAS_BACKENDS = {
    "keras-tensorflow": "tensorflow",
    "keras-jax": "jax",
    "keras-torch": "torch",
    "keras-numpy": "numpy",
    "keras-openvino": "openvino",
}


class FindingsError(Exception):
    """An unreadable findings file or an unknown finding (one message)."""


def load(path=None) -> dict[str, Finding]:
    """id -> Finding, in file order (expectations.load_findings)."""
    path = pathlib.Path(path or FINDINGS_FILE)
    if not path.exists():  # anything else that is no regular file: the reader says what it is
        raise FindingsError(f"no findings file {path} (give one with --findings PATH)")
    try:
        return expectations.load_findings(path)
    except expectations.ExpectationsError as e:
        raise FindingsError(str(e)) from None


def get(finding_id: str, path=None) -> Finding:
    findings = load(path)
    if finding_id not in findings:
        import difflib

        close = difflib.get_close_matches(finding_id, findings, n=3, cutoff=0.4)
        raise FindingsError(
            f"no finding {finding_id!r} in {pathlib.Path(path or FINDINGS_FILE)}"
            + (f" (did you mean {', '.join(close)}?)" if close else f"; known: {', '.join(findings) or 'none'}")
        )
    return findings[finding_id]


def reproducer_script(finding: Finding) -> pathlib.Path:
    """The finding's `reproducer` (relative to the file that declares it), else
    <that file's directory>/reproducers/<id>.py."""
    return finding.reproducer_path or pathlib.Path(finding.file).resolve().parent / REPRODUCERS_DIR / f"{finding.id}.py"


def default_backend(finding: Finding) -> str:
    """The backend a reproducer runs on when none is given: the first Keras 3 backend the finding
    names (keras-numpy preferred: the quickest to load), else its first backend."""
    names = finding.backends
    if "keras-numpy" in names:
        return "keras-numpy"
    return next((n for n in names if n in KERAS_BACKENDS), names[0] if names else "keras-numpy")


def environment(backend: str, overlay=None, env: dict | None = None) -> dict:
    """The environment of a reproducer's process on `backend` (a base name: keras-jax, tf-keras)
    and, for NAME@VERSION, the Keras overlay first on PYTHONPATH."""
    from layercontract.spec.harness import overlay as overlay_mod

    env = {
        k: v
        for k, v in (os.environ if env is None else env).items()
        if k not in ("LAYERCONTRACT_BACKEND", "PYTEST_ADDOPTS", overlay_mod.ENV_OVERLAY)
    }
    env["PYTHONUNBUFFERED"] = "1"
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if backend in KERAS_BACKENDS:
        env["KERAS_BACKEND"] = KERAS_BACKENDS[backend]
    if overlay is not None:
        env = overlay_mod.child_environment(overlay, env)
    return env


@dataclasses.dataclass
class ReproResult:
    returncode: int
    output: str  # the reproducer's stdout: what it observed and its verdict
    seconds: float
    errors: str = ""  # its stderr (framework logs; the traceback when it could not run)

    @property
    def verdict(self) -> str:
        return VERDICTS.get(self.returncode, f"cannot run (exit status {self.returncode})")


def run_reproducer(
    script: pathlib.Path, backend: str, overlay=None, timeout: float = REPRODUCER_TIMEOUT_S
) -> ReproResult:
    """Run a reproducer script in a child process (stdout and stderr together)."""
    from layercontract.spec.harness import processes

    started = time.monotonic()
    try:
        proc = processes.run(
            [sys.executable, str(script)], timeout=timeout, cwd=str(script.parent), env=environment(backend, overlay)
        )
    except subprocess.TimeoutExpired:
        return ReproResult(
            TIMED_OUT, f"the reproducer ran past {timeout:g} s and was killed\n", round(time.monotonic() - started, 2)
        )
    return ReproResult(proc.returncode, proc.stdout, round(time.monotonic() - started, 2), proc.stderr)
