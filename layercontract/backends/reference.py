"""The reference backend: layercontract's own numpy implementation of the contract."""

import pathlib
import sys

import numpy as np

from layercontract.spec.harness.adapter_contract import Backend


class ReferenceBackend(Backend):
    name = "reference"
    edition = "keras3"
    capabilities = frozenset({"fit", "inference", "symbolic", "functional", "gradients"})
    expectations = pathlib.Path(__file__).parent / "expectations" / "reference.toml"

    def load(self):
        from layercontract import reference_impl

        self._impl = reference_impl
        return reference_impl

    def to_numpy(self, x):
        return np.array(x)

    def is_symbolic(self, x):
        return self._impl.is_symbolic(x)

    def set_seed(self, seed):
        self._impl.utils.set_random_seed(seed)

    def recorded_call(self, model, x, training, output_gradient):
        from layercontract.reference_impl import autodiff

        with autodiff.tape() as tape:
            y = model(x, training=training)
            grads = tape.gradients(y, np.asarray(output_gradient, dtype=y.dtype), model.trainable_weights)
        return np.array(y), [np.array(g) for g in grads]

    def versions(self):
        from layercontract import reference_impl  # cheap, and versions() may be asked before load()

        return {"reference_impl": reference_impl.__version__, "numpy": np.__version__, "python": sys.version.split()[0]}
