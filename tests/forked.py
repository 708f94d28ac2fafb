"""`python -m MODULE ARGS` run to completion as the tests run it (the result of subprocess.run
with its output captured), forked from a warm process: `cli` for `python -m
layercontract.spec.harness.cli`, `pytest` for `python -m pytest`.

Most of the tests' ~350 such processes are short: once the CLI is imported a refused input costs
5 ms of CPU, and 70 ms in a fresh interpreter, where importing the CLI is most of the work; a
pytest run of one suite file spends a third of its CPU importing pytest. So each pytest process
starts one server per MODULE on first use. It imports what that module imports first (the CLI and
what its commands import; pytest and its own plugins), never what a fresh process would import
differently (pytest plugins installed with entry points, which pytest must import itself to
rewrite their asserts; numpy, a framework; for pytest, layercontract, which a test may shadow with
a copy on PYTHONPATH), then forks one child per command. The child takes the command's working
directory, environment, sys.path (its directory first, then PYTHONPATH, as `python -m` puts
them), arguments and standard streams (stdin /dev/null), forgets the modules a fresh process
would find elsewhere (the checkout's `tests`; for pytest, layercontract), and exits as the
interpreter would: non-daemon threads joined, exit handlers run, streams flushed, an uncaught
exception printed with exit status 1.

A fresh interpreter still runs what a fork cannot reproduce: an environment that differs from
the server's in anything an interpreter or an imported module reads once at start (the locale,
PYTHON* other than PYTHONPATH, TMPDIR, ...: only the names in FORKABLE may differ). The tests
that signal the CLI or watch its process or output while it runs start it with Popen
(bad_input.lc_started), and tests/harness/commands/test_run.py and tests/checkout/test_wheel.py
start fresh interpreters, so the CLI's own start-up stays under test.

Commands may run at once (`cli_started`: concurrent runs on one directory): the server forks a
waiter per command, which forks the command, and tells the client the command's pid and then
its exit status on a socket of the command's own."""

from __future__ import annotations

import atexit
import functools
import importlib
import json
import os
import pathlib
import socket
import subprocess
import sys
import tempfile
import threading
import traceback

from layercontract.spec.harness import processes
from tests._env import clean_env

ROOT = pathlib.Path(__file__).resolve().parents[1]
CLI = "layercontract.spec.harness.cli"
# What a module imports before its work, imported once by its server. The CLI: what the commands
# the tests run import (run, run-many, merge, diff, bench, expectations; doctor imports numpy and
# gains little). pytest: itself and its own plugins (those of _pytest.config.default_plugins).
CLI_WARM = (
    CLI,
    "layercontract.spec.harness.commands.run",
    "layercontract.spec.harness.commands.run_many",
    "layercontract.spec.harness.commands.merge",
    "layercontract.spec.harness.commands.diff",
    "layercontract.spec.harness.commands.bench",
    "layercontract.spec.harness.commands.expectations",
    "layercontract.spec.harness.backend_runs",
    "layercontract.spec.harness.verdict",
    "layercontract.reports.merge",
    "layercontract.reports.render",
    "layercontract.reports.diff",
    "layercontract.reports.findings_view",
)
PYTEST_WARM = ("pytest", "_pytest.config")
# What a server never holds (a fresh process imports it its own way), and what a child forgets.
ENTRY_POINT_PLUGINS_AND_FRAMEWORKS = (
    "hypothesis",
    "_hypothesis_pytestplugin",
    "xdist",
    "numpy",
    "keras",
    "tensorflow",
    "jax",
    "torch",
    "openvino",
)
NEVER_WARM = {
    CLI: ("pytest", "_pytest", *ENTRY_POINT_PLUGINS_AND_FRAMEWORKS),
    "pytest": ENTRY_POINT_PLUGINS_AND_FRAMEWORKS,
}
FORGOTTEN = {CLI: ("tests",), "pytest": ("tests", "layercontract")}
# Environment variables read when used, never once at start: they may differ from the server's.
FORKABLE = ("PYTHONPATH", "XDG_CACHE_HOME", "HYPOTHESIS_STORAGE_DIRECTORY", "HOME", "PATH")
# PYTEST_CURRENT_TEST changes with every test; PIP_* is read by the pip processes the CLI starts.
FORKABLE_PREFIXES = ("LAYERCONTRACT_", "PYTEST_", "PIP_")
MAX_REQUEST_BYTES = 1 << 17


def cli(*args, cwd, env: dict, timeout: float = 300) -> subprocess.CompletedProcess:
    """`python -m layercontract.spec.harness.cli ARGS` in CWD with ENV."""
    return run(CLI, *args, cwd=cwd, env=env, timeout=timeout)


def pytest(*args, cwd, env: dict, timeout: float = 300) -> subprocess.CompletedProcess:
    """`python -m pytest ARGS` in CWD with ENV."""
    return run("pytest", *args, cwd=cwd, env=env, timeout=timeout)


def cli_started(*args, cwd, env: dict):
    """`python -m layercontract.spec.harness.cli ARGS` in CWD with ENV, started and not waited
    for, its stderr merged into its stdout: what subprocess.Popen(stdout=PIPE, stderr=STDOUT,
    text=True) gives of `pid`, `communicate(timeout)` (the output once it has exited) and
    `returncode`. For several commands at once; a test that reads the output while the command
    runs, or signals it, uses Popen."""
    command = [sys.executable, "-m", CLI, *map(str, args)]
    server = _server(CLI)
    request = _request(command, cwd, env)
    if not server.forks(env, request):
        return subprocess.Popen(
            command,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
    out = tempfile.TemporaryFile()
    return server.start(command, request, out, out)


def run(module: str, *args, cwd, env: dict, timeout: float) -> subprocess.CompletedProcess:
    """`python -m MODULE ARGS`: forked by this process's server of MODULE where it can be."""
    command = [sys.executable, "-m", module, *map(str, args)]
    server = _server(module)
    request = _request(command, cwd, env)
    if not server.forks(env, request):
        return subprocess.run(
            command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL
        )
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = server.start(command, request, out, err)
        try:
            status = started.wait(timeout)
        except subprocess.TimeoutExpired:
            os.kill(started.pid, 9)  # as subprocess.run kills a child past its timeout
            started.wait()
            raise subprocess.TimeoutExpired(command, timeout, _text(out), _text(err)) from None
        return subprocess.CompletedProcess(command, status, _text(out), _text(err))


def _request(command, cwd, env) -> bytes:
    return json.dumps({"args": command[3:], "cwd": str(cwd), "env": env}).encode()


@functools.cache
def _server(module: str) -> _Server:
    return _Server(module)


class _Server:
    """The client's end. Each command answers on a socket of its own (its pid, then its exit
    status), so several may run at once."""

    def __init__(self, module: str):
        self.env = clean_env()
        self.lock = threading.Lock()
        self.log = tempfile.TemporaryFile()
        mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.proc = processes.spawn(  # its own group; dies with this process
            [sys.executable, "-c", f"from tests.forked import serve; serve({module!r}, {theirs.fileno()})"],
            cwd=ROOT,
            env=self.env,
            pass_fds=[theirs.fileno()],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        theirs.close()
        self.sock = mine

    def forks(self, env: dict, request: bytes) -> bool:
        """Whether the server runs this command (else a fresh interpreter does)."""
        return self.can_run(env) and len(request) <= MAX_REQUEST_BYTES

    def can_run(self, env: dict) -> bool:
        names = set(env) | set(self.env)
        return all(
            env.get(name) == self.env.get(name) or name in FORKABLE or name.startswith(FORKABLE_PREFIXES)
            for name in names
        )

    def start(self, command, request: bytes, out, err) -> _Started:
        reply, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        with theirs, open(os.devnull, "rb") as devnull:
            try:
                with self.lock:
                    socket.send_fds(
                        self.sock, [request], [devnull.fileno(), out.fileno(), err.fileno(), theirs.fileno()]
                    )
            except OSError as e:
                raise RuntimeError(f"the fork server is gone: {e}\n{self._log()}") from None
        return _Started(self, command, reply, out)

    def _log(self) -> str:
        self.log.seek(0)
        return self.log.read().decode(errors="replace")[-4000:]


class _Started:
    """A forked command: its pid, and its exit status once it has exited (negative: the signal
    that ended it, as Popen.returncode)."""

    def __init__(self, server: _Server, command, reply: socket.socket, out):
        self.args = command
        self.server = server
        self.reply = reply
        self.out = out
        self.returncode: int | None = None
        self.pid = self._receive(None)["pid"]

    def wait(self, timeout: float | None = None) -> int:
        if self.returncode is None:
            try:
                self.returncode = self._receive(timeout)["status"]
            except TimeoutError:  # only with a timeout: without one the socket blocks
                raise subprocess.TimeoutExpired(self.args, timeout or 0.0) from None
            self.reply.close()
        return self.returncode

    def communicate(self, timeout: float | None = None) -> tuple[str, None]:
        self.wait(timeout)
        return _text(self.out), None

    def _receive(self, timeout):
        self.reply.settimeout(timeout)
        data = self.reply.recv(4096)
        if not data:
            raise RuntimeError(
                f"the fork server's command ended unseen ({self.server.proc.poll()}):\n{self.server._log()}"
            )
        return json.loads(data)


def _text(file) -> str:
    file.seek(0)
    return file.read().decode("utf-8", errors="replace")


# ----------------------------------------------------------------- the server process
def serve(module: str, fd: int) -> None:
    import gc

    for name in CLI_WARM if module == CLI else PYTEST_WARM:
        importlib.import_module(name)
    if module == "pytest":
        import _pytest.config

        for name in _pytest.config.default_plugins:
            importlib.import_module(f"_pytest.{name}")
    warm = sorted(n for n in sys.modules if n.split(".")[0] in NEVER_WARM[module])
    assert not warm, f"the fork server of {module} would hold {warm}, which a fresh process imports itself"
    base_path = sys.path[1:]  # without -c's '' (the checkout): a fresh CLI has its own directory first
    sock = socket.socket(fileno=fd)
    gc.freeze()
    while True:
        try:
            data, fds, _flags, _address = socket.recv_fds(sock, MAX_REQUEST_BYTES, 4)
        except OSError:
            return
        if not data:
            return  # the client has gone
        _reap_waiters()
        request = json.loads(data)
        *streams, reply = fds
        sys.stdout.flush()
        sys.stderr.flush()
        if processes.fork() == 0:  # the command's waiter, which dies with the server
            sock.close()
            _wait_for_command(module, request, streams, reply, base_path)
        for f in fds:
            os.close(f)


def _reap_waiters() -> None:
    try:
        while os.waitpid(-1, os.WNOHANG)[0]:
            pass
    except ChildProcessError:
        pass


def _wait_for_command(module: str, request: dict, streams, reply: int, base_path) -> None:
    """Fork the command (it dies with this process), tell the client its pid, wait for it and
    tell the exit status."""
    try:
        pid = processes.fork()
        if pid == 0:
            os.close(reply)
            _child(module, request, streams, base_path)
        for f in streams:
            os.close(f)
        answer = socket.socket(fileno=reply)
        answer.send(json.dumps({"pid": pid}).encode())
        _, status = os.waitpid(pid, 0)
        answer.send(json.dumps({"status": os.waitstatus_to_exitcode(status)}).encode())
    finally:
        os._exit(0)


def _child(module: str, request: dict, fds, base_path) -> None:
    code = 1
    try:
        for target, f in enumerate(fds):
            os.dup2(f, target)
            os.close(f)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        extra = [p for p in request["env"].get("PYTHONPATH", "").split(os.pathsep) if p]
        sys.path[:] = [os.getcwd(), *extra, *base_path]
        for name in [n for n in sys.modules if n.split(".")[0] in FORGOTTEN[module]]:
            del sys.modules[name]  # found elsewhere (or not at all) from the command's sys.path
        importlib.invalidate_caches()
        main = sys.modules[module]
        sys.argv = [main.__file__, *request["args"]]
        try:
            if module == CLI:
                code = int(main.main(request["args"]) or 0)
            else:
                code = int(main.console_main())
        except SystemExit as e:
            if e.code is None or isinstance(e.code, int):
                code = e.code or 0
            else:
                print(e.code, file=sys.stderr)
                code = 1
        except BaseException:
            traceback.print_exc()
            code = 1
        threading._shutdown()  # type: ignore[attr-defined]  # what the interpreter does at exit
        atexit._run_exitfuncs()
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)
