"""layercontract's reference implementation: the Keras layer/model contract in plain numpy.

This package *is* a Keras-shaped namespace (`Layer`, `Model`, `Sequential`, `InputSpec`, `Input`,
`layers`, `ops`, `optimizers`, `utils`), which is what the suites see through the
`reference` backend adapter.
"""

from types import SimpleNamespace

from layercontract.reference_impl import layers, ops, optimizers, random
from layercontract.reference_impl.input_spec import InputSpec
from layercontract.reference_impl.layer import Layer
from layercontract.reference_impl.model import Model, Sequential
from layercontract.reference_impl.symbolic import Input, SymbolicTensor, is_symbolic
from layercontract.reference_impl.variables import Variable

utils = SimpleNamespace(set_random_seed=random.set_random_seed)

__version__ = "0.1.0"
__all__ = [
    "Layer",
    "Model",
    "Sequential",
    "InputSpec",
    "Input",
    "Variable",
    "SymbolicTensor",
    "is_symbolic",
    "layers",
    "ops",
    "optimizers",
    "utils",
]
