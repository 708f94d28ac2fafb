"""The checkout's pytest set-up, for every pytest run started in it (the README test command, the
suites on any backend, the tests' own pytest subprocesses, which inherit the environment):
hypothesis keeps its files (the dev profile's example database, the constants it reads from local
modules) in the user's cache directory instead of .hypothesis/ in the working tree, as
`layercontract run` keeps them (backend_runs.child_env)."""

import os
import pathlib


def hypothesis_storage() -> pathlib.Path:
    cache = os.environ.get("XDG_CACHE_HOME") or pathlib.Path.home() / ".cache"
    return pathlib.Path(cache) / "layercontract" / "hypothesis"


os.environ.setdefault("HYPOTHESIS_STORAGE_DIRECTORY", str(hypothesis_storage()))
