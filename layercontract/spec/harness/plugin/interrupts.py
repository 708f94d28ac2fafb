"""Ctrl-C stops the run and is never recorded as a test's failure: hypothesis can catch the
KeyboardInterrupt raised inside a test and report a failure instead. The flag set on the signal
itself turns the first report after it into an interrupt of the session."""

from __future__ import annotations

import signal
import threading

import pytest

from layercontract.spec.harness.session_state import STATE


class Interrupts:
    def __init__(self):
        self.interrupted = False

    @pytest.hookimpl(trylast=True)  # once the session state exists: only a run that can start
    def pytest_configure(self, config):
        if config.stash.get(STATE, None) is not None:
            self.watch()

    def watch(self):
        if threading.current_thread() is not threading.main_thread():
            return
        previous = signal.getsignal(signal.SIGINT)
        # An earlier session of this process left its handler: this one takes its place, in front
        # of the same handler (the flag is this session's).
        previous = getattr(previous, "_layercontract_previous", previous)

        def on_sigint(signum, frame):
            self.interrupted = True
            if callable(previous):
                return previous(signum, frame)
            raise KeyboardInterrupt

        on_sigint._layercontract_previous = previous
        signal.signal(signal.SIGINT, on_sigint)

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_runtest_makereport(self, item, call):
        report = yield
        if self.interrupted:  # whatever the test made of the KeyboardInterrupt: the run was interrupted
            raise KeyboardInterrupt
        return report
