"""An out-of-tree layercontract adapter package with several backends, as an implementation with
backends of its own ships one: one class per backend, sharing a base class, each registered under
its own name (entry-point group "layercontract.backends", pyproject.toml) and each with its own
expectations file next to this module. It uses nothing of layercontract but the adapter contract
(layercontract.spec.harness.adapter_contract, version 3).

    example-keras-numpy          Keras 3 on its numpy backend                 expectations.toml
    example-keras-numpy-lenient  the same, with a deliberate deviation: its   example-keras-numpy-lenient.toml
                                 Dropout clamps a rate outside [0, 1]         (empty: a run is red until
                                 instead of rejecting it                       its entries are written)

    layercontract doctor --backend example-keras-numpy          # installed (entry points)
    layercontract run-many example-keras-numpy example-keras-numpy-lenient
    PYTHONPATH=examples/layercontract-example-adapter \
        layercontract run --backend layercontract_example_adapter:ExampleKerasNumpy
"""

from __future__ import annotations

import os
import pathlib
import sys
from importlib import metadata

import numpy as np

from layercontract.spec.harness.adapter_contract import Backend

__version__ = "0.1.0"
HERE = pathlib.Path(__file__).parent


class ExampleKeras(Backend):
    """What every backend of the package shares: Keras 3 with KERAS_BACKEND = `keras_backend`,
    one Keras backend per process (run-many gives each backend name its own process). A subclass
    sets name, keras_backend, capabilities and expectations; the harness calls it with no
    arguments. Not registered itself (no entry point): it has no name of its own."""

    contract_version = 3  # the adapter contract (CONTRACT_VERSION) this adapter was written for
    # The distribution in versions() whose version identifies the implementation checked: reports
    # show it as each backend's version. Yours is your implementation's own distribution; without
    # it, reports would show Keras's version (or none for an implementation that is not Keras).
    key_distribution = "layercontract-example-adapter"
    edition = "keras3"
    keras_backend = ""

    def load(self):
        # Keras reads KERAS_BACKEND once, at its first import: one Keras backend per process.
        if "keras" in sys.modules and sys.modules["keras"].backend.backend() != self.keras_backend:
            raise RuntimeError(
                f"Keras is already imported with another backend in this process "
                f"({sys.modules['keras'].backend.backend()}, not {self.keras_backend})"
            )
        os.environ["KERAS_BACKEND"] = self.keras_backend
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        import keras

        self._keras = keras
        return self.namespace(keras)

    def namespace(self, keras):
        """The Keras-shaped namespace the suites use: the keras module itself, unless a backend
        changes some of its names."""
        return keras

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


class ExampleKerasNumpy(ExampleKeras):
    name = "example-keras-numpy"
    keras_backend = "numpy"
    # Keras's numpy backend has no trainer (Model.fit raises NotImplementedError) and no
    # compiled mode, but it predicts and evaluates: declare only what works; the checks
    # needing the rest are "unsupported".
    capabilities = frozenset({"inference", "symbolic", "functional"})
    expectations = HERE / "expectations.toml"


class _Names:
    """A namespace object: `base`'s attributes, except those given here."""

    def __init__(self, base, **replaced):
        self._base = base
        self.__dict__.update(replaced)

    def __getattr__(self, name):
        return getattr(self._base, name)


class ExampleKerasNumpyLenient(ExampleKerasNumpy):
    """A deliberately deviating backend, to show what a deviation looks like and how it is
    recorded: its Dropout clamps a rate outside [0, 1] into it instead of raising ValueError
    (clause TRAIN.DROPOUT_INVALID_RATE). Its expectations file ships empty, so a run is red until
    the entry is written (docs/WRITING_AN_ADAPTER.md, "Several backends in one package")."""

    name = "example-keras-numpy-lenient"
    expectations = HERE / "example-keras-numpy-lenient.toml"

    def namespace(self, keras):
        class Dropout(keras.layers.Dropout):
            def __init__(self, rate, **kwargs):
                super().__init__(min(max(float(rate), 0.0), 1.0), **kwargs)  # the deliberate deviation

        return _Names(keras, layers=_Names(keras.layers, Dropout=Dropout))
