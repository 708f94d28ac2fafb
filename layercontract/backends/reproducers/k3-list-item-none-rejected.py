"""Finding k3-list-item-none-rejected (upstream-bug, fixed by keras-team/keras#21866).

Before the fix, a list input holding None for an optional item (`layer([key, None])`, the
attention-style call of keras-team/keras-core#737) never reaches `call`: Keras 3.0.x rejects the
None with "Only input tensors may be passed as positional arguments" (Layer.__call__), and later
releases crash in the build on the None item ("'NoneType' object has no attribute 'shape'",
Layer._maybe_build taking each item's shape). keras-team/keras#21866 ("Allow None inputs in
`Layer.build`") builds from the other items and passes None on.

Clause:   MULTI.LIST_ITEM_NONE (MUST)
Backends: keras-numpy (recorded), keras-tensorflow, keras-torch, keras-jax (backend-independent; KERAS_BACKEND)
Holds:    keras < 3.13 (see the finding's `when`)
Exit:     1 while the finding holds, 0 once fixed, 2 if it cannot run here.
"""

import os
import sys

import numpy as np

FINDING = "k3-list-item-none-rejected"


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


class KeyQuery(keras.layers.Layer):
    """`key, query = inputs`; a None query stands for the key."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.dense_key = keras.layers.Dense(2, kernel_initializer="ones")
        self.dense_query = keras.layers.Dense(2, kernel_initializer="ones")
        self.query_was_none = []

    def call(self, inputs):
        key, query = inputs
        self.query_was_none.append(query is None)
        return self.dense_key(key) + self.dense_query(key if query is None else query)


key = np.array([[1, -2, 0], [3, 1, -1]], dtype="float32")
layer = KeyQuery()
try:
    out = keras.ops.convert_to_numpy(layer([key, None]))
    expected = 2 * key.sum(axis=1, keepdims=True) * np.ones((1, 2), dtype="float32")
    observed = (
        f"layer([key, None]) -> {out.tolist()} (expected {expected.tolist()}); call saw None: {layer.query_was_none}"
    )
    holds = not (np.allclose(out, expected) and layer.query_was_none and all(layer.query_was_none))
except Exception as e:  # noqa: BLE001 - the rejection is what this reproducer looks for
    observed = f"layer([key, None]) raised {type(e).__name__}: {' '.join(str(e).split())[:200]}"
    holds = True
_verdict(
    "MULTI.LIST_ITEM_NONE (MUST)",
    "A list input may hold None for an optional item: `layer([x, None])` reaches `call` with None in "
    "that position, and the layer builds from the other items.",
    [observed],
    holds,
)
