"""layercontract: an executable specification and conformance suite for the Keras layer/model
contract.

One import root, laid out in the checkout as it is imported:

    layercontract.spec            the clauses, their renderer, the harness
    layercontract.suites          the checks, one module per area
    layercontract.reference_impl  the contract in plain numpy, and its faults
    layercontract.backends        the built-in adapters and their expectations
    layercontract.reports         run records, merged reports, diffs
"""

from importlib import metadata as _metadata

try:
    __version__ = _metadata.version("layercontract")
except _metadata.PackageNotFoundError:  # imported from a checkout that was never installed
    __version__ = "0+unknown"
