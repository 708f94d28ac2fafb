"""Finding k3-concat-rank-mismatch-unchecked (upstream-bug, not reported upstream).

Keras 3 Concatenate.build() (keras/src/layers/merging/concatenate.py) drops the concatenation axis
from each input shape only when the shape is long enough and never compares ranks, so
[(2, 3), (2, 3, 5)] on axis 2 (both reduce to (2, 3)) and [(2, 3, 4), (2, 3, 4, 1)] on axis 3 pass
the shape check; the backend's concatenate op then fails with its own error: another type
(TypeError on jax for one order, IndexError/RuntimeError on torch, InvalidArgumentError on
tensorflow, RuntimeError on openvino), or a ValueError whose own message shows no shape (numpy's
AxisError '2' and 'all the input arrays must have same number of dimensions ...', jax's 'axis 2 is
out of bounds for array of dimension 2'). Only Keras's call wrapper ('Arguments received by
Concatenate.call(): inputs=[...]') echoes the shapes; the clause asks the rejection itself to name
them, so the message is read without that wrapper, as the suite's checks read it.

Clause:   MULTI.CONCAT_SHAPE_MISMATCH (MUST)
Backends: keras-tensorflow, keras-jax, keras-torch, keras-numpy, keras-openvino (KERAS_BACKEND)
Holds:    every Keras 3 release from 3.7.0 and keras-nightly 3.16.0.dev2026102704 (no `when`)
Exit:     1 while the finding holds, 0 once fixed, 2 if it cannot run here.
"""

import os
import re
import sys

import numpy as np

FINDING = "k3-concat-rank-mismatch-unchecked"


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


# A call wrapper's frame: "Exception encountered when calling X. <own message> Arguments received by X: ..."
_WRAPPER = re.compile(
    r"^Exception encountered when calling (?P<who>.+?)\.\s+(?P<own>.*?)\s*"
    r"(?:Call arguments|Arguments) received by (?P=who):.*$",
    re.DOTALL,
)


def own_message(e):
    """The error's message without Keras's call wrapper (which echoes the arguments' shapes)."""
    message = " ".join(re.sub(r"\x1b\[[0-9;]*m", "", str(e)).split())  # without ANSI escapes
    framed = _WRAPPER.match(message)
    if framed:
        return framed.group("own").strip()
    return re.sub(r"\s*\b(?:Call arguments|Arguments) received by .*$", "", message, flags=re.DOTALL)


def shows(message, shape):
    """True if the message shows the shape: (2, 3), [2, 3]."""
    return re.search(r"[\(\[]\s*" + r"\s*,\s*".join(map(str, shape)) + r"\s*,?\s*[\)\]]", message) is not None


keras = _keras({"tensorflow", "jax", "torch", "numpy", "openvino"})
observations, holds = [], False
for axis, shapes in [(2, [(2, 3), (2, 3, 5)]), (2, [(2, 3, 5), (2, 3)]), (3, [(2, 3, 4), (2, 3, 4, 1)])]:
    try:
        keras.layers.Concatenate(axis=axis)([np.ones(s, dtype="float32") for s in shapes])
        got = "no error"
    except ValueError as e:
        own = own_message(e)
        if all(shows(own, s) for s in shapes):
            got = None
            observations.append(f"axis={axis}, shapes {shapes}: ValueError naming the shapes ({own[:100]})")
        else:
            got = f"{type(e).__name__} whose own message shows no shape: {own[:100]!r}"
    except Exception as e:  # noqa: BLE001 - the finding: an error of another type
        got = f"{type(e).__name__}: {str(e).splitlines()[0][:100] if str(e) else ''}"
    if got is not None:
        holds = True
        observations.append(f"axis={axis}, shapes {shapes}: {got} (expected ValueError naming the shapes)")
_verdict(
    "MULTI.CONCAT_SHAPE_MISMATCH (MUST)",
    "Concatenate raises ValueError naming the received shapes when inputs differ on an axis other "
    "than the concatenation axis, or in rank.",
    observations,
    holds,
)
