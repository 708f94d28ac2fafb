"""layercontract: an executable specification and conformance suite for the Keras layer/model
contract.

One import root, laid out in the checkout as it is imported:

    layercontract.spec            the clauses, their renderer, the harness
    layercontract.suites          the checks, one module per area
    layercontract.reference_impl  the contract in plain numpy, and its faults
    layercontract.backends        the built-in adapters and their expectations
    layercontract.reports         run records, merged reports, diffs
"""


def __getattr__(name: str) -> str:
    """`__version__`, the installed distribution's, read on first use: importing importlib.metadata
    was a fifth of a refused command's CPU time."""
    if name != "__version__":
        raise AttributeError(f"module 'layercontract' has no attribute {name!r}")
    from importlib import metadata

    try:
        version = metadata.version("layercontract")
    except metadata.PackageNotFoundError:  # imported from a checkout that was never installed
        version = "0+unknown"
    globals()["__version__"] = version
    return version
