"""Bad arguments, adapters, expectations files and test selections given to `run`,
`run-many` and `doctor`: one error line naming them, exit 2, nothing written."""

from __future__ import annotations

import pytest

from layercontract.reports import schema
from tests.harness.commands.bad_input import (
    FAULT,
    ONE,
    PARAMETRIZED,
    SMALL,
    lc,
    output,
    snapshot,
)

# ------------------------------------------------------------ bad input to run
BAD_RUN = [
    # (id, arguments after `run --out OUT`, text of the one error, exit status)
    ("name-42", ["--backend", "bad_adapters:Name42"], "name must be a non-empty str, got 42", 2),
    ("edition-keras4", ["--backend", "bad_adapters:Keras4"], "edition must be one of keras3, keras2, got 'keras4'", 2),
    ("sys-exit-in-init", ["--backend", "bad_adapters:ExitsInInit"], "failed to initialise: SystemExit: 3", 2),
    ("missing-attributes", ["--backend", "bad_adapters:NoAttributes"], "methods missing or not callable", 2),
    (
        "import-raises",
        ["--backend", "raises_at_import:A"],
        "importing adapter module 'raises_at_import' failed: ValueError: boom at import",
        2,
    ),
    ("syntax-error", ["--backend", "syntax_error:A"], "SyntaxError", 2),
    ("empty-module", ["--backend", ":X"], "':X' is not 'package.module:AdapterClass'", 2),
    ("unknown-backend", ["--backend", "no-such-backend"], "unknown backend 'no-such-backend'", 2),
    ("load-returns-none", ["--backend", "bad_adapters:LoadsNone", "--", SMALL], "load() returned None", 2),
    (
        "namespace-missing-names",
        ["--backend", "bad_adapters:PartialNamespace", "--", SMALL],
        "namespace: missing K.Model",
        2,
    ),
    ("unknown-pytest-flag", ["--", "--no-such-flag"], "unrecognized arguments: --no-such-flag", 2),
    ("unknown-fault", ["--", SMALL, "--fault", "nope"], "unknown fault 'nope'", 2),
    (
        "unknown-hypothesis-profile",
        ["--", SMALL, "--hypothesis-profile", "nope"],
        "unknown hypothesis profile 'nope'",
        2,
    ),
    (
        "expectations-missing",
        ["--", SMALL, "--expectations", "nope.toml"],
        "expectations file nope.toml does not exist",
        2,
    ),
    ("expectations-not-toml", ["--", SMALL, "--expectations", "badtoml.toml"], "not valid TOML", 2),
    ("expectations-test-5", ["--", SMALL, "--expectations", "test5.toml"], "test must be a string, got 5", 2),
    (
        "expectations-no-such-file",
        ["--", SMALL, "--expectations", "nofile.toml"],
        "no suite file suites/test_nope.py",
        2,
    ),
    (
        "expectations-no-such-test",
        ["--", SMALL, "--expectations", "nofunction.toml"],
        "suites/test_input.py has no test 'test_nope'",
        2,
    ),
    ("expectations-duplicate", ["--", SMALL, "--expectations", "duplicate.toml"], "duplicates deviation #1", 2),
    ("expectations-overlap", ["--", SMALL, "--expectations", "overlap.toml"], "overlaps deviation #1", 2),
    ("selection-no-such-file", ["--", "suites/test_nope.py"], "no such suite file", 2),
    ("selection-no-such-test", ["--", f"{SMALL}::test_nope"], "test_call.py has no test 'test_nope'", 2),
    ("selection-outside-suites", ["--", "/etc/hostname"], "is not in layercontract's suites", 2),
    ("selection-no-such-parameter", ["--", f"{PARAMETRIZED}[no_such_kind]"], "not found", 2),
    ("out-is-a-file", ["--out", "a-file"], "is not a writable directory", 2),
    ("negative-test-timeout", ["--test-timeout", "-1"], "finite number of seconds", 2),
    ("nan-backend-timeout", ["--backend-timeout", "nan"], "finite number of seconds", 2),
    ("test-timeout-1e308", ["--test-timeout", "1e308"], "at most 604800", 2),
    # forwarded values are checked as the command's own
    *[
        (f"forwarded-test-timeout-{v}", ["--", SMALL, f"--test-timeout={v}"], "--test-timeout after --", 2)
        for v in ("-1", "nan", "inf", "1e308")
    ],
    ("forwarded-test-timeout-missing", ["--", SMALL, "--test-timeout"], "expected a number of seconds", 2),
    ("forwarded-record-every-nan", ["--", SMALL, "--record-every", "nan"], "--record-every after --", 2),
    # pytest arguments the command owns: its verdict is read from its own record only
    (
        "forwarded-record",
        ["--", SMALL, "--fault", FAULT, "--record=/tmp/elsewhere.json"],
        "does not forward --record",
        2,
    ),
    ("forwarded-backend", ["--", SMALL, "--backend=keras-numpy"], "does not forward --backend", 2),
    ("forwarded-backend-apart", ["--", SMALL, "--backend", "keras-numpy"], "does not forward --backend", 2),
    ("forwarded-journal", ["--", SMALL, "--journal=j"], "does not forward --journal", 2),
    ("forwarded-collect-only", ["--", "--collect-only"], "does not forward --collect-only", 2),
    ("forwarded-co", ["--", SMALL, "--co"], "does not forward --co", 2),
    ("forwarded-ini", ["--", SMALL, "-c", "tox.ini"], "does not forward -c", 2),
    ("forwarded-rootdir", ["--", SMALL, "--rootdir=/"], "does not forward --rootdir", 2),
    ("junitxml-in-a-missing-dir", ["--", SMALL, "--junitxml", "a-file/x.xml"], "is not a writable directory", 2),
    ("junitxml-read-only", ["--", SMALL, "--junitxml=/proc/x.xml"], "is not a writable directory", 2),
    ("adapter-name-300-characters", ["--backend", "bad_adapters:LongName"], "name must be at most 100 characters", 2),
]


@pytest.mark.parametrize("args, text, status", [c[1:] for c in BAD_RUN], ids=[c[0] for c in BAD_RUN])
def test_bad_input_to_run_is_one_error_and_nothing_written(place, args, text, status):
    out = place / "out"
    before = snapshot(out)
    result = lc("run", "--out", out, *args, cwd=place)
    assert result.returncode == status, output(result)
    assert text in output(result)
    assert "Traceback" not in output(result) and "INTERNALERROR" not in output(result)
    assert snapshot(out) == before  # the earlier record and report untouched, no temporary files


def test_doctor_and_run_agree_on_an_entry_naming_a_parameter_that_does_not_exist(place):
    """Parameters exist only in a collection of the whole suite: run checks them there, doctor too."""
    doctor = lc("doctor", "--expectations", "noparam.toml", cwd=place)
    assert doctor.returncode == 1, output(doctor)
    assert f"entry for '{PARAMETRIZED}[no_such_kind]' matches no test (no such parameter" in doctor.stdout
    out = place / "out"
    before = snapshot(out)
    run = lc("run", "--out", out, "--", "--expectations", "noparam.toml", cwd=place)
    assert run.returncode == 2, output(run)
    assert f"entry for '{PARAMETRIZED}[no_such_kind]' matches no test (no such parameter" in output(run)
    assert snapshot(out) == before


@pytest.mark.parametrize(
    "args, text",
    [
        (["--test-timeout", "-5"], "finite number of seconds"),
        (["--grace", "nan"], "finite number of seconds"),
        (["--backend-timeout", "inf"], "finite number of seconds"),
        (["--jobs", "0"], "give at least 1"),
        (["--max-rss", "0"], "give at least 1 MiB"),
        (["-s", "suites/test_nope.py"], "no such suite file"),
        (["-s", "/etc/hostname"], "is not in layercontract's suites"),
        (["--test-timeout", "1e308"], "at most 604800"),
        (
            ["--pytest-arg=--backend=keras-numpy"],
            "'--backend=keras-numpy' in --pytest-arg: layercontract run-many does not forward --backend",
        ),
        (["--pytest-arg=--record=x.json"], "does not forward --record"),
        (["--pytest-arg=--collect-only"], "does not forward --collect-only"),
        (["--pytest-arg=--test-timeout=nan"], "--test-timeout in --pytest-arg"),
    ],
)
def test_bad_run_many_arguments_exit_2(place, args, text):
    result = lc("run-many", "reference", "--out", place / "many-bad", *args, cwd=place)
    assert result.returncode == 2, output(result)
    assert text in output(result) and "Traceback" not in output(result)


def test_one_junitxml_for_several_backends_is_one_error(place, tmp_path):
    """Each backend process wrote the one file: the JUnit file held one backend's results."""
    args = ["reference", "bad_adapters:RenamedReference", "--out", tmp_path / "out", "-s", ONE]
    result = lc("run-many", *args, f"--pytest-arg=--junitxml={tmp_path / 'j.xml'}", cwd=place)
    assert result.returncode == 2, output(result)
    assert "every backend would write that one file" in result.stderr and len(result.stderr.splitlines()) == 1
    assert not (tmp_path / "j.xml").exists() and not (tmp_path / "out").exists()


def test_deselect_after_dashes_deselects(place, tmp_path):
    """It was made absolute and matched nothing: the test ran anyway."""
    for form in (["--deselect", ONE], [f"--deselect={ONE}"]):
        result = lc("run", "--out", tmp_path, "--", SMALL, *form, cwd=place)
        assert result.returncode == 0, output(result)
        ids = [t["nodeid"] for t in schema.load(tmp_path / "reference.json", schema.RUN_SCHEMA)["tests"]]
        assert ONE not in ids and len(ids) >= 5
