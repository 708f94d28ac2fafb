"""Child processes that never outlive their parent: the one place layercontract starts, forks,
watches and kills processes (run-many's backend runs, the fault runs of kill-matrix and
tests/reference_impl/test_faults.py, their zygote).

Every child
  - runs in its own process group (a new session), so killing it kills what it started too
    (xdist workers, forked runs);
  - gets PR_SET_PDEATHSIG = SIGKILL (Linux, via prctl): the kernel kills it the moment its
    parent dies, whatever the way - kill -9 included, where no handler of the parent runs;
    a child that finds its parent already gone kills itself;
  - is killed with its group when the parent gets SIGTERM, SIGHUP or SIGINT while a
    `Supervisor` is active: its handlers turn the signal into an exception (KeyboardInterrupt
    for SIGINT, SystemExit(128+N) otherwise), and leaving the `with` block by an exception
    kills every group it started.

    with Supervisor() as sup:
        proc = sup.spawn([sys.executable, "-m", "pytest", ...], stdout=log)
        ...
        sup.kill(proc)                # the whole group, SIGKILL

`spawn`, `run` and `fork` work without a Supervisor too (the death signal needs none).

A child that cannot write its own files (its record or progress journal: no space left, a
read-only place) ends at once through `exit_cannot_write`: one line on stderr and exit status
EXIT_CANNOT_WRITE, which its parent reads as "nothing written", never as a test's outcome.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import threading
import time
import typing

PR_SET_PDEATHSIG = 1
EXIT_CANNOT_WRITE = 73  # sysexits.h EX_CANTCREAT: cannot create an output file
_GONE = (ProcessLookupError, PermissionError)


_Env = typing.TypeVar("_Env", bound=typing.MutableMapping[str, str])


def single_threaded_blas(env: _Env) -> _Env:
    """ENV, with numpy's OpenBLAS on one thread unless ENV already says how many: the environment
    of every process that runs checks. At import OpenBLAS starts a thread per core, and after each
    call those threads spin waiting for the next one: 0.1 s of CPU in a 0.53 s run of one check on
    the reference, for arrays of a few elements. Runs already go one per core (run-many's -j, the
    fault runs)."""
    env.setdefault("OPENBLAS_NUM_THREADS", "1")
    return env


def _load_prctl():
    if not sys.platform.startswith("linux"):
        return None
    try:
        # dlopen(NULL): the symbols already loaded into this process, libc's among them
        # (ctypes.util.find_library("c") would run `ldconfig -p` in every process)
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl
    except (OSError, AttributeError):
        return None


_PRCTL = _load_prctl()  # loaded in the parent: a forked child must not load libraries


def die_with_parent(parent_pid: int, sig: int = signal.SIGKILL) -> None:
    """In a child: be killed with `sig` when the parent dies (Linux), and die now if the
    parent (`parent_pid`) is already gone. Safe between fork and exec (no allocation, no import)."""
    if _PRCTL is not None:
        _PRCTL(PR_SET_PDEATHSIG, int(sig), 0, 0, 0)
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        os.kill(os.getpid(), sig)


def _preexec(parent_pid: int):
    return lambda: die_with_parent(parent_pid)


def spawn(cmd, **popen_kwargs) -> subprocess.Popen:
    """subprocess.Popen(cmd, ...) in a new session, killed when this process dies."""
    popen_kwargs.setdefault("stdin", subprocess.DEVNULL)
    return subprocess.Popen(cmd, start_new_session=True, preexec_fn=_preexec(os.getpid()), **popen_kwargs)


def kill_group(proc: subprocess.Popen | int, sig: int = signal.SIGKILL) -> None:
    """Send `sig` to the child's process group (it leads one: see spawn); gone is fine."""
    pid = proc if isinstance(proc, int) else proc.pid
    with contextlib.suppress(*_GONE):
        os.killpg(pid, sig)


def run(cmd, *, timeout: float, **popen_kwargs) -> subprocess.CompletedProcess:
    """Like subprocess.run(cmd, capture_output=True, text=True, timeout=...), but the child
    runs in its own group, dies with this process, and its whole group is killed on timeout."""
    popen_kwargs.setdefault("encoding", "utf-8")
    popen_kwargs.setdefault("errors", "replace")  # whatever the locale: never a decoding error
    proc = spawn(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **popen_kwargs)
    try:
        out, err = proc.communicate(timeout=timeout)
    except BaseException:
        kill_group(proc)
        proc.communicate()
        raise
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def fork() -> int:
    """os.fork(), the child set to die with its parent (for a zygote's runs). Returns like os.fork."""
    parent = os.getpid()
    pid = os.fork()
    if pid == 0:
        die_with_parent(parent)
    return pid


def dump_then_kill(proc: subprocess.Popen, dump_signal: int | None, stack_file=None, wait: float = 3.0) -> None:
    """Ask the child for a traceback dump (`dump_signal`, e.g. SIGUSR1 with faulthandler; only
    when `stack_file` exists, i.e. the child has registered its handler - the default action of
    SIGUSR1 is to die), give it up to `wait` seconds to write `stack_file`, then kill its group."""
    if dump_signal is not None and stack_file is not None and os.path.exists(stack_file):
        with contextlib.suppress(*_GONE):
            os.kill(proc.pid, dump_signal)
            deadline = time.monotonic() + wait
            while time.monotonic() < deadline and proc.poll() is None:
                if os.path.getsize(stack_file) and time.monotonic() > deadline - wait + 0.5:
                    break  # written, and half a second to finish
                time.sleep(0.05)
    kill_group(proc)


class Supervisor:
    """Children started through it are killed (with their groups) when the parent is asked to
    stop (SIGTERM, SIGHUP, SIGINT) or leaves the `with` block by an exception."""

    SIGNALS = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)

    def __init__(self):
        self.children: list[subprocess.Popen] = []
        self._previous = {}

    def spawn(self, cmd, **popen_kwargs) -> subprocess.Popen:
        proc = spawn(cmd, **popen_kwargs)
        self.children.append(proc)
        return proc

    def kill(self, proc: subprocess.Popen) -> None:
        kill_group(proc)

    def kill_all(self) -> None:
        for proc in self.children:
            if proc.poll() is None:
                kill_group(proc)
        for proc in self.children:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=5)

    def _on_signal(self, signum, frame):
        # As an exception, so that the `with` block's clean-up (and the caller's) runs: __exit__
        # kills every child's group.
        if signum == signal.SIGINT:
            raise KeyboardInterrupt
        raise SystemExit(128 + signum)

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            for sig in self.SIGNALS:
                self._previous[sig] = signal.signal(sig, self._on_signal)
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            self.kill_all()
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous.clear()
        return False


def exit_cannot_write(what, error: OSError) -> typing.NoReturn:
    """End this process now, with one line on stderr and EXIT_CANNOT_WRITE: it cannot write
    `what` (its record or journal). Every later write (each hook writes the journal) would fail
    the same way with a traceback of its own, and a run with no record is no run; its supervisor
    (`layercontract run`, `run-many`) reports it and keeps the previous record."""
    detail = error.strerror or str(error)
    for stream in (sys.stdout, sys.stderr):  # a stream on the same full disk may fail too
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    with contextlib.suppress(OSError, ValueError):
        print(f"layercontract: error: cannot write {what}: {detail}", file=sys.stderr, flush=True)
    os._exit(EXIT_CANNOT_WRITE)  # no clean-up hook may write (and fail) again
