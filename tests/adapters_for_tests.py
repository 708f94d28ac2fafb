"""Misbehaving adapters for the harness's own tests, importable in subprocesses as
`tests.adapters_for_tests:<Class>` (the project root is the working directory).

Each wraps the reference backend and breaks one thing: it crashes (os._exit, a segfault) in
load() or in the middle of a test, hangs, lacks names the suites use, or breaks the contract
in many ways at once (for `layercontract doctor`)."""

from __future__ import annotations

import faulthandler
import os
import pathlib
import signal
import time
from types import SimpleNamespace

from layercontract.backends.reference import ReferenceBackend
from layercontract.spec.harness.adapter_contract import Backend


class RenamedReference(ReferenceBackend):
    """The reference backend under another name (an adapter that works)."""

    name = "renamed-reference"


def _segfault():
    faulthandler.disable()  # no traceback dump: just die by SIGSEGV
    faulthandler._sigsegv()


# ------------------------------------------------------------------- crashes
class ExitInLoad(ReferenceBackend):
    name = "exit-in-load"

    def load(self):
        os._exit(3)


class SegfaultInLoad(ReferenceBackend):
    name = "segfault-in-load"

    def load(self):
        _segfault()


class _OnFirstToNumpy(ReferenceBackend):
    """Misbehaves on its first to_numpy() call, i.e. in the middle of a test; fine otherwise."""

    def __init__(self):
        self._calls = 0

    def to_numpy(self, x):
        self._calls += 1
        if self._calls == 1:
            self.misbehave()
        return super().to_numpy(x)

    def misbehave(self):
        raise NotImplementedError


class SegfaultMidTest(_OnFirstToNumpy):
    name = "segfault-mid-test"

    def misbehave(self):
        _segfault()


class ExitMidTest(_OnFirstToNumpy):
    """Exits with status 0 in the middle of a test: a clean exit code must not hide it."""

    name = "exit-mid-test"

    def misbehave(self):
        os._exit(0)


# --------------------------------------------------------------------- hangs
class HangOnce(_OnFirstToNumpy):
    """Sleeps in its first to_numpy call: the per-test timeout interrupts it."""

    name = "hang-once"

    def misbehave(self):
        time.sleep(600)


class HangHard(_OnFirstToNumpy):
    """Ignores SIGALRM, then sleeps, as a call stuck in C code would: the per-test timeout cannot
    interrupt it, only a supervisor that kills the process can stop it."""

    name = "hang-hard"

    def misbehave(self):
        signal.signal(signal.SIGALRM, signal.SIG_IGN)
        time.sleep(600)


class HangInLoad(ReferenceBackend):
    name = "hang-in-load"

    def load(self):
        time.sleep(600)


class CountsFreeMemory(ReferenceBackend):
    """The reference backend, appending a line to $LAYERCONTRACT_TEST_FREE_MEMORY_LOG at each
    free_memory() call (the harness calls it after each test module)."""

    name = "counts-free-memory"

    def free_memory(self):
        with open(os.environ["LAYERCONTRACT_TEST_FREE_MEMORY_LOG"], "a", encoding="utf-8") as f:
            f.write("free_memory\n")


# ------------------------------------------------------------ import failure
class FromAnotherContract(ReferenceBackend):
    """Written for an adapter contract version this layercontract does not implement."""

    name = "from-another-contract"
    contract_version = 99


class FailsToLoad(ReferenceBackend):
    name = "fails-to-load"

    def load(self):
        import layercontract_no_such_framework  # noqa: F401  (an ImportError, as a missing framework)


# ----------------------------------------------------------- contract breaks
class MissingNames(ReferenceBackend):
    """The reference namespace without layers.Concatenate and ops.relu."""

    name = "missing-names"

    def load(self):
        impl = super().load()
        layers = SimpleNamespace(
            **{
                n: getattr(impl.layers, n)
                for n in ("Dense", "Dropout", "BatchNormalization", "Embedding", "GaussianDropout", "GaussianNoise")
            }
        )
        ops = SimpleNamespace(
            **{n: getattr(impl.ops, n) for n in ("add", "concatenate", "is_tensor", "matmul", "multiply")}
        )
        return SimpleNamespace(
            Layer=impl.Layer,
            Model=impl.Model,
            Sequential=impl.Sequential,
            InputSpec=impl.InputSpec,
            Input=impl.Input,
            layers=layers,
            ops=ops,
            optimizers=impl.optimizers,
            utils=impl.utils,
        )


BROKEN_EXPECTATIONS = pathlib.Path(__file__).with_name("broken_expectations_for_tests.toml")


class BrokenEverywhere(Backend):
    """Breaks the contract in many ways at once; doctor must report every one of them."""

    name = "broken-everywhere"
    edition = "keras4"
    capabilities = frozenset({"fit", "compiled", "telepathy"})  # compiled without compiled_call
    expectations = BROKEN_EXPECTATIONS
    free_memory = "not a method"

    def load(self):
        import layercontract.reference_impl as impl

        def not_a_class():
            pass

        layers = SimpleNamespace(
            Dense=impl.layers.Dense,
            Dropout=impl.layers.Dropout,
            BatchNormalization=impl.layers.BatchNormalization,
            Concatenate=42,
            Embedding=impl.layers.Embedding,
            GaussianDropout=impl.layers.GaussianDropout,
            GaussianNoise=impl.layers.GaussianNoise,
        )
        return SimpleNamespace(
            Layer=not_a_class,
            Model=impl.Model,
            Sequential=impl.Sequential,
            InputSpec=impl.InputSpec,
            Input=impl.Input,
            layers=layers,
            ops=impl.ops,
            optimizers=SimpleNamespace(),
        )

    def to_numpy(self, x):
        return [1.0, 2.0]  # not an ndarray

    def is_symbolic(self, x):
        return "no"

    def set_seed(self, seed):
        raise RuntimeError("no seeds here")


class WrongOps(ReferenceBackend):
    """The reference namespace whose ops.is_tensor says False for everything and whose ops.add
    subtracts: the names are all there, of the right kinds, but mean something else."""

    name = "wrong-ops"

    def load(self):
        impl = super().load()
        ops = SimpleNamespace(
            **{n: getattr(impl.ops, n) for n in ("concatenate", "matmul", "multiply", "relu")},
            is_tensor=lambda x: False,
            add=lambda a, b: impl.ops.add(a, impl.ops.multiply(b, -1.0)),
        )
        return SimpleNamespace(
            Layer=impl.Layer,
            Model=impl.Model,
            Sequential=impl.Sequential,
            InputSpec=impl.InputSpec,
            Input=impl.Input,
            layers=impl.layers,
            ops=ops,
            optimizers=impl.optimizers,
            utils=impl.utils,
        )
