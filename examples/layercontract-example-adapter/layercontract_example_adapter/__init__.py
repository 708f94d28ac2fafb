"""An out-of-tree layercontract adapter: Keras 3 on its numpy backend, named
"example-keras-numpy". It uses nothing of layercontract but the adapter contract
(layercontract.spec.harness.backend, version 1) and keeps its reviewed expectations file next
to this module.

    layercontract doctor --backend example-keras-numpy          # installed (entry point)
    python -m pytest --pyargs layercontract.suites --backend example-keras-numpy
    PYTHONPATH=examples/layercontract-example-adapter \
        python -m pytest --pyargs layercontract.suites --backend layercontract_example_adapter:ExampleKerasNumpy
"""
from __future__ import annotations

import os
import pathlib
import sys
from importlib import metadata

import numpy as np

from layercontract.spec.harness.backend import Backend

__version__ = "0.1.0"


class ExampleKerasNumpy(Backend):
    contract_version = 1  # the adapter contract (CONTRACT_VERSION) this adapter was written for
    name = "example-keras-numpy"
    edition = "keras3"
    # Keras's numpy backend has no trainer (Model.fit raises NotImplementedError) and no
    # compiled mode, but it predicts and evaluates: declare only what works; the checks
    # needing the rest are "unsupported".
    capabilities = frozenset({"inference", "symbolic", "functional"})
    expectations = pathlib.Path(__file__).with_name("expectations.toml")

    def load(self):
        # Keras reads KERAS_BACKEND once, at its first import: one Keras backend per process.
        if "keras" in sys.modules and sys.modules["keras"].backend.backend() != "numpy":
            raise RuntimeError("Keras is already imported with another backend in this process")
        os.environ["KERAS_BACKEND"] = "numpy"
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        import keras

        self._keras = keras
        return keras  # the keras module is the Keras-shaped namespace the suites use

    def to_numpy(self, x):
        if isinstance(x, self._keras.Variable):
            x = x.value
        return np.array(x)

    def is_symbolic(self, x):
        return isinstance(x, self._keras.KerasTensor)

    def set_seed(self, seed):
        self._keras.utils.set_random_seed(seed)

    def versions(self):
        found = {"layercontract-example-adapter": __version__}
        for dist in ("keras", "numpy"):
            try:
                found[dist] = metadata.version(dist)
            except metadata.PackageNotFoundError:
                pass
        return found
