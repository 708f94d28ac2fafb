"""What the test_bad_input_*.py modules share. Bad input never costs a record: every broken
adapter, expectations file, test selection or argument is one error line naming it, the documented
exit status, and nothing written or lost; crashes, hangs and Ctrl-C give records, never exit 0 and
nothing; concurrent writers never lose each other's files; every rerun command reproduces its
check's outcome from any directory.

Most cases are one short subprocess of the CLI (`lc`), started from `place` (conftest.py), a
directory outside the checkout holding the misbehaving adapters and expectations files, with an
earlier record in its --out that must survive untouched. The cases are split into modules by
subject so that pytest-xdist runs them on several workers; each worker makes `place` once."""

from __future__ import annotations

import hashlib
import json
import os
import pathlib
import shutil
import subprocess
import sys

import pytest

from tests import forked
from tests._env import clean_env

ROOT = pathlib.Path(__file__).resolve().parents[3]
ADAPTERS = ROOT / "tests" / "fixtures" / "adapters.py"  # copied where a user keeps an adapter module
SMALL = "suites/test_call.py"  # a few quick tests: enough for a run that must start
ONE = "suites/test_call.py::test_numpy_input_reaches_call_as_a_backend_tensor"
PARAMETRIZED = "suites/test_input.py::test_error_shows_the_full_received_shape"
FAULT = "error_message_without_full_shape"  # fails every parameter of PARAMETRIZED


def deviation(test, clause="INPUT.ERROR_FULL_SHAPE", **extra):
    fields = {"test": test, "clause": clause, "kind": "limitation", "observed": "o", "reason": "r", **extra}
    return "[[deviation]]\n" + "".join(
        f"{k} = {v if not isinstance(v, str) else json.dumps(v)}\n" for k, v in fields.items()
    )


def make_place(tmp_path_factory):
    """`place`: a directory outside the checkout with adapters and expectations files, and an --out with
    an earlier record (and its report) in it."""
    here = tmp_path_factory.mktemp("elsewhere")
    shutil.copy(ADAPTERS, here / "bad_adapters.py")  # an adapter module outside the checkout
    (here / "raises_at_import.py").write_text('raise ValueError("boom at import")\n', encoding="utf-8")
    (here / "syntax_error.py").write_text("def broken(:\n", encoding="utf-8")
    files = {
        "test5.toml": deviation("x").replace('test = "x"', "test = 5"),
        "nofile.toml": deviation("suites/test_nope.py::test_x"),
        "nofunction.toml": deviation("suites/test_input.py::test_nope"),
        "duplicate.toml": deviation(f"{PARAMETRIZED}[max_ndim]") * 2,
        "overlap.toml": deviation(PARAMETRIZED) + deviation(f"{PARAMETRIZED}[max_ndim]"),
        "noparam.toml": deviation(f"{PARAMETRIZED}[no_such_kind]"),
        "badtoml.toml": "deviation = [\n",
        "backtracking.toml": deviation(PARAMETRIZED, match="^(a|a)+$"),
        "match-not-a-string.toml": deviation(PARAMETRIZED).replace('reason = "r"', 'reason = "r"\nmatch = 5'),
        "when-unrecorded.toml": deviation(PARAMETRIZED, when="tensorflow < 3"),
        "when-5000-digits.toml": deviation(PARAMETRIZED, when="numpy < " + "9" * 5000),
        "when-both-hold.toml": deviation(PARAMETRIZED, when="numpy >= 1")
        + deviation(f"{PARAMETRIZED}[max_ndim]", when="numpy < 3"),
        "when-disjoint.toml": deviation(f"{PARAMETRIZED}[max_ndim]", when="numpy < 2.0")
        + deviation(f"{PARAMETRIZED}[max_ndim]", when="numpy >= 2.0"),
    }
    for name, text in files.items():
        (here / name).write_text(text, encoding="utf-8")
    (here / "a-file").write_text("not a directory\n", encoding="utf-8")
    out = here / "out"
    result = lc("run", "--out", str(out), "--", ONE, cwd=here)
    assert result.returncode == 0, output(result)
    return here


def lc(*args, cwd, timeout=300, **env):
    """The CLI run to completion from CWD (its adapters importable, as from a user's directory)."""
    return forked.cli(*args, cwd=cwd, env=clean_env(PYTHONPATH=str(cwd), **env), timeout=timeout)


def lc_concurrent(*args, cwd):
    """The CLI started from CWD and not waited for, as `lc` runs it (several at once): its pid,
    communicate(timeout) -> (output with stderr merged, None) and returncode, as Popen's."""
    return forked.cli_started(*args, cwd=cwd, env=clean_env(PYTHONPATH=str(cwd)))


def lc_started(*args, cwd, quiet=False, **popen):
    """The CLI started as `lc` runs it, not waited for: its output merged into stdout as text, or
    discarded (quiet)."""
    streams = (
        {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
        if quiet
        else {"stdout": subprocess.PIPE, "stderr": subprocess.STDOUT, "text": True}
    )
    return subprocess.Popen(
        [sys.executable, "-m", "layercontract.spec.harness.cli", *map(str, args)],
        cwd=cwd,
        env=clean_env(PYTHONPATH=str(cwd)),
        **streams,
        **popen,
    )


def output(result):
    return result.stdout + result.stderr


def snapshot(directory: pathlib.Path) -> dict:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(directory.iterdir()) if p.is_file()}


def dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def child_pids(pid: int) -> list[int]:
    try:
        return [int(c) for c in pathlib.Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def is_alive(pid: int) -> bool:
    try:
        return pathlib.Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


def mount_small_tmpfs(where: pathlib.Path, size="4m") -> bool:
    where.mkdir()
    if os.geteuid() != 0:
        return False
    return (
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)], capture_output=True
        ).returncode
        == 0
    )


def fill(out: pathlib.Path, leave_kib: int) -> None:
    """Fill the file system of `out` up to `leave_kib` KiB."""
    with open(out / "filler", "wb", buffering=0) as f:
        with pytest.raises(OSError):
            while True:
                f.write(b"x" * 4096)
        f.truncate(max(0, f.tell() - leave_kib * 1024))


def fifo(tmp_path, name="fifo"):
    path = tmp_path / name
    os.mkfifo(path)
    return path
