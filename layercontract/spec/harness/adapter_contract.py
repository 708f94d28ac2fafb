"""The adapter contract: everything a backend gives layercontract, and nothing more.

An adapter is a small class; `--backend package.module:AdapterClass` (or a registered name,
see registry.py) makes layercontract call it with no arguments. The harness and the suites
use only what is listed here, never the implementation's own modules, so any Keras-shaped
implementation can be checked. Subclassing `Backend` is convenient, not required.
`layercontract doctor --backend X` checks an adapter against this contract in seconds.

Attributes
    name          str: the name reported everywhere ("keras-jax", "reference", ...)
    edition       "keras3" or "keras2": which edition-specific clauses apply (EDITIONS)
    capabilities  frozenset of CAPABILITIES keys; a check needing one the adapter lacks is
                  reported *unsupported*, never failed. Declare only what works.
    expectations  pathlib.Path or None: the reviewed file of the backend's known deviations
                  (see expectations.py); `--expectations PATH` overrides it for one run.
    contract_version  optional int: the CONTRACT_VERSION the adapter was written for; a run
                  and doctor refuse an adapter written for another version.
    key_distribution  optional str: the distribution in versions() whose version identifies the
                  implementation, shown as the backend's version (run and doctor check it is
                  there). None: the first versions() has of keras, tf-keras, the reference, name.

Methods
    load()          -> the Keras-shaped namespace: an object with at least the NAMESPACE
                       names below (a module, a SimpleNamespace...). Called once per process,
                       before any test runs: import heavy frameworks here, not at import.
    to_numpy(x)     -> numpy.ndarray for a tensor or a weight (variable) of the backend
    is_symbolic(x)  -> True for a symbolic tensor (a layer called on `Input`), else False
    set_seed(n)     -> seed every random generator the backend uses, so that seeding twice
                       with n and repeating the same calls gives the same results
    versions()      -> {distribution: version} of everything it loaded; recorded in each run

  Optional, with capability "compiled":
    compiled_call(layer, x, training) -> numpy output of calling `layer` on numpy `x` in the
                       backend's compiled/graph mode (tf.function, jax.jit of stateless_call),
                       with state updates (BatchNormalization statistics) written back.
  Optional, with capability "gradients":
    recorded_call(model, x, training, output_gradient) -> (numpy output, [numpy gradient of
                       sum(output * output_gradient) per model.trainable_weights]) of a call of the
                       built `model` on numpy `x` recorded as a custom training loop records it.
  Optional:
    free_memory()   -> drop caches that only save time (jax's compiled executables); called
                       after each test module. Backend's default does nothing.
"""

from __future__ import annotations

import pathlib

# In every run record; bumped when a change can break an adapter (a NAMESPACE name, a method, a meaning).
CONTRACT_VERSION = 3  # 3: NAMESPACE gained Embedding, GaussianDropout, GaussianNoise; recorded_call. 2: Sequential

EDITIONS = ("keras3", "keras2")

# Every name the suites read from the namespace (`K.<name>`); tests/harness/test_adapter_contract.py keeps this
# list equal to what suites/ actually uses. CLASSES must be classes (the suites subclass them
# or check isinstance); every other name must be callable.
# fmt: off
NAMESPACE = (
    "Layer", "Model", "Sequential", "InputSpec", "Input",
    "layers.Dense", "layers.Dropout", "layers.BatchNormalization", "layers.Concatenate",
    "layers.Embedding", "layers.GaussianDropout", "layers.GaussianNoise",
    "ops.add", "ops.concatenate", "ops.is_tensor", "ops.matmul", "ops.multiply", "ops.relu",
    "optimizers.SGD",
)
# fmt: on
CLASSES = ("Layer", "Model", "InputSpec")

# capability -> what it means; CAPABILITY_NEEDS: what an adapter declaring it must provide
# (adapter methods by name, namespace attributes as "namespace:<dotted name>").
# Training and inference are separate: a backend that predicts but cannot train (Keras on
# numpy, on OpenVINO) declares "inference" without "fit" and still has its inference checked.
CAPABILITIES = {
    "fit": "Model.compile / fit / train_on_batch compute a loss and update weights",
    "inference": "Model.compile / predict / evaluate / predict_on_batch / test_on_batch run the model",
    "symbolic": "calling layers on Input() tensors without data",
    "functional": "Model(inputs, outputs) built from layers called on Input() tensors",
    "compiled": "running a layer call in a compiled/graph mode (compiled_call)",
    "gradients": "recording a call for differentiation, as a custom training loop does (recorded_call)",
}
CAPABILITY_NEEDS = {
    "fit": ("namespace:Model.compile", "namespace:Model.fit", "namespace:Model.train_on_batch"),
    "inference": (
        "namespace:Model.compile",
        "namespace:Model.predict",
        "namespace:Model.evaluate",
        "namespace:Model.predict_on_batch",
        "namespace:Model.test_on_batch",
    ),
    "symbolic": (),
    "functional": ("namespace:Input",),
    "compiled": ("compiled_call",),
    "gradients": ("recorded_call",),
}

# What the harness reads from an adapter, and nothing else (tests/harness/test_adapter_contract.py checks it)
ATTRIBUTES = ("name", "edition", "capabilities", "expectations", "contract_version", "key_distribution")
METHODS = ("load", "to_numpy", "is_symbolic", "set_seed", "versions", "compiled_call", "recorded_call", "free_memory")
OPTIONAL_METHODS = ("compiled_call", "recorded_call", "free_memory")


class Backend:
    """Convenience base class with the contract's defaults."""

    name: str = "unnamed"
    edition: str = "keras3"
    capabilities: frozenset = frozenset()
    expectations: pathlib.Path | None = None
    contract_version: int = CONTRACT_VERSION
    key_distribution: str | None = None

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

    def recorded_call(self, model, x, training, output_gradient):
        raise NotImplementedError(f"backend {self.name} records no gradients")

    def free_memory(self):
        pass


def provides(adapter, method_name) -> bool:
    """True if the adapter has its own optional method (not Backend's placeholder)."""
    method = getattr(type(adapter), method_name, None) or getattr(adapter, method_name, None)
    return callable(method) and method is not getattr(Backend, method_name, None)


def contract_problem(adapter) -> str | None:
    """Why the adapter cannot run under this CONTRACT_VERSION, or None."""
    declared = getattr(adapter, "contract_version", CONTRACT_VERSION)
    if declared == CONTRACT_VERSION:
        return None
    return (
        f"adapter {getattr(adapter, 'name', adapter)!r} was written for adapter contract version {declared!r}; "
        f"this layercontract implements version {CONTRACT_VERSION} (see docs/WRITING_AN_ADAPTER.md)"
    )
