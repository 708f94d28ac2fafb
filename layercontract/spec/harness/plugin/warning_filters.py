"""The warning filters every layercontract run needs, applied by the plugin (not by an ini file,
which a run from outside the checkout does not read)."""

from __future__ import annotations

from layercontract.spec.harness.plugin.options import chosen_backend

FILTERWARNINGS = [
    # numpy 2 warns when it converts an object whose __array__ lacks `copy` (Keras Variables,
    # torch tensors). Our code must not take that path (the adapters use native exporters):
    # an error when the warning is attributed to our modules...
    "error:__array__ implementation doesn't accept a copy keyword:DeprecationWarning:layercontract(\\.|$)",
    # ...and ignored only where Keras (torch/jax backends) and torch's pytree take it internally.
    "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning:(keras\\.src\\.backend|torch\\.utils\\._pytree)",
]


class WarningFilters:
    def pytest_configure(self, config):
        if chosen_backend(config) is None:
            return
        for line in FILTERWARNINGS:
            config.addinivalue_line("filterwarnings", line)
