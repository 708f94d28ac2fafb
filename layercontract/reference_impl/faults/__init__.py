"""Named faults for the reference backend: mutation testing of the conformance suites.

Each fault is one realistic mistake of the kind Keras, tf-keras and Keras ports have shipped
(or that porting from PyTorch / TF 1.x invites), written as a small function that monkeypatches
`reference_impl`: it replaces or wraps one method or function. The reference code itself stays
clean: it has no fault branches. Most faults are *edits*: the patched method is re-compiled from
the reference's own source with one textual change (`_rewrite`), so each fault reads like a
one-line diff, and a fault whose edit site has gone from the reference fails loudly
(`FaultSiteError`) instead of silently patching nothing.

    python -m pytest suites --fault dropout_not_rescaled     # the suites must fail

`FAULTS` maps each name to a `Fault`: its one-line description, the clauses it must break
(`targets`; tests/reference_impl/test_faults.py checks that each of them fails), an optional pointer to where
the mistake comes from (`upstream`), and `apply()`. Faults are applied once, in the process that
runs the suites, by `FaultyReference.load()`. `reset()` undoes the active fault.

`NO_FAULT_APPLIES` names the clauses no fault targets, with the reason; every other clause of
spec/clauses.toml is the target of at least one fault. `KNOWN_SURVIVORS` are realistic
faults the suites do not catch yet: each names the check that is too weak.
"""

from layercontract.reference_impl.faults._machinery import (  # noqa: F401  (the public API)
    FAULTS,
    KNOWN_SURVIVORS,
    NO_FAULT_APPLIES,
    Fault,
    FaultSiteError,
    FaultyReference,
    UnknownFault,
    active,
    fault,
    get,
    reset,
)

# One module per area; importing them registers their faults in FAULTS / KNOWN_SURVIVORS.
from layercontract.reference_impl.faults import (  # noqa: E402,F401
    call,
    build,
    input,
    train_dropout,
    train_batchnorm,
    train_propagation,
    train_fit,
    train_functional,
    multi,
    symbolic,
    dtype,
    train_entry_points,
)
