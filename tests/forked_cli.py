"""`python -m layercontract.spec.harness.cli ARGS` run to completion as the tests run it (the
result of subprocess.run with its output captured), forked from a warm process.

Most of the tests' ~300 commands are short: once the CLI is imported a refused input costs 5 ms
of CPU, and 70 ms in a fresh interpreter, where importing the CLI is most of the work (about 20 s
of the test command's CPU). So each pytest process starts one server on first use. It imports
the CLI and what its commands import (never pytest, numpy or a framework: a command that needs
them imports them in its child as it would), then forks one child per command. The child takes
the command's working directory, environment, sys.path (its directory first, then PYTHONPATH, as
`python -m` puts them), arguments and standard streams (stdin /dev/null), and exits as the
interpreter would: non-daemon threads joined, exit handlers run, streams flushed, an uncaught
exception printed with exit status 1.

A fresh interpreter still runs what a fork cannot reproduce: an environment that differs from
the server's in anything an interpreter or an imported module reads once at start (the locale,
PYTHON* other than PYTHONPATH, TMPDIR, ...: only the names in FORKABLE may differ). The tests
that signal the CLI or watch its process start it with Popen (bad_input.lc_started), and
tests/harness/commands/test_run.py and tests/checkout/test_wheel.py start fresh interpreters,
so the CLI's own start-up stays under test."""

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
# What the commands the tests run import before their work (run, run-many, merge, diff, bench,
# expectations; doctor imports numpy and gains little): imported once by the server.
WARM = (
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
NEVER_WARM = ("pytest", "_pytest", "numpy", "hypothesis", "keras", "tensorflow", "jax", "torch", "openvino")
# Environment variables read when used, never once at start: they may differ from the server's.
FORKABLE = ("PYTHONPATH", "XDG_CACHE_HOME", "HYPOTHESIS_STORAGE_DIRECTORY", "HOME", "PATH")
FORKABLE_PREFIXES = ("LAYERCONTRACT_", "PYTEST_")  # PYTEST_CURRENT_TEST changes with every test
MAX_REQUEST_BYTES = 1 << 17


def run(*args, cwd, env: dict, timeout: float = 300) -> subprocess.CompletedProcess:
    """The CLI with ARGS in CWD with ENV: forked by this process's server where it can be."""
    command = [sys.executable, "-m", CLI, *map(str, args)]
    server = _server()
    request = json.dumps({"args": command[3:], "cwd": str(cwd), "env": env}).encode()
    if not server.can_run(env) or len(request) > MAX_REQUEST_BYTES:
        return subprocess.run(
            command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL
        )
    return server.run(command, request, timeout)


@functools.cache
def _server() -> _Server:
    return _Server()


class _Server:
    """The client's end: one request at a time (a pytest process runs one test at a time)."""

    def __init__(self):
        self.env = clean_env()
        self.lock = threading.Lock()
        self.log = tempfile.TemporaryFile()
        mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.proc = processes.spawn(  # its own group; dies with this process
            [sys.executable, "-c", f"from tests.forked_cli import serve; serve({theirs.fileno()})"],
            cwd=ROOT,
            env=self.env,
            pass_fds=[theirs.fileno()],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        theirs.close()
        self.sock = mine

    def can_run(self, env: dict) -> bool:
        names = set(env) | set(self.env)
        return all(
            env.get(name) == self.env.get(name) or name in FORKABLE or name.startswith(FORKABLE_PREFIXES)
            for name in names
        )

    def run(self, command, request: bytes, timeout: float) -> subprocess.CompletedProcess:
        with self.lock, tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            with open(os.devnull, "rb") as devnull:
                self._send(request, [devnull.fileno(), out.fileno(), err.fileno()])
            pid = self._receive(None)["pid"]
            try:
                status = self._receive(timeout)["status"]
            except TimeoutError:
                os.kill(pid, 9)  # as subprocess.run kills a child past its timeout
                self._receive(None)
                raise subprocess.TimeoutExpired(command, timeout, _text(out), _text(err)) from None
            return subprocess.CompletedProcess(command, status, _text(out), _text(err))

    def _send(self, request: bytes, fds) -> None:
        try:
            socket.send_fds(self.sock, [request], fds)
        except OSError as e:
            raise RuntimeError(f"the CLI's fork server is gone: {e}\n{self._log()}") from None

    def _receive(self, timeout):
        self.sock.settimeout(timeout)
        data = self.sock.recv(4096)
        if not data:
            raise RuntimeError(f"the CLI's fork server exited ({self.proc.poll()}):\n{self._log()}")
        return json.loads(data)

    def _log(self) -> str:
        self.log.seek(0)
        return self.log.read().decode(errors="replace")[-4000:]


def _text(file) -> str:
    file.seek(0)
    return file.read().decode("utf-8", errors="replace")


# ----------------------------------------------------------------- the server process
def serve(fd: int) -> None:
    import gc

    for name in WARM:
        importlib.import_module(name)
    warm = sorted(n for n in sys.modules if n.split(".")[0] in NEVER_WARM)
    assert not warm, f"the CLI's fork server would hold {warm}, which a fresh CLI does not import"
    base_path = sys.path[1:]  # without -c's '' (the checkout): a fresh CLI has its own directory first
    sock = socket.socket(fileno=fd)
    gc.freeze()
    while True:
        try:
            data, fds, _flags, _address = socket.recv_fds(sock, MAX_REQUEST_BYTES, 3)
        except OSError:
            return
        if not data:
            return  # the client has gone
        request = json.loads(data)
        sys.stdout.flush()
        sys.stderr.flush()
        pid = processes.fork()  # dies with the server
        if pid == 0:
            sock.close()
            _child(request, fds, base_path)
        for f in fds:
            os.close(f)
        sock.send(json.dumps({"pid": pid}).encode())
        _, status = os.waitpid(pid, 0)
        sock.send(json.dumps({"status": os.waitstatus_to_exitcode(status)}).encode())


def _child(request: dict, fds, base_path) -> None:
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
        for name in [n for n in sys.modules if n == "tests" or n.startswith("tests.")]:
            del sys.modules[name]  # the checkout's tests package is not importable from elsewhere
        importlib.invalidate_caches()
        cli = sys.modules[CLI]
        sys.argv = [cli.__file__, *request["args"]]
        try:
            code = int(cli.main(request["args"]) or 0)
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
