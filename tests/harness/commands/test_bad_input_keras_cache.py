"""The Keras overlay cache and versions given to run, run-many and doctor: a bad one is one
error and exit 2; installs clean up after dead processes and die with the run."""

from __future__ import annotations

import os
import pathlib
import signal
import subprocess
import sys
import time

import pytest

from tests._env import clean_env
from tests.harness.commands.bad_input import (
    ONE,
    child_pids,
    dead_pid,
    is_alive,
    lc,
    output,
    snapshot,
)


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
    dead = cache / f".tmp-3.12.0-{dead_pid()}"
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
        while not child_pids(proc.pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        pip = child_pids(proc.pid)
        assert pip
        time.sleep(1.0)
        os.kill(proc.pid, how)
        proc.wait(timeout=30)
        deadline = time.monotonic() + 15
        while any(map(is_alive, pip)) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not any(map(is_alive, pip))
    finally:
        hang.close()
        if proc.poll() is None:
            proc.kill()
    if how == signal.SIGTERM:
        assert proc.returncode == 128 + signal.SIGTERM
        assert not [p for p in (tmp_path / "cache").iterdir() if p.name.startswith(".tmp-")]
