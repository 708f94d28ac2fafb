"""merge, diff and the commands writing an output file, given bad records and unusable paths:
one error before the work; outputs written whole or not at all."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys

import pytest

from tests._env import clean_env
from tests.harness.commands.bad_input import (
    FAULT,
    PARAMETRIZED,
    deviation,
    fifo,
    fill,
    lc,
    mount_small_tmpfs,
    output,
    snapshot,
)


# -------------------------------------------------------- merge and diff
@pytest.fixture(scope="module")
def a_record(place):
    return place / "out" / "reference.json"


def test_merge_writes_all_outputs_or_none(a_record, tmp_path):
    (tmp_path / "summary.md").mkdir()  # a directory in the way of one output
    result = lc("merge", a_record, "--out", tmp_path, cwd=tmp_path)
    assert result.returncode == 2, output(result)
    assert "summary.md" in result.stderr and "nothing written" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["summary.md"]  # no index.html, no temporary file


def test_merge_replaces_every_output_together(a_record, tmp_path):
    assert lc("merge", a_record, "--out", tmp_path, cwd=tmp_path).returncode == 0
    before = snapshot(tmp_path)
    os.chmod(tmp_path / "matrix.json", 0o444)
    (tmp_path / "index.html").unlink()
    (tmp_path / "index.html").mkdir()
    result = lc("merge", a_record, "--out", tmp_path, cwd=tmp_path)
    assert result.returncode == 2
    after = snapshot(tmp_path)
    assert after == {k: v for k, v in before.items() if k != "index.html"}


@pytest.mark.parametrize(
    "mutate, text",
    [
        (lambda r: r["tests"][0].update(duration_s=float("nan")), "not strict JSON: NaN"),
        (lambda r: r["tests"][0].update(duration_s=float("inf")), "not strict JSON: Infinity"),
        (lambda r: r.update(extra="NESTED"), "nested more than 32 levels"),
    ],
    ids=["nan", "infinity", "deep-nesting"],
)
@pytest.mark.parametrize("command", ["merge", "diff"])
def test_merge_and_diff_reject_non_strict_or_deep_json_with_exit_2(a_record, tmp_path, mutate, text, command):
    record = json.loads(a_record.read_text())
    mutate(record)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(record).replace('"NESTED"', "[" * 5000 + "]" * 5000), encoding="utf-8")
    args = ["merge", bad, "--out", tmp_path / "report"] if command == "merge" else ["diff", a_record, bad]
    result = lc(*args, cwd=tmp_path)
    assert result.returncode == 2, output(result)
    assert text in result.stderr and "Traceback" not in output(result)
    assert not (tmp_path / "report").exists()


def test_merge_to_an_unusable_out_is_one_error(a_record, tmp_path):
    (tmp_path / "file").write_text("x")
    result = lc("merge", a_record, "--out", tmp_path / "file", cwd=tmp_path)
    assert result.returncode == 2 and "give a writable directory to --out" in result.stderr
    assert "Traceback" not in output(result)


def _variant(a_record, tmp_path, name, **changes):
    record = json.loads(a_record.read_text())
    record.update(changes)
    path = tmp_path / name
    path.write_text(json.dumps(record), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "changes, text",
    [
        ({"complete": False, "status": "running"}, "did not complete"),
        ({"complete": False, "status": "interrupted"}, "did not complete"),
        ({"backend": "other-backend", "requested_backend": "other-backend"}, "have no backend in common"),
    ],
    ids=["running", "interrupted", "no-backend-in-common"],
)
@pytest.mark.parametrize("side", ["old", "new"])
def test_diff_refuses_to_judge_what_did_not_finish_or_shares_no_backend(a_record, tmp_path, changes, text, side):
    other = _variant(a_record, tmp_path, "other.json", **changes)
    pair = (other, a_record) if side == "old" else (a_record, other)
    result = lc("diff", *pair, cwd=tmp_path)
    assert result.returncode == 2, output(result)
    assert text in result.stderr and result.stdout == "" and "Traceback" not in output(result)
    allowed = lc("diff", *pair, "--allow-incomplete", "--allow-disjoint", cwd=tmp_path)
    assert allowed.returncode in (0, 1), output(allowed)
    assert "layercontract diff" in allowed.stdout


def test_diff_prints_on_a_latin_1_stdout(a_record, tmp_path):
    old = _variant(
        a_record, tmp_path, "old.json", versions={**json.loads(a_record.read_text())["versions"], "numpy": "0.0.1"}
    )
    result = subprocess.run(
        [sys.executable, "-m", "layercontract.spec.harness.cli", "diff", old, a_record],
        cwd=tmp_path,
        env=clean_env(PYTHONIOENCODING="latin-1"),
        capture_output=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert b"\\u2192" in result.stdout and b"Traceback" not in result.stderr  # "→" escaped, not a crash


def test_run_writes_its_report_under_an_ascii_locale(place, tmp_path):
    out = tmp_path / "r\u00e9sultats \u2192 out"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "layercontract.spec.harness.cli",
            "run",
            "--out",
            str(out),
            "--",
            PARAMETRIZED,
            "--fault",
            FAULT,
        ],
        cwd=place,
        env=clean_env(PYTHONPATH=str(place), LC_ALL="C", LANG="C", PYTHONUTF8="0", PYTHONIOENCODING="ascii"),
        capture_output=True,
        timeout=300,
    )
    text = (result.stdout + result.stderr).decode("ascii", "replace")
    assert result.returncode in (0, 1), text
    assert "Traceback" not in text
    assert (
        (out / "reference.json").is_file() and (out / "reference.html").is_file() and (out / "reference.md").is_file()
    )


@pytest.mark.parametrize("command", ["merge", "diff"])
def test_a_lone_surrogate_in_a_record_is_one_error(a_record, tmp_path, command):
    bad = tmp_path / "bad.json"
    bad.write_text(
        a_record.read_text()
        .replace('"tests": [', '"tests": [', 1)
        .replace('"backend": "reference"', '"backend": "reference\\ud800"', 1),
        encoding="utf-8",
    )
    args = ["merge", bad, "--out", tmp_path / "report"] if command == "merge" else ["diff", a_record, bad]
    result = lc(*args, cwd=tmp_path)
    assert result.returncode == 2, output(result)
    assert "lone surrogate" in result.stderr and "Traceback" not in output(result)
    assert not (tmp_path / "report").exists()


UNBOUNDED = [
    ("fifo", fifo, "a FIFO, not a regular file"),
    ("dev-zero", lambda tmp: pathlib.Path("/dev/zero"), "a device, not a regular file"),
    ("directory", lambda tmp: tmp, "a directory, not a regular file"),
    (
        "70-MiB",
        lambda tmp: (tmp / "big.json").write_bytes(b" " * (70 * 1024 * 1024)) and tmp / "big.json",
        "larger than any layercontract JSON",
    ),
]


@pytest.mark.parametrize("make, text", [c[1:] for c in UNBOUNDED], ids=[c[0] for c in UNBOUNDED])
@pytest.mark.parametrize("command", ["merge", "diff", "merge --kill-matrix"])
def test_merge_and_diff_read_only_regular_files_of_bounded_size(a_record, tmp_path, make, text, command):
    bad = make(tmp_path)
    args = {
        "merge": ["merge", bad, "--out", tmp_path / "report"],
        "diff": ["diff", a_record, bad],
        "merge --kill-matrix": ["merge", a_record, "--out", tmp_path / "report", "--kill-matrix", bad],
    }[command]
    result = lc(*args, cwd=tmp_path, timeout=60)
    assert result.returncode == 2, output(result)
    assert text in result.stderr and "Traceback" not in output(result)
    assert len(result.stderr) < 2000 and not (tmp_path / "report").exists()


def test_a_record_with_a_10_mb_backend_name_is_one_error(a_record, tmp_path):
    record = json.loads(a_record.read_text())
    record["backend"] = record["requested_backend"] = "b" * 10_000_000
    bad = tmp_path / "huge.json"
    bad.write_text(json.dumps(record), encoding="utf-8")
    for args in (["merge", bad, "--out", tmp_path / "report"], ["diff", a_record, bad]):
        result = lc(*args, cwd=tmp_path, timeout=120)
        assert result.returncode == 2, output(result)[:2000]
        assert "a backend name has at most 200" in result.stderr and len(result.stderr) < 1000
    assert not (tmp_path / "report").exists()


def test_a_long_field_is_cut_with_a_note_in_every_output(a_record, tmp_path):
    record = json.loads(a_record.read_text())
    record["tests"][0].update(outcome="fail", message="m" * 3_000_000)
    long = tmp_path / "long.json"
    long.write_text(json.dumps(record), encoding="utf-8")
    result = lc("merge", long, "--out", tmp_path / "report", cwd=tmp_path, timeout=120)
    assert result.returncode == 0, output(result)
    for name in ("index.html", "matrix.json", "summary.md"):
        assert (tmp_path / "report" / name).stat().st_size < 3_000_000, name
    assert "cut by layercontract: 2980000 more characters" in (tmp_path / "report" / "matrix.json").read_text()


# ------------------------- output files: checked before the work, written whole or not at all
FINDING = "k3-jax-stateless-call-drops-training"
OUTPUT_FILE = [
    # (id, a command writing FILE; RECORD and LEGACY are a run record and a legacy expectations file)
    ("upstream-report", ["upstream-report", FINDING, "--out", "FILE"]),
    ("bench-json", ["bench", "--from-records", "RECORD", "--json", "FILE"]),
    ("bench-save-baseline", ["bench", "--from-records", "RECORD", "--save-baseline", "FILE"]),
    ("expectations-draft", ["expectations", "draft", "RECORD", "--out", "FILE"]),
    ("expectations-convert", ["expectations", "convert", "LEGACY", "--out", "FILE"]),
]
CHECKED_FIRST = [  # commands that run for minutes before they write: their FILE is checked first
    ("kill-matrix", ["kill-matrix", "--out", "FILE"]),
    ("reproducers", ["reproducers", "--only", FINDING, "--out", "FILE"]),
    (
        "bisect-json",
        ["bisect", "BUILD.ONCE", "--backend", "keras-numpy", "--good", "3.15.1", "--bad", "nightly", "--json", "FILE"],
    ),
]


def _output_command(args, file, a_record, tmp_path) -> list:
    legacy = tmp_path / "legacy.toml"
    legacy.write_text(deviation(PARAMETRIZED), encoding="utf-8")
    return [{"FILE": file, "RECORD": a_record, "LEGACY": legacy}.get(a, a) for a in args]


@pytest.mark.parametrize("where", ["a-directory", "an-unwritable-place"])
@pytest.mark.parametrize(
    "args", [c[1] for c in OUTPUT_FILE + CHECKED_FIRST], ids=[c[0] for c in OUTPUT_FILE + CHECKED_FIRST]
)
def test_an_output_file_that_cannot_be_written_is_one_error_before_the_work(a_record, tmp_path, args, where):
    file = tmp_path if where == "a-directory" else pathlib.Path("/proc/layercontract-x")
    result = lc(*_output_command(args, file, a_record, tmp_path), cwd=tmp_path, timeout=120)
    assert result.returncode == 2, output(result)
    assert "is a directory" in result.stderr or "is not a writable directory" in result.stderr, output(result)
    assert len(result.stderr.splitlines()) == 1 and "Traceback" not in output(result), output(result)


@pytest.mark.parametrize("args", [c[1] for c in OUTPUT_FILE], ids=[c[0] for c in OUTPUT_FILE])
def test_an_output_file_on_a_full_disk_is_one_error_and_no_part_of_a_file(a_record, tmp_path, args):
    out = tmp_path / "small"
    if not mount_small_tmpfs(out, "1m"):
        pytest.skip("cannot mount a small tmpfs here")
    try:
        fill(out, 0)
        before = snapshot(out)
        result = lc(*_output_command(args, out / "file", a_record, tmp_path), cwd=tmp_path)
        assert result.returncode == 2, output(result)
        assert "No space left on device" in result.stderr and "Traceback" not in output(result), output(result)
        assert snapshot(out) == before and not [p.name for p in out.iterdir() if p.name != "filler"]
    finally:
        subprocess.run(["umount", str(out)], capture_output=True)


def test_converting_in_place_on_a_full_disk_keeps_the_file(tmp_path):
    out = tmp_path / "small"
    if not mount_small_tmpfs(out, "1m"):
        pytest.skip("cannot mount a small tmpfs here")
    try:
        (out / "legacy.toml").write_text(deviation(PARAMETRIZED), encoding="utf-8")
        fill(out, 0)
        before = snapshot(out)
        result = lc("expectations", "convert", out / "legacy.toml", cwd=tmp_path)
        assert result.returncode == 2, output(result)
        assert "No space left on device" in result.stderr and "Traceback" not in output(result), output(result)
        assert snapshot(out) == before and sorted(p.name for p in out.iterdir()) == ["filler", "legacy.toml"]
    finally:
        subprocess.run(["umount", str(out)], capture_output=True)


@pytest.mark.parametrize("make", ["fifo", "device"])
@pytest.mark.parametrize(
    "command",
    [
        ["upstream-report", FINDING],
        ["repro", FINDING],
        ["bisect", "--reproducer", FINDING, "--good", "3.10.0", "--bad", "3.15.1"],
        ["reproducers"],
    ],
    ids=["upstream-report", "repro", "bisect", "reproducers"],
)
def test_a_findings_file_that_is_no_regular_file_is_one_error(tmp_path, command, make):
    """--findings /dev/zero was read whole: upstream-report was killed for memory."""
    findings = tmp_path / "findings.toml"
    if make == "fifo":
        os.mkfifo(findings)
    else:
        findings = pathlib.Path("/dev/zero")
    result = lc(*command, "--findings", findings, cwd=tmp_path, timeout=60)
    assert result.returncode == 2, output(result)
    assert "not a regular file" in result.stderr and len(result.stderr.splitlines()) == 1, output(result)
