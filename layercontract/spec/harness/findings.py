"""Findings (one upstream behaviour each, described once) and their standalone reproducers, as
the command line reads them (`repro`, `bisect --reproducer`, `upstream-report`).

    [[finding]]
    id = "k3-nightly-pinned-training-leaks-downstream"
    kind = "regression"            # upstream-bug | regression | design | limitation
    title = "..."
    cause = "..."
    upstream = ["https://github.com/keras-team/keras/pull/23364"]
    status = "..."
    when = "keras >= 3.16.0.dev0"  # optional
    backends = ["keras-jax", ...]
    last_good = "3.16.0.dev2026101404"   # optional, once bisected
    first_bad = "3.16.0.dev2026101504"
    reproducer = "..."             # informative; the script is <findings dir>/reproducers/<id>.py
    reason = "..."

A reproducer is plain Keras (no layercontract import): it runs on the backend KERAS_BACKEND
names (tf-keras reproducers import tf_keras) and exits 1 while the finding holds, 0 once it is
fixed, 2 when it cannot run there. The findings file is FINDINGS_FILE in the package (one
constant); the commands take --findings PATH for another one.
"""

from __future__ import annotations

import dataclasses
import importlib.resources
import os
import pathlib
import subprocess
import sys
import time
import tomllib

from layercontract.spec.harness import inputs

# The findings file in the package, its reproducers beside it in reproducers/<id>.py.
FINDINGS_FILE = pathlib.Path(str(importlib.resources.files("layercontract.backends"))) / "findings.toml"
REPRODUCERS_DIR = "reproducers"
MAX_FILE_BYTES = 4 * inputs.MiB  # every finding of every backend: a few dozen KiB
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


@dataclasses.dataclass(frozen=True)
class Finding:
    id: str
    data: dict
    file: pathlib.Path

    def __getitem__(self, key):
        return self.data.get(key)

    def get(self, key, default=None):
        return self.data.get(key, default)

    @property
    def upstream(self) -> list[str]:
        value = self.data.get("upstream") or []
        return [value] if isinstance(value, str) else list(value)

    @property
    def when(self) -> list[str]:
        value = self.data.get("when") or []
        return [value] if isinstance(value, str) else list(value)

    @property
    def backends(self) -> list[str]:
        return list(self.data.get("backends") or [])

    @property
    def reproducer(self) -> pathlib.Path:
        """<findings dir>/reproducers/<id>.py, else the `reproducer` field's path relative to the
        findings file's directory or its parent (the repository-relative spelling)."""
        default = self.file.parent / REPRODUCERS_DIR / f"{self.id}.py"
        if default.is_file() or not self.data.get("reproducer"):
            return default
        given = pathlib.Path(self.data["reproducer"])
        for base in (self.file.parent, self.file.parent.parent):
            if (base / given).is_file():
                return base / given
        return default


def load(path=None) -> dict[str, Finding]:
    """id -> Finding, in file order."""
    path = pathlib.Path(path or FINDINGS_FILE)
    try:
        data = tomllib.loads(inputs.read_text(path, MAX_FILE_BYTES, "findings (TOML)"))
    except FileNotFoundError:
        raise FindingsError(f"no findings file {path} (give one with --findings PATH)") from None
    except inputs.InputError as e:  # a FIFO, a device (/dev/zero), a directory, too large
        raise FindingsError(str(e)) from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise FindingsError(f"{path}: cannot read the findings file: {e}") from None
    found = {}
    for i, entry in enumerate(data.get("finding", [])):
        if not isinstance(entry, dict) or not isinstance(entry.get("id"), str) or not entry["id"]:
            raise FindingsError(f"{path}: finding #{i + 1} has no id")
        if entry["id"] in found:
            raise FindingsError(f"{path}: finding {entry['id']!r} appears twice")
        found[entry["id"]] = Finding(entry["id"], entry, path)
    return found


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
