"""The checkout's pytest set-up, for every pytest run started in it (the README test command, the
suites on any backend, the tests' own pytest subprocesses, which inherit the environment):
hypothesis keeps its files (the dev profile's example database, the constants it reads from local
modules) in the user's cache directory instead of .hypothesis/ in the working tree, as
`layercontract run` keeps them (backend_runs.child_env); numpy's OpenBLAS runs on one thread, as
in every process `layercontract` starts to run checks (processes.single_threaded_blas: its threads
spin after each call, a fifth of a small run's CPU, for arrays of a few elements)."""

import os
import pathlib

from layercontract.spec.harness import processes


def hypothesis_storage() -> pathlib.Path:
    cache = os.environ.get("XDG_CACHE_HOME") or pathlib.Path.home() / ".cache"
    return pathlib.Path(cache) / "layercontract" / "hypothesis"


os.environ.setdefault("HYPOTHESIS_STORAGE_DIRECTORY", str(hypothesis_storage()))
processes.single_threaded_blas(os.environ)
