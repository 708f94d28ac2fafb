"""Finding k3-concat-rank-mismatch-unchecked (upstream-bug, not reported upstream).

Keras 3 Concatenate.build() (keras/src/layers/merging/concatenate.py) drops the concatenation axis
from each input shape only when the shape is long enough and never compares ranks, so
[(2, 3), (2, 3, 5)] on axis 2 (both reduce to (2, 3)) and [(2, 3, 4), (2, 3, 4, 1)] on axis 3 pass
the shape check; the backend's concatenate op then fails with its own error type (TypeError on jax
for one order, IndexError/RuntimeError on torch, InvalidArgumentError on tensorflow, RuntimeError on
openvino). keras-numpy is unaffected in effect: numpy's own error is a ValueError.

Clause:   MULTI.CONCAT_SHAPE_MISMATCH (MUST)
Backends: keras-tensorflow, keras-jax, keras-torch, keras-openvino (KERAS_BACKEND; numpy runs as a control)
Holds:    every Keras 3 release from 3.7.0 and keras-nightly 3.16.0.dev2026102704 (no `when`)
Exit:     1 while the finding holds, 0 once fixed, 2 if it cannot run here.
"""
FINDING = "k3-concat-rank-mismatch-unchecked"
import os
import sys


def _keras(backends):
    """Import Keras 3 on the backend KERAS_BACKEND names; exit 2 where this reproducer cannot run."""
    name = os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    if name not in backends:
        print(f"cannot run: KERAS_BACKEND={name!r}; this reproducer runs on {', '.join(sorted(backends))}")
        sys.exit(2)
    try:
        import keras
        if keras.backend.backend() != name:
            raise RuntimeError(f"keras loaded backend {keras.backend.backend()!r}")
    except Exception as e:  # noqa: BLE001 - any import failure means: cannot run here
        print(f"cannot run: keras does not load on {name}: {type(e).__name__}: {e}")
        sys.exit(2)
    print(f"keras {keras.__version__}, backend {name}")
    return keras


def _verdict(clause, statement, observations, holds):
    """Print the clause against what was observed; exit 1 while the finding holds, 0 once fixed."""
    print(f"clause {clause}: {statement}")
    for line in observations:
        print(f"  observed: {line}")
    print(f"finding {FINDING}: {'HOLDS' if holds else 'does not hold (fixed here)'}")
    sys.exit(1 if holds else 0)


import numpy as np

keras = _keras({"tensorflow", "jax", "torch", "numpy", "openvino"})
observations, holds = [], False
for axis, shapes in [(2, [(2, 3), (2, 3, 5)]), (2, [(2, 3, 5), (2, 3)]), (3, [(2, 3, 4), (2, 3, 4, 1)])]:
    try:
        keras.layers.Concatenate(axis=axis)([np.ones(s, dtype="float32") for s in shapes])
        got = "no error"
    except ValueError as e:
        got = None
        observations.append(f"axis={axis}, shapes {shapes}: ValueError ({str(e).splitlines()[0][:100]})")
    except Exception as e:  # noqa: BLE001 - the finding: an error of another type
        got = f"{type(e).__name__}: {str(e).splitlines()[0][:100] if str(e) else ''}"
    if got is not None:
        holds = True
        observations.append(f"axis={axis}, shapes {shapes}: {got} (expected ValueError naming the shapes)")
_verdict("MULTI.CONCAT_SHAPE_MISMATCH (MUST)",
         "Concatenate raises ValueError naming the received shapes when inputs differ on an axis other "
         "than the concatenation axis, or in rank.", observations, holds)
