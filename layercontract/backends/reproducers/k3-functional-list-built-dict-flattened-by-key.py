"""Finding k3-functional-list-built-dict-flattened-by-key (upstream-bug, keras-team/keras#20136).

A functional model built from a list of Inputs [a, b] computing a + 10 b, called with a dict holding
its keys plus an extra one ({"a", "aa", "b"} or {"0", "a", "b"}), uses the extra value:
keras/src/models/functional.py (3.4.0-3.6.0) Functional._standardize_inputs flattens the runtime
dict by sorted key (tree.flatten) and zips it with the declared inputs, never looking the declared
names up (the name lookup of _flatten_to_reference_inputs was removed by commit 8cb1829d1e 'Add
support for arbitrary input/output structures in Functional models', first in 3.4.0). Commit
1e8426b2f5 'Fix issue with list/dict losses' (first in 3.7.0) selects the declared names from a dict
given to a list-built model.

Clause:   INPUT.DICT_EXTRA_KEYS_IGNORED (MUST)
Backends: keras-numpy, keras-tensorflow, keras-torch (backend-independent; KERAS_BACKEND)
Holds:    keras >= 3.4.0.dev0, < 3.7.0.dev2024112603
Exit:     1 while the finding holds, 0 once fixed, 2 if it cannot run here.
"""

import os
import sys
import warnings

import numpy as np

FINDING = "k3-functional-list-built-dict-flattened-by-key"


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


keras = _keras({"tensorflow", "jax", "torch", "numpy", "openvino"})

a_in, b_in = keras.Input((1,), name="a"), keras.Input((1,), name="b")
out = keras.layers.Add()([a_in, keras.layers.Rescaling(10.0)(b_in)])  # a + 10 b
model = keras.Model([a_in, b_in], out)

A, B, EXTRA = (np.array([[v]], dtype="float32") for v in (1.0, 2.0, 300.0))
expected = 1.0 + 10 * 2.0
observations, holds = [], False
for name, feed in (("called", lambda x: model(x)), ("predict", lambda x: model.predict(x, verbose=0))):
    for extra_key in ("aa", "0"):  # sorts between a and b / before a
        x = {"a": A, "b": B, extra_key: EXTRA}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # some releases warn that the structure does not match
            got = float(np.asarray(feed(x)).reshape(-1)[0])
        ok = abs(got - expected) < 1e-4
        holds = holds or not ok
        observations.append(
            f"{name} with keys {sorted(x)}: {got:g} (a + 10 b = {expected:g})"
            + ("" if ok else ": the extra value took a declared input's place")
        )

_verdict(
    "INPUT.DICT_EXTRA_KEYS_IGNORED (MUST)",
    "A dict input holding every key the functional model needs plus keys naming no model input is "
    "accepted: the extra values are ignored and never take the place of a declared input, for a "
    "list- or dict-built model.",
    observations,
    holds,
)
