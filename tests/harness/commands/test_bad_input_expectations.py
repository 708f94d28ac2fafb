"""Expectations files and adapters: `run` and `doctor` refuse the same input with the same
words; doctor never calls a broken adapter ready and never hangs."""

from __future__ import annotations

import time

import pytest

from layercontract.reports import schema
from tests.harness.commands.bad_input import (
    FAULT,
    ONE,
    PARAMETRIZED,
    SMALL,
    deviation,
    fifo,
    lc,
    output,
    snapshot,
)

# ------------------------------- expectations and adapters: run and doctor refuse the same
AGREE = [
    # (id, doctor/run arguments, text both print)
    ("match-backtracking", ["--expectations", "backtracking.toml"], "backtracks without bound"),
    ("match-not-a-string", ["--expectations", "match-not-a-string.toml"], "match must be a string"),
    (
        "when-unrecorded-distribution",
        ["--expectations", "when-unrecorded.toml"],
        "names 'tensorflow', which the backend does not record",
    ),
    ("when-5000-digits", ["--expectations", "when-5000-digits.toml"], "characters long (at most 200)"),
    (
        "when-ranges-that-can-both-hold",
        ["--expectations", "when-both-hold.toml"],
        "overlaps deviation #1 ('suites/test_input.py::test_error_shows_the_full_received_shape') and their "
        "conditions can both hold (when 'numpy >= 1' and when 'numpy < 3')",
    ),
    (
        "versions-raise",
        ["--backend", "bad_adapters:VersionsRaise"],
        "versions() raised RuntimeError: no versions today",
    ),
    (
        "versions-not-strings",
        ["--backend", "bad_adapters:VersionsNotStrings"],
        "versions() must return a dict of str to str",
    ),
]


@pytest.mark.parametrize("args, text", [c[1:] for c in AGREE], ids=[c[0] for c in AGREE])
def test_doctor_refuses_what_run_refuses(place, args, text):
    backend = [] if "--backend" in args else ["--backend", "reference"]
    doctor = lc("doctor", *backend, *args, cwd=place, timeout=120)
    assert doctor.returncode == 1, output(doctor)
    assert text in doctor.stdout and "Traceback" not in output(doctor)
    out = place / "out"
    before = snapshot(out)
    opts = [a for a in args if a != "--expectations" and not a.endswith(".toml")]
    exp = [a for a in args if a.endswith(".toml")]
    run = lc(
        "run", "--out", out, *opts, "--", SMALL, *(["--expectations", *exp] if exp else []), cwd=place, timeout=120
    )
    assert run.returncode == 2, output(run)
    assert text in output(run) and "INTERNALERROR" not in output(run) and "Traceback" not in output(run)
    assert snapshot(out) == before


def test_entries_for_one_test_with_disjoint_when_ranges_load_and_the_one_that_holds_explains(place, tmp_path):
    doctor = lc("doctor", "--backend", "reference", "--expectations", "when-disjoint.toml", cwd=place, timeout=120)
    assert doctor.returncode == 0, output(doctor)
    selected = f"{PARAMETRIZED}[max_ndim]"
    exp = ["--expectations", "when-disjoint.toml"]
    run = lc("run", "--out", tmp_path, "--", selected, "--fault", FAULT, *exp, cwd=place)
    assert run.returncode == 0, output(run)  # numpy >= 2.0 here: the second entry explains the failure
    [test] = schema.load(tmp_path / "reference.json", schema.RUN_SCHEMA)["tests"]
    assert test["outcome"] == "expected-deviation" and test["deviation"]["entry"] == 2, test


def test_a_match_is_bounded_in_time_when_the_run_uses_it(place, tmp_path):
    """'^(.+)+Z' hung the plugin with Python's re; matched with a bound, the run goes on."""
    from layercontract.spec.harness import safe_regex

    started = time.monotonic()
    assert safe_regex.search(r"^(a|a)+$", "a" * 64 + "!") is None  # undecided, never a hang
    assert time.monotonic() - started < 5
    exp = place / "greedy.toml"
    exp.write_text(deviation(PARAMETRIZED, match="^(.+)+Z"), encoding="utf-8")
    started = time.monotonic()
    result = lc(
        "run",
        "--out",
        tmp_path,
        "--",
        PARAMETRIZED,
        "--fault",
        FAULT,
        "--expectations",
        exp.name,
        cwd=place,
        timeout=300,
    )
    assert result.returncode == 1, output(result)  # the failures do not match: unexpected, never hidden
    record = schema.load(tmp_path / "reference.json", schema.RUN_SCHEMA)
    assert {t["outcome"] for t in record["tests"]} >= {"fail"} and "timeout" not in {
        t["outcome"] for t in record["tests"]
    }
    assert time.monotonic() - started < 120


# ---------------------------------------------------------------- doctor
@pytest.mark.parametrize(
    "adapter, text",
    [
        ("bad_adapters:ExitsZeroInLoad", "the adapter's process exited with status 0 during the checks"),
        ("bad_adapters:BlocksSignalsInLoad", "the adapter did not finish the checks within 3 s"),
        ("bad_adapters:LoadsNone", "load() returned None"),
        ("bad_adapters:Name42", "name must be a non-empty str, got 42"),
    ],
)
def test_doctor_never_calls_a_broken_adapter_ready_and_never_hangs(place, adapter, text):
    start = time.monotonic()
    result = lc("doctor", "--backend", adapter, "--timeout", "3", cwd=place)
    assert result.returncode == 1, output(result)
    assert text in result.stdout
    assert time.monotonic() - start < 60


@pytest.mark.parametrize("make", [fifo, lambda tmp: tmp], ids=["fifo", "directory"])
def test_an_expectations_file_that_is_no_regular_file_is_one_error(place, tmp_path, make):
    bad = make(tmp_path)
    out = place / "out"
    before = snapshot(out)
    run = lc("run", "--out", out, "--", ONE, "--expectations", bad, cwd=place, timeout=120)
    assert run.returncode == 2, output(run)
    assert "not a regular file" in output(run) and "Traceback" not in output(run)
    assert snapshot(out) == before
    doctor = lc("doctor", "--expectations", bad, cwd=place, timeout=120)
    assert doctor.returncode == 1 and "not a regular file" in doctor.stdout, output(doctor)


@pytest.mark.parametrize(
    "name, text",
    [
        ("nope.toml", "expectations file nope.toml does not exist"),
        ("badtoml.toml", "not valid TOML"),
        ("nofunction.toml", "suites/test_input.py has no test 'test_nope'"),
    ],
)
def test_a_broken_expectations_file_is_refused_before_the_adapter_is_imported(place, tmp_path, name, text):
    """run checks the file named after -- itself, as the backend's process would but before any
    process imports the adapter: an adapter module that never finishes importing is never waited
    for."""
    (tmp_path / "slow_import.py").write_text("import time\n\ntime.sleep(3600)\n", encoding="utf-8")
    for toml in ("badtoml.toml", "nofunction.toml"):
        (tmp_path / toml).write_bytes((place / toml).read_bytes())
    out = place / "out"
    before = snapshot(out)
    started = time.monotonic()
    run = lc(
        "run", "--out", out, "--backend", "slow_import:Adapter", "--backend-timeout", "120",
        "--", SMALL, "--expectations", name, cwd=tmp_path, timeout=60,
    )  # fmt: skip
    assert run.returncode == 2 and text in run.stderr, output(run)
    assert time.monotonic() - started < 30 and "Traceback" not in output(run)
    assert snapshot(out) == before
