"""--fault NAME: the run checks the reference implementation with that one fault switched on
(reference_impl/faults/) instead of the chosen backend."""

from __future__ import annotations

import pytest


def faulty_adapter(config, adapter):
    """The adapter a run checks: the reference with --fault's fault, else `adapter`."""
    fault = config.getoption("fault")
    if not fault:
        return adapter
    from layercontract.reference_impl import faults  # only for fault runs: the reference's own modules

    try:
        return faults.FaultyReference(fault)
    except faults.UnknownFault as e:
        raise pytest.UsageError(str(e)) from None
