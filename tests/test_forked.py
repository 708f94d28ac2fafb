"""tests/forked.py: a command forked from the warm server answers as a fresh interpreter
does (exit status, both streams, files), and what a fork cannot reproduce runs fresh."""

import os
import signal
import subprocess
import sys

import pytest

from tests import forked
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
        [sys.executable, "-m", forked.CLI, *map(str, args)],
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
    got = forked.cli(*args, cwd=tmp_path, env=env)
    expected = fresh(*args, cwd=tmp_path, env=env)
    assert (got.returncode, got.stdout, got.stderr) == (expected.returncode, expected.stdout, expected.stderr)


def test_the_checkouts_tests_package_is_not_importable_from_elsewhere(tmp_path):
    env = clean_env(PYTHONPATH=str(tmp_path))
    got = forked.cli("run", "--backend", "tests.fixtures.adapters:HangInLoad", cwd=tmp_path, env=env)
    assert got.returncode == 2 and "cannot import adapter module 'tests.fixtures.adapters'" in got.stderr, got


def test_an_environment_read_at_start_runs_a_fresh_interpreter(tmp_path):
    server = forked._server(forked.CLI)
    assert server.can_run(clean_env(PYTHONPATH=str(tmp_path), XDG_CACHE_HOME=str(tmp_path)))
    assert not server.can_run(clean_env(PYTHONIOENCODING="latin-1"))
    assert not server.can_run(clean_env(LC_ALL="C"))
    result = forked.cli("diff", "a", "b", cwd=tmp_path, env=clean_env(PYTHONIOENCODING="ascii"))
    assert result.returncode == 2 and result.stderr


def test_a_command_past_its_timeout_is_killed(tmp_path):
    (tmp_path / "slow.py").write_text("import time\ntime.sleep(60)\n", encoding="utf-8")
    with pytest.raises(subprocess.TimeoutExpired):
        forked.cli("run", "--backend", "slow:Adapter", cwd=tmp_path, env=clean_env(PYTHONPATH=str(tmp_path)), timeout=1)
    assert forked.cli("backends", cwd=tmp_path, env=clean_env()).returncode == 0  # the server goes on


def test_started_commands_run_at_once_and_answer_as_popen_does(tmp_path):
    """Two commands at once, each its own pid, output (stderr merged into stdout) and status;
    one killed by a signal has its negative number as returncode, as Popen has."""
    (tmp_path / "slow.py").write_text("import time\ntime.sleep(60)\n", encoding="utf-8")
    env = clean_env(PYTHONPATH=str(tmp_path))
    hanging = forked.cli_started("run", "--backend", "slow:Adapter", cwd=tmp_path, env=env)
    refused = forked.cli_started("diff", "missing.json", "missing.json", cwd=tmp_path, env=env)
    expected = subprocess.run(
        [sys.executable, "-m", forked.CLI, "diff", "missing.json", "missing.json"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=120,
    )
    assert refused.communicate(timeout=60) == (expected.stdout, None)  # while the other still runs
    assert refused.returncode == expected.returncode == 2 and hanging.returncode is None
    with pytest.raises(subprocess.TimeoutExpired):
        hanging.wait(timeout=0.5)
    os.kill(hanging.pid, signal.SIGKILL)  # the pid is the command's: its status says so
    assert hanging.wait(timeout=60) == -signal.SIGKILL


WHERE = """import os, sys

def test_where():
    import layercontract
    print("WHERE", layercontract.__file__, sys.path[0] == os.getcwd(), "numpy" in sys.modules, "tests" in sys.modules)
"""


def test_a_forked_pytest_answers_as_a_fresh_one(tmp_path):
    (tmp_path / "test_where.py").write_text(WHERE, encoding="utf-8")
    args = ["-p", "no:cacheprovider", "-q", "-s", "test_where.py"]
    env = clean_env()
    got = forked.pytest(*args, cwd=tmp_path, env=env)
    expected = subprocess.run(
        [sys.executable, "-m", "pytest", *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    where = [[line for line in r.stdout.splitlines() if line.startswith("WHERE")] for r in (got, expected)]
    assert got.returncode == expected.returncode == 0 and where[0] == where[1] and where[0], (got, expected)
