"""The adapter contract: what a backend gives layercontract.

A backend adapter is a small class. The suites see only what it returns here, never the
implementation's modules, so any Keras-compatible implementation can be checked.

    name          str   the name reported everywhere ("keras-jax", "reference", ...)
    edition       str   "keras3" or "keras2": which edition-specific clauses apply
    capabilities  frozenset[str], a subset of CAPABILITIES below; checks needing a
                  capability the backend lacks are reported as *unsupported*
    expectations  pathlib.Path | None: the reviewed file of known deviations

    load()        -> the Keras-shaped namespace: Layer, Model, InputSpec, Input, layers
                     (Dense, Dropout, BatchNormalization, Concatenate), ops (the few the
                     suites use: convert_to_numpy, is_tensor, matmul, add, multiply, relu,
                     concatenate), optimizers.SGD, utils.set_random_seed.
                     Called once per process; import heavy frameworks here, not at import.
    to_numpy(x)   -> numpy.ndarray for a tensor or weight
    is_symbolic(x)-> True for a symbolic tensor (the result of calling on `Input`)
    set_seed(n)   -> seed every random generator the backend uses
    versions()    -> {package: version} of everything it loaded, recorded in every run

  Optional, with capability "compiled":
    compiled_call(layer, x, training) -> numpy output of calling `layer` on `x` in the
                     backend's compiled/graph mode (tf.function, jax.jit of stateless_call),
                     with state updates (BatchNormalization statistics) written back.
"""
from __future__ import annotations

import pathlib

CAPABILITIES = {
    "fit": "Model.compile / fit / train_on_batch compute a loss and update weights",
    "symbolic": "calling layers on Input() tensors without data",
    "compiled": "running a layer call in a compiled/graph mode (compiled_call)",
}


class Backend:
    name: str = "unnamed"
    edition: str = "keras3"
    capabilities: frozenset = frozenset()
    expectations: pathlib.Path | None = None

    def load(self):
        raise NotImplementedError

    def to_numpy(self, x):
        raise NotImplementedError

    def is_symbolic(self, x):
        raise NotImplementedError

    def set_seed(self, seed):
        raise NotImplementedError

    def versions(self):
        return {}

    def compiled_call(self, layer, x, training):
        raise NotImplementedError(f"backend {self.name} has no compiled mode")
