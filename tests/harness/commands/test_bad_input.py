"""Bad input never costs a record: every broken adapter, expectations file, test
selection or argument is one error line naming it, the documented exit status, and nothing
written or lost; crashes, hangs and Ctrl-C give records, never exit 0 and nothing; concurrent
writers never lose each other's files; every rerun command reproduces its check's outcome from
any directory.

Most cases are one short subprocess of the CLI, started from a directory outside the checkout
(the adapters below live there), with an earlier record in --out that must survive untouched."""

from __future__ import annotations

import hashlib
import json
import os
import pathlib
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time

import pytest

from layercontract.reports import schema
from layercontract.spec.harness import selection
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


@pytest.fixture(scope="module")
def place(tmp_path_factory):
    """A directory outside the checkout with adapters and expectations files, and an --out with
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
    return subprocess.run(
        [sys.executable, "-m", "layercontract.spec.harness.cli", *map(str, args)],
        cwd=cwd,
        env=clean_env(PYTHONPATH=str(cwd), **env),
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def output(result):
    return result.stdout + result.stderr


def snapshot(directory: pathlib.Path) -> dict:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(directory.iterdir()) if p.is_file()}


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


# ------------------------------------------- the Keras overlay cache (run, run-many, doctor)
def no_index(tmp_path, versions=()) -> dict:
    """pip's environment without the configured index: only a find-links directory with empty
    "wheels" of these keras versions (pip lists them; installing one fails)."""
    links = tmp_path / "links"
    links.mkdir(exist_ok=True)
    for version in versions:
        (links / f"keras-{version}-py3-none-any.whl").write_bytes(b"")
    return {"PIP_CONFIG_FILE": os.devnull, "PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(links)}


def garbage_overlay(cache: pathlib.Path, version="3.12.0") -> None:
    (cache / version / "site-packages" / "keras").mkdir(parents=True)
    (cache / version / "site-packages" / "keras" / "__init__.py").write_text("", encoding="utf-8")
    (cache / version / "layercontract-overlay.json").write_text('{"version": "garbage"}', encoding="utf-8")


def _dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


OVERLAY_CASES = [
    # (id, how to spoil the cache directory C, backend, text of the one error)
    ("cache-root-is-a-file", lambda c: c.write_text("x"), "keras-numpy@3.12.0", "is not a directory"),
    (
        "version-dir-is-a-file",
        lambda c: (c.mkdir(), (c / "3.12.0").write_text("x")),
        "keras-numpy@3.12.0",
        "is a file where the Keras cache keeps Keras 3.12.0: remove it",
    ),
    # an overlay whose marker is not its own counts as incomplete: installed again (here: cannot be)
    ("marker-version-garbage", garbage_overlay, "keras-numpy@3.12.0", "could not install keras==3.12.0"),
    ("version-of-5000-digits", lambda c: None, "keras-numpy@" + "9" * 5000 + ".0.0", "is too long: at most 200"),
    (
        "version-of-150-digits",
        lambda c: None,
        "keras-numpy@" + "9" * 150 + ".0.0",
        "characters long: not a Keras version",
    ),
    (
        "not-on-the-index",
        lambda c: None,
        "keras-numpy@3.15.0",  # among 47 listed versions
        "keras 3.15.0 is not on the package index; the nearest there: 3.14.1, 3.14.2, 3.15.1, 3.15.2",
    ),
]


@pytest.mark.parametrize("command", ["run", "run-many"])
@pytest.mark.parametrize("spoil, backend, text", [c[1:] for c in OVERLAY_CASES], ids=[c[0] for c in OVERLAY_CASES])
def test_a_bad_keras_cache_or_version_is_one_error_and_exit_2(place, tmp_path, command, spoil, backend, text):
    cache = tmp_path / "cache"
    spoil(cache)
    out = place / "out"
    before = snapshot(out)
    args = ["--backend", backend] if command == "run" else [backend]
    pip_env = no_index(tmp_path, [f"3.{n}.{m}" for n in range(16) for m in range(3) if (n, m) != (15, 0)])
    result = (
        lc(command, "--out", out, "--keras-cache", cache, *args, "--", ONE, cwd=place, **pip_env)
        if command == "run"
        else lc(command, *args, "--out", out, "--keras-cache", cache, "-s", ONE, cwd=place, **pip_env)
    )
    assert result.returncode == 2, output(result)
    assert text in result.stderr, output(result)
    errors = [ln for ln in result.stderr.splitlines() if "nothing written" not in ln]
    assert len(errors) == 1 and len(errors[0]) < 400, output(result)  # one short line, never pip's list
    assert "Traceback" not in output(result)
    assert snapshot(out) == before


def test_doctor_calls_a_bad_version_bad_input_never_the_adapters_fault(place):
    result = lc("doctor", "--backend", "keras-numpy@" + "9" * 5000 + ".0.0", cwd=place)
    assert result.returncode == 1, output(result)
    assert "is too long: at most 200 characters" in result.stdout
    assert "adapter's process" not in result.stdout and "Traceback" not in output(result)
    assert max(map(len, result.stdout.splitlines())) < 300


def test_a_read_only_keras_cache_is_one_error(place, tmp_path):
    cache = pathlib.Path("/sys/kernel")  # a directory nobody may write, root included
    try:
        (cache / "layercontract-probe").mkdir()
    except OSError:
        pass
    else:
        (cache / "layercontract-probe").rmdir()
        pytest.skip("no read-only directory here")
    for env in ({"LAYERCONTRACT_KERAS_CACHE": str(cache)}, {"HOME": str(cache), "XDG_CACHE_HOME": ""}):
        result = lc("run", "--out", tmp_path / "out", "--backend", "keras-numpy@3.98.0", "--", ONE, cwd=place, **env)
        assert result.returncode == 2, output(result)
        assert "Keras cache" in result.stderr and "Traceback" not in output(result)


def test_an_install_cleans_stale_temporaries_of_dead_processes_only(place, tmp_path):
    cache = tmp_path / "cache"
    garbage_overlay(cache)
    dead = cache / f".tmp-3.12.0-{_dead_pid()}"
    alive = cache / f".tmp-3.9.0-{os.getpid()}"
    for path in (dead, alive):
        (path / "site-packages").mkdir(parents=True)
    result = lc(
        "run",
        "--out",
        tmp_path / "out",
        "--keras-cache",
        cache,
        "--backend",
        "keras-numpy@3.12.0",
        "--",
        ONE,
        cwd=place,
        **no_index(tmp_path),
    )
    assert result.returncode == 2, output(result)
    assert not dead.exists() and alive.is_dir()
    assert not [p for p in cache.iterdir() if p.name.startswith(".tmp-3.12.0-")]


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGKILL], ids=["kill", "kill-9"])
def test_killing_run_during_an_install_kills_pip_too(place, tmp_path, how):
    import socket

    hang = socket.socket()  # an index that accepts connections and never answers
    hang.bind(("127.0.0.1", 0))
    hang.listen(16)
    env = clean_env(
        PYTHONPATH=str(place),
        PIP_CONFIG_FILE=os.devnull,
        PIP_DEFAULT_TIMEOUT="600",
        PIP_INDEX_URL=f"http://127.0.0.1:{hang.getsockname()[1]}/simple",
        PIP_FIND_LINKS="",
        PIP_RETRIES="0",
    )
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "layercontract.spec.harness.cli",
            "run",
            "--out",
            str(tmp_path / "out"),
            "--keras-cache",
            str(tmp_path / "cache"),
            "--backend",
            "keras-numpy@3.12.0",
            "--",
            ONE,
        ],
        cwd=place,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while not _children(proc.pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        pip = _children(proc.pid)
        assert pip
        time.sleep(1.0)
        os.kill(proc.pid, how)
        proc.wait(timeout=30)
        deadline = time.monotonic() + 15
        while any(map(_alive, pip)) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not any(map(_alive, pip))
    finally:
        hang.close()
        if proc.poll() is None:
            proc.kill()
    if how == signal.SIGTERM:
        assert proc.returncode == 128 + signal.SIGTERM
        assert not [p for p in (tmp_path / "cache").iterdir() if p.name.startswith(".tmp-")]


def test_deselect_after_dashes_deselects(place, tmp_path):
    """It was made absolute and matched nothing: the test ran anyway."""
    for form in (["--deselect", ONE], [f"--deselect={ONE}"]):
        result = lc("run", "--out", tmp_path, "--", SMALL, *form, cwd=place)
        assert result.returncode == 0, output(result)
        ids = [t["nodeid"] for t in schema.load(tmp_path / "reference.json", schema.RUN_SCHEMA)["tests"]]
        assert ONE not in ids and len(ids) >= 5


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


# -------------------------------------------------- run isolates the backend
def test_run_records_a_backend_that_exits_in_load_as_crash(place, tmp_path):
    result = lc("run", "--out", tmp_path, "--backend", "bad_adapters:ExitsZeroInLoad", "--", SMALL, cwd=place)
    assert result.returncode == 1, output(result)
    record = schema.load(tmp_path / "exits-zero-in-load.json", schema.RUN_SCHEMA)  # the adapter's name
    assert {t["outcome"] for t in record["tests"]} == {"crash"} and len(record["tests"]) >= 6
    assert record["status"] == "interrupted"
    assert not list(tmp_path.rglob("*.journal*")) and not list(tmp_path.glob(".run-*"))


def test_run_kills_a_backend_past_its_timeout(place, tmp_path):
    result = lc(
        "run",
        "--out",
        tmp_path,
        "--backend",
        "bad_adapters:HangInLoad",
        "--backend-timeout",
        "4",
        "--",
        ONE,
        cwd=place,
    )
    assert result.returncode == 1, output(result)
    record = schema.load(tmp_path / "hang-in-load.json", schema.RUN_SCHEMA)
    assert [t["outcome"] for t in record["tests"]] == ["timeout"]
    assert "per-backend timeout of 4 s" in record["tests"][0]["message"]


def test_one_ctrl_c_stops_run_at_once_and_keeps_the_earlier_record(place):
    out = place / "out"
    before = snapshot(out)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "layercontract.spec.harness.cli",
            "run",
            "--out",
            str(out),
            "--backend",
            "bad_adapters:BlocksSignalsInLoad",
            "--",
            ONE,
        ],
        cwd=place,
        env=clean_env(PYTHONPATH=str(place)),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    journal = None
    deadline = time.monotonic() + 120
    while journal is None and time.monotonic() < deadline:  # until its child is loading the backend
        journal = next(iter(out.glob(".run-*/*.journal")), None)  # in the run's private directory
        time.sleep(0.2)
    assert journal is not None, "the run's child never started"
    time.sleep(1.0)
    stopped = time.monotonic()
    os.killpg(proc.pid, signal.SIGINT)  # what a terminal's Ctrl-C does to the foreground group
    text, _ = proc.communicate(timeout=60)
    assert time.monotonic() - stopped < 15, text
    assert proc.returncode == 130, text
    assert "interrupted before the tests were selected: nothing written" in text
    assert snapshot(out) == before


def test_an_interrupt_a_test_swallows_is_never_a_failure(tmp_path):
    """hypothesis can catch the KeyboardInterrupt and report a failure: the plugin's flag wins."""
    test = tmp_path / "test_swallow.py"
    test.write_text(
        "import os, signal, time\n\ndef test_swallows():\n    try:\n"
        "        os.kill(os.getpid(), signal.SIGINT)\n        time.sleep(5)\n"
        "    except KeyboardInterrupt:\n        raise AssertionError('swallowed')\n",
        encoding="utf-8",
    )
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            str(test),
            "--backend",
            "reference",
            "-q",
            "-p",
            "no:cacheprovider",
            "-c",
            os.devnull,
        ],
        cwd=tmp_path,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2, output(result)  # pytest's "interrupted"
    assert "KeyboardInterrupt" in output(result) and "1 failed" not in output(result)


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in pathlib.Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _alive(pid: int) -> bool:
    try:
        return pathlib.Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGKILL], ids=["kill", "kill-9"])
def test_killing_run_many_kills_its_children(place, tmp_path, how):
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "layercontract.spec.harness.cli",
            "run-many",
            "bad_adapters:HangInLoad",
            "--out",
            str(tmp_path),
            "-s",
            ONE,
        ],
        cwd=place,
        env=clean_env(PYTHONPATH=str(place)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while not _children(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    children = _children(proc.pid)
    assert children
    os.kill(proc.pid, how)
    proc.wait(timeout=30)
    deadline = time.monotonic() + 15
    while any(map(_alive, children)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(map(_alive, children))


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_sigterm_and_sighup_stop_run_with_an_interrupted_record_and_its_report(place, tmp_path, how):
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "layercontract.spec.harness.cli",
            "run",
            "--out",
            str(out),
            "--backend",
            "bad_adapters:HangsInToNumpy",
            "--",
            SMALL,
        ],
        cwd=place,
        env=clean_env(PYTHONPATH=str(place)),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # until a test is running (in the run's private directory)
        journals = list(out.glob(".run-*/*.journal"))
        if journals and '"start"' in journals[0].read_text():
            break
        time.sleep(0.2)
    time.sleep(0.5)
    children = _children(proc.pid)
    os.kill(proc.pid, how)
    text, _ = proc.communicate(timeout=60)
    assert proc.returncode == 128 + how, text
    record = schema.load(out / "hangs-in-to-numpy.json", schema.RUN_SCHEMA)
    assert record["status"] == "interrupted" and not record["complete"]
    assert "not-run" in {t["outcome"] for t in record["tests"]}
    assert (out / "hangs-in-to-numpy.html").is_file()
    assert not [p.name for p in out.iterdir() if p.name.startswith(".run-") or ".journal" in p.name]
    time.sleep(0.5)
    assert not any(map(_alive, children))


def test_run_removes_what_killed_runs_left_and_only_theirs(place, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    dead, alive = _dead_pid(), os.getpid()
    left = [
        out / f".run-{dead}-0123456789ab",
        out / f"reference.{dead}.journal",
        out / f"reference.{dead}.journal.stack",
    ]
    kept = [out / f".run-{alive}-0123456789ab", out / f"reference.{alive}.journal"]
    for path in left + kept:
        path.mkdir() if path.name.startswith(".run-") else path.write_text("{}\n")
    result = lc("run", "--out", out, "--", ONE, cwd=place)
    assert result.returncode == 0, output(result)
    assert not any(p.exists() for p in left) and all(p.exists() for p in kept)


def test_sigkill_of_run_leaves_the_previous_record_and_the_next_run_cleans_up(place, tmp_path):
    out = tmp_path / "out"
    assert lc("run", "--out", out, "--", ONE, cwd=place).returncode == 0
    before = snapshot(out)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "layercontract.spec.harness.cli",
            "run",
            "--out",
            str(out),
            "--",
            SMALL,
            "--fault",
            FAULT,
        ],
        cwd=place,
        env=clean_env(PYTHONPATH=str(place)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while not list(out.glob(".run-*/*.journal")) and time.monotonic() < deadline:
        time.sleep(0.1)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert snapshot(out) == before  # the previous record and report: never a "running" one
    assert lc("run", "--out", out, "--", ONE, cwd=place).returncode == 0
    assert not [p.name for p in out.iterdir() if p.name.startswith(".run-")]


def _mount_small_tmpfs(where: pathlib.Path, size="4m") -> bool:
    where.mkdir()
    if os.geteuid() != 0:
        return False
    return (
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)], capture_output=True
        ).returncode
        == 0
    )


def _fill(out: pathlib.Path, leave_kib: int) -> None:
    """Fill the file system of `out` up to `leave_kib` KiB."""
    with open(out / "filler", "wb", buffering=0) as f:
        with pytest.raises(OSError):
            while True:
                f.write(b"x" * 4096)
        f.truncate(max(0, f.tell() - leave_kib * 1024))


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
    if not _mount_small_tmpfs(out):
        pytest.skip("cannot mount a small tmpfs here")
    try:
        assert lc(*_in_out(command, out, ONE), cwd=place).returncode == 0
        before = snapshot(out)
        _fill(out, leave_kib)
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
    if not _mount_small_tmpfs(small, "1m"):
        pytest.skip("cannot mount a small tmpfs here")
    try:
        assert lc("run", "--out", out, "--", ONE, cwd=place).returncode == 0
        before = snapshot(out)
        _fill(small, 0)
        result = lc("run", "--out", out, "--", SMALL, "--junitxml", small / "junit.xml", cwd=place)
        assert result.returncode == 2, output(result)
        assert f"cannot write --junitxml {small / 'junit.xml'}: No space left on device" in result.stderr
        assert "Traceback" not in output(result) and len(result.stderr.splitlines()) <= 2, output(result)
        assert snapshot(out) == before
    finally:
        subprocess.run(["umount", str(small)], capture_output=True)


def test_concurrent_runs_sharing_out_each_decide_from_their_own_record(place, tmp_path):
    """Two runs of one backend in one --out, one with a fault: each exit status is its own run's
    (it was the other's record, read back from the shared OUT/reference.json, in 3 of 10 tries)."""
    out = tmp_path / "out"
    for attempt in range(2):
        runs = {}
        for fault in ([FAULT], []):
            extra = ["--fault", *fault] if fault else []
            runs[bool(fault)] = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "layercontract.spec.harness.cli",
                    "run",
                    "--out",
                    str(out),
                    "--",
                    PARAMETRIZED,
                    "--record-every=0",
                    *extra,
                ],
                cwd=place,
                env=clean_env(PYTHONPATH=str(place)),
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            time.sleep(0.3 * attempt)
        texts = {k: p.communicate(timeout=300)[0] for k, p in runs.items()}
        assert runs[True].returncode == 1, texts[True]
        assert runs[False].returncode == 0, texts[False]
        assert "4 fail" in texts[True] and "fail" not in texts[False].lower().replace("faults", "")
    assert not [p.name for p in out.iterdir() if p.name.startswith(".run-")]


def _sharing_out(command: str, out: pathlib.Path, fault: bool) -> list[str]:
    """`run` or `run-many` of PARAMETRIZED on the reference into `out`, with FAULT or without."""
    if command == "run":
        return [
            "run",
            "--out",
            str(out),
            "--",
            PARAMETRIZED,
            "--record-every=0",
            *(["--fault", FAULT] if fault else []),
        ]
    fault_arg = [f"--pytest-arg=--fault={FAULT}"] if fault else []
    return ["run-many", "reference", "--out", str(out), "-s", PARAMETRIZED, "--pytest-arg=--record-every=0", *fault_arg]


@pytest.mark.parametrize(
    "faulty, clean", [("run-many", "run-many"), ("run", "run-many"), ("run-many", "run")], ids=lambda c: c
)
def test_concurrent_run_manys_sharing_out_each_decide_from_their_own_records(place, tmp_path, faulty, clean):
    """Two processes of one backend in one --out, at least one a run-many, one with a fault:
    each exit status is its own run's (two run-manys crossed in 6 of 6 tries, each reading the
    other's OUT/reference.json and journal)."""
    out = tmp_path / "out"
    for attempt in range(3):
        runs = {}
        for fault, command in ((True, faulty), (False, clean)):
            runs[fault] = subprocess.Popen(
                [sys.executable, "-m", "layercontract.spec.harness.cli", *_sharing_out(command, out, fault)],
                cwd=place,
                env=clean_env(PYTHONPATH=str(place)),
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            time.sleep(0.3 * attempt)
        texts = {k: p.communicate(timeout=300)[0] for k, p in runs.items()}
        assert runs[True].returncode == 1, texts[True]
        assert runs[False].returncode == 0, texts[False]
        assert "4 fail" in texts[True] and "fail" not in texts[False].lower().replace("faults", "")
    record = schema.load(out / "reference.json", schema.RUN_SCHEMA)  # the last one moved into place, whole
    assert record["complete"] and not any(str(out / ".run-") in str(a) for a in record["invocation"])
    assert not [p.name for p in out.iterdir() if p.name.startswith(".run-") or ".journal" in p.name]


@pytest.mark.parametrize("how", [signal.SIGINT, signal.SIGTERM], ids=["Ctrl-C", "SIGTERM"])
def test_stopping_run_many_keeps_the_records_of_the_backends_that_finished(place, tmp_path, how):
    """The finished backend's record is renamed into OUT, the stopped one's previous record stays
    (none here), and the private directory goes."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "layercontract.spec.harness.cli", "run-many", "reference", "bad_adapters:HangInLoad"]
        + ["--out", str(tmp_path), "-s", SMALL],
        cwd=place,
        env=clean_env(PYTHONPATH=str(place)),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines = []
    for line in proc.stdout:  # until the reference has finished
        lines.append(line)
        if re.search(r"\bdone\s+reference\b", line):
            break
    os.kill(proc.pid, how)
    text, _ = proc.communicate(timeout=60)
    assert proc.returncode == 128 + how, "".join(lines) + text
    record = schema.load(tmp_path / "reference.json", schema.RUN_SCHEMA)
    assert record["complete"] and not any(".run-" in str(a) for a in record["invocation"])
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith(".hypothesis")) == [
        "reference.json",
        "reference.log",
        "reference.usage",
    ]


def test_two_backends_of_one_run_many_recording_under_one_name_are_one_error(place, tmp_path):
    """A module:Class adapter named like another backend of the run: each backend's verdict was
    read from whichever record was written last (the passing reference said FAIL)."""
    result = lc(
        "run-many", "reference", "bad_adapters:WrongOpsNamedReference", "--out", tmp_path, "-s", SMALL, cwd=place
    )
    assert result.returncode == 2, output(result)
    assert "backends reference and bad_adapters:WrongOpsNamedReference both record as reference.json" in result.stderr
    assert "Traceback" not in output(result) and not (tmp_path / "reference.json").exists()
    assert [
        line for line in result.stdout.splitlines() if re.search(r"\bdone\s+reference\b.*tests: \d+ pass$", line)
    ], output(result)
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".run-")]


# ------------------------------------------------------- concurrent writers
def test_concurrent_atomic_writes_never_collide(tmp_path):
    target = tmp_path / "record.json"
    code = (
        "import sys; from layercontract.reports.records import write_atomic\n"
        'for i in range(200): write_atomic(sys.argv[1], \'{"writer": %s, "i": %d}\' % (sys.argv[2], i))\n'
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(target), str(n)], env=clean_env(), stderr=subprocess.PIPE, text=True
        )
        for n in range(2)
    ]
    for p in procs:
        _out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    assert json.loads(target.read_text())["i"] == 199
    assert [p.name for p in tmp_path.iterdir()] == ["record.json"]


def test_two_runs_on_one_out_keep_both_records(place, tmp_path):
    cmds = [
        [
            sys.executable,
            "-m",
            "layercontract.spec.harness.cli",
            "run",
            "--out",
            str(tmp_path),
            "--backend",
            backend,
            "--",
            ONE,
            "--record-every=0",
        ]
        for backend in ("reference", "bad_adapters:RenamedReference")
    ]
    procs = [
        subprocess.Popen(
            c,
            cwd=place,
            env=clean_env(PYTHONPATH=str(place)),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for c in cmds
    ]
    for p in procs:
        text, _ = p.communicate(timeout=300)
        assert p.returncode == 0, text
    for name in ("reference", "renamed-reference"):  # a module:Class record takes the adapter's name
        record = schema.load(tmp_path / f"{name}.json", schema.RUN_SCHEMA)
        assert record["complete"] and [t["outcome"] for t in record["tests"]] == ["pass"]
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")]


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


def _fifo(tmp_path, name="fifo"):
    path = tmp_path / name
    os.mkfifo(path)
    return path


UNBOUNDED = [
    ("fifo", _fifo, "a FIFO, not a regular file"),
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


@pytest.mark.parametrize("make", [_fifo, lambda tmp: tmp], ids=["fifo", "directory"])
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
    if not _mount_small_tmpfs(out, "1m"):
        pytest.skip("cannot mount a small tmpfs here")
    try:
        _fill(out, 0)
        before = snapshot(out)
        result = lc(*_output_command(args, out / "file", a_record, tmp_path), cwd=tmp_path)
        assert result.returncode == 2, output(result)
        assert "No space left on device" in result.stderr and "Traceback" not in output(result), output(result)
        assert snapshot(out) == before and not [p.name for p in out.iterdir() if p.name != "filler"]
    finally:
        subprocess.run(["umount", str(out)], capture_output=True)


def test_converting_in_place_on_a_full_disk_keeps_the_file(tmp_path):
    out = tmp_path / "small"
    if not _mount_small_tmpfs(out, "1m"):
        pytest.skip("cannot mount a small tmpfs here")
    try:
        (out / "legacy.toml").write_text(deviation(PARAMETRIZED), encoding="utf-8")
        _fill(out, 0)
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


# ------------------------------------------------------------- reruns
def test_every_rerun_command_reproduces_its_outcome_from_any_directory(place, tmp_path):
    """A run with a fault and two expected deviations of one parametrized test: the rerun of one
    deviation alone (its module has the other entry), of a failure and of a pass, each from a
    directory that is not the checkout, give the recorded outcome."""
    exp = place / "two-params.toml"
    exp.write_text(deviation(f"{PARAMETRIZED}[max_ndim]") + deviation(f"{PARAMETRIZED}[min_ndim]"), encoding="utf-8")
    out = tmp_path / "out"
    result = lc(
        "run", "--out", out, "--", "suites/test_input.py", "--fault", FAULT, "--expectations", exp.name, cwd=place
    )
    assert result.returncode == 1, output(result)
    record = schema.load(out / "reference.json", schema.RUN_SCHEMA)
    chosen = {}
    for test in record["tests"]:
        chosen.setdefault(test["outcome"], test)
    assert {"expected-deviation", "fail", "pass"} <= set(chosen), chosen.keys()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    for outcome in ("expected-deviation", "fail", "pass"):
        test = chosen[outcome]
        again = elsewhere / f"{outcome}.json"
        argv = shlex.split(test["rerun"])
        assert argv[:3] == ["python", "-m", "pytest"]
        rerun = subprocess.run(
            [sys.executable, *argv[1:], "--record", str(again), "-p", "no:cacheprovider"],
            cwd=elsewhere,
            env=clean_env(),
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert rerun.returncode in (0, 1), output(rerun)
        rows = schema.load(again, schema.RUN_SCHEMA)["tests"]
        assert [(r["nodeid"], r["outcome"]) for r in rows] == [(test["nodeid"], outcome)], output(rerun)


def test_run_many_selects_node_ids_and_check_ids_from_any_directory(place, tmp_path):
    absolute = selection.selection_target(ONE)
    result = lc(
        "run-many",
        "reference",
        "--out",
        tmp_path,
        "-s",
        absolute,
        "-s",
        "suites/test_call.py::test_integer_input_is_not_cast_to_a_float_dtype",
        cwd=place,
    )
    assert result.returncode == 0, output(result)
    record = schema.load(tmp_path / "reference.json", schema.RUN_SCHEMA)
    assert sorted(t["nodeid"] for t in record["tests"]) == sorted(
        [ONE, "suites/test_call.py::test_integer_input_is_not_cast_to_a_float_dtype"]
    )


def test_hypothesis_files_go_under_out_never_into_the_working_directory(place, tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    shutil.copy(ADAPTERS, work / "bad_adapters.py")
    result = lc(
        "run",
        "--out",
        tmp_path / "out",
        "--",
        "suites/test_call.py::test_dense_computes_x_kernel_plus_bias_for_generated_shapes",
        "--hypothesis-profile",
        "dev",
        cwd=work,
    )
    assert result.returncode in (0, 1), output(result)
    assert not (work / ".hypothesis").exists()
    assert (tmp_path / "out" / ".hypothesis").is_dir()  # the dev profile's example database
