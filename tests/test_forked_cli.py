"""tests/forked_cli.py: a command forked from the warm server answers as a fresh interpreter
does (exit status, both streams, files), and what a fork cannot reproduce runs fresh."""

import subprocess
import sys

import pytest

from tests import forked_cli
from tests._env import clean_env

ADAPTER = """
import atexit, sys, threading, time
from layercontract.backends.reference import ReferenceBackend

class Announces(ReferenceBackend):
    name = "announces"

threading.Thread(target=lambda: (time.sleep(0.2), print("thread joined", flush=True))).start()
atexit.register(lambda: print("exit handler ran", file=sys.stderr, flush=True))
"""


def fresh(*args, cwd, env, timeout=120):
    return subprocess.run(
        [sys.executable, "-m", forked_cli.CLI, *map(str, args)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


@pytest.mark.parametrize(
    "args",
    [
        ["run", "--no-such-option"],
        ["run", "--out", "out", "--", "suites/test_call.py", "--expectations", "missing.toml"],
        ["run", "--out", "out", "--", "suites/test_call.py", "--expectations", "invalid.toml"],
        ["run", "--backend", "no_such_module:Adapter"],
        ["run", "--backend", "announcing:Announces", "--out", "{tmp}/out", "--", "suites/test_call.py::test_no_such"],
        ["backends"],
        ["diff", "missing.json", "missing.json"],
        [],
    ],
    ids=[
        "bad-option",
        "missing-expectations",
        "expectations-of-the-directory",
        "unimportable-adapter",
        "an-adapter-of-the-directory",
        "backends",
        "diff",
        "no-command",
    ],
)
def test_a_forked_command_answers_as_a_fresh_interpreter(tmp_path, args):
    (tmp_path / "announcing.py").write_text(ADAPTER, encoding="utf-8")
    (tmp_path / "invalid.toml").write_text("deviation = [\n", encoding="utf-8")
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    env = clean_env(PYTHONPATH=str(tmp_path))
    forked = forked_cli.run(*args, cwd=tmp_path, env=env)
    expected = fresh(*args, cwd=tmp_path, env=env)
    assert (forked.returncode, forked.stdout, forked.stderr) == (expected.returncode, expected.stdout, expected.stderr)


def test_the_checkouts_tests_package_is_not_importable_from_elsewhere(tmp_path):
    env = clean_env(PYTHONPATH=str(tmp_path))
    forked = forked_cli.run("run", "--backend", "tests.fixtures.adapters:HangInLoad", cwd=tmp_path, env=env)
    assert forked.returncode == 2 and "cannot import adapter module 'tests.fixtures.adapters'" in forked.stderr, forked


def test_an_environment_read_at_start_runs_a_fresh_interpreter(tmp_path):
    server = forked_cli._server()
    assert server.can_run(clean_env(PYTHONPATH=str(tmp_path), XDG_CACHE_HOME=str(tmp_path)))
    assert not server.can_run(clean_env(PYTHONIOENCODING="latin-1"))
    assert not server.can_run(clean_env(LC_ALL="C"))
    result = forked_cli.run("diff", "a", "b", cwd=tmp_path, env=clean_env(PYTHONIOENCODING="ascii"))
    assert result.returncode == 2 and result.stderr


def test_a_command_past_its_timeout_is_killed(tmp_path):
    (tmp_path / "slow.py").write_text("import time\ntime.sleep(60)\n", encoding="utf-8")
    with pytest.raises(subprocess.TimeoutExpired):
        forked_cli.run(
            "run", "--backend", "slow:Adapter", cwd=tmp_path, env=clean_env(PYTHONPATH=str(tmp_path)), timeout=1
        )
    assert forked_cli.run("backends", cwd=tmp_path, env=clean_env()).returncode == 0  # the server goes on
