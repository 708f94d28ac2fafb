"""Finding k3-functional-dict-extra-key-takes-declared-slot (upstream-bug, keras-team/keras#23258).

A functional model built from a dict of Inputs {"a", "b"} computing a + 10 b, called with its keys
plus an extra one that sorts before a declared key ({"a", "aa", "b"}), uses the extra value:
keras/src/models/functional.py (3.15.1) Functional._standardize_inputs warns that the structure does
not match, then flattens the runtime dict (sorted keys) and zips it with the flattened declared
inputs, so "aa"'s value lands in b's slot. Fixed by keras-team/keras#23261 (plain dicts filtered to
the declared keys), merged after 3.15.1; keras-nightly 3.16.0.dev2026102704 passes.

Clause:   INPUT.DICT_EXTRA_KEYS_IGNORED (MUST)
Backends: keras-tensorflow, keras-jax, keras-torch, keras-numpy, keras-openvino (KERAS_BACKEND)
Holds:    keras < 3.16.0.dev0
Exit:     1 while the finding holds, 0 once fixed, 2 if it cannot run here.
"""

import os
import sys
import warnings

import numpy as np

FINDING = "k3-functional-dict-extra-key-takes-declared-slot"


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
model = keras.Model({"a": a_in, "b": b_in}, out)
A, B, EXTRA = (np.array([[v]], dtype="float32") for v in (1.0, 2.0, 300.0))
expected = 1.0 + 10 * 2.0
observations, holds = [], False
for name, feed in (("called", lambda x: model(x)), ("predict", lambda x: model.predict(x, verbose=0))):
    for extra_key in ("aa", "0"):  # sorts between a and b / before a
        x = {"a": A, "b": B, extra_key: EXTRA}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Keras warns that the structure does not match
            got = float(np.asarray(feed(x)).reshape(-1)[0])
        ok = abs(got - expected) < 1e-4
        holds = holds or not ok
        observations.append(
            f"{name} with keys {sorted(x)}: {got:g} (a + 10 b = {expected:g})"
            + ("" if ok else ": the extra value took a declared input's place")
        )
_verdict(
    "INPUT.DICT_EXTRA_KEYS_IGNORED (MUST)",
    "A model built from a dict of inputs ignores keys it did not declare; each declared input gets "
    "the value of its own key.",
    observations,
    holds,
)
