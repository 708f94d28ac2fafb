"""Finding k3-add-weight-positional-name-unexplained (upstream-bug, keras-team/keras#22253).

Keras 3's Layer.add_weight takes `shape, initializer, dtype` positionally. Before keras-team/keras#22265
(first in 3.14.0), a Keras 2 style call add_weight('w', (3, 2)) bound 'w' to `shape` and (3, 2) to
`initializer` (keras/src/layers/layer.py add_weight(self, shape=None, initializer=None, ...)), so it
failed with an error about the initializer ('Could not interpret initializer identifier: (3, 2)')
or, with shape= also given, "got multiple values for argument 'shape'" (keras-team/keras#22253),
never saying that `name` must be passed as a keyword. #22265 made add_weight(*args, shape=None, ...)
detect a string first argument and say so.

Clause:   BUILD.ADD_WEIGHT_POSITIONAL.K3 (MUST)
Backends: keras-numpy, keras-tensorflow, keras-torch, keras-jax (backend-independent; KERAS_BACKEND)
Holds:    keras < 3.14.0.dev2026031204
Exit:     1 while the finding holds, 0 once fixed, 2 if it cannot run here.
"""

import os
import re
import sys

FINDING = "k3-add-weight-positional-name-unexplained"


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


class Adding(keras.layers.Layer):
    def build(self, input_shape):
        self.w = self.add_weight("w", (3, 2))  # Keras 2 style: the name first


layer = Adding()
try:
    layer.build((None, 3))
    observed, says_keyword = f"add_weight('w', (3, 2)) created {[v.shape for v in layer.weights]}", False
except (TypeError, ValueError) as e:
    message = " ".join(str(e).split())
    says_keyword = re.search(r"\bname\b", message) is not None and "keyword" in message.lower()
    observed = f"add_weight('w', (3, 2)) raised {type(e).__name__}: {message[:200]}"

_verdict(
    "BUILD.ADD_WEIGHT_POSITIONAL.K3 (MUST)",
    "A string first argument to add_weight (Keras 2's positional name) raises ValueError telling to "
    "pass `name` as a keyword, and no weight is created.",
    [observed, f"weights afterwards: {len(layer.weights)}"],
    not says_keyword or len(layer.weights) != 0,
)
