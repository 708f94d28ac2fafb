"""A full or unwritable --out or junitxml: one error, the previous record kept."""

from __future__ import annotations

import pathlib
import subprocess

import pytest

from tests.harness.commands.bad_input import (
    FAULT,
    ONE,
    SMALL,
    fill,
    lc,
    mount_small_tmpfs,
    output,
    snapshot,
)


def _in_out(command: str, out: pathlib.Path, selection: str, fault: str | None = None) -> list[str]:
    """`run` or `run-many` of the reference on `selection` into `out`, with `fault` if given."""
    if command == "run":
        return ["run", "--out", out, "--", selection, *(["--fault", fault] if fault else [])]
    return [
        "run-many",
        "reference",
        "--out",
        out,
        "-s",
        selection,
        *([f"--pytest-arg=--fault={fault}"] if fault else []),
    ]


@pytest.mark.parametrize("command", ["run", "run-many"])
@pytest.mark.parametrize("leave_kib", [0, 48], ids=lambda k: f"{k}KiB-free")
def test_a_full_out_is_one_error_and_keeps_the_previous_record(place, tmp_path, command, leave_kib):
    """Neither process prints a traceback: the child stops at its first write that fails, with
    one line (it printed one traceback per hook that wrote its journal), the parent says nothing
    was written."""
    out = tmp_path / "small"
    if not mount_small_tmpfs(out):
        pytest.skip("cannot mount a small tmpfs here")
    try:
        assert lc(*_in_out(command, out, ONE), cwd=place).returncode == 0
        before = snapshot(out)
        fill(out, leave_kib)
        before["filler"] = snapshot(out)["filler"]
        result = lc(*_in_out(command, out, SMALL, FAULT), cwd=place)
        assert result.returncode == 2, output(result)
        assert "No space left on device" in result.stderr, output(result)
        assert "Traceback" not in output(result) and "INTERNALERROR" not in output(result), output(result)
        assert len(result.stderr.splitlines()) <= 2, result.stderr  # the child's line, the parent's
        assert snapshot(out) == before
        assert not [p.name for p in out.iterdir() if p.name.startswith(".") and p.name != ".hypothesis"]
    finally:
        subprocess.run(["umount", str(out)], capture_output=True)


def test_a_junitxml_on_a_full_disk_is_one_error_and_keeps_the_previous_record(place, tmp_path):
    """pytest writes --junitxml last: it printed a traceback and the run replaced the record with an
    "interrupted" one whose 7 passes were an ERROR, exit 1."""
    out, small = tmp_path / "out", tmp_path / "small"
    if not mount_small_tmpfs(small, "1m"):
        pytest.skip("cannot mount a small tmpfs here")
    try:
        assert lc("run", "--out", out, "--", ONE, cwd=place).returncode == 0
        before = snapshot(out)
        fill(small, 0)
        result = lc("run", "--out", out, "--", SMALL, "--junitxml", small / "junit.xml", cwd=place)
        assert result.returncode == 2, output(result)
        assert f"cannot write --junitxml {small / 'junit.xml'}: No space left on device" in result.stderr
        assert "Traceback" not in output(result) and len(result.stderr.splitlines()) <= 2, output(result)
        assert snapshot(out) == before
    finally:
        subprocess.run(["umount", str(small)], capture_output=True)
