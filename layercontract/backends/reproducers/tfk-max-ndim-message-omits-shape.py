"""Finding tfk-max-ndim-message-omits-shape (design: one message's wording; unreported).

tf-keras tf_keras/src/engine/input_spec.py assert_input_compatibility builds the max_ndim error
without the received shape, unlike its ndim, min_ndim, axes and shape errors.

Clause:   INPUT.ERROR_FULL_SHAPE (SHOULD)
Backends: tf-keras (import tf_keras; KERAS_BACKEND is ignored)
Holds:    tf-keras 2.21.0 (no `when`)
Exit:     1 while the finding holds, 0 once fixed, 2 if it cannot run here.
"""

import os
import sys

import numpy as np

FINDING = "tfk-max-ndim-message-omits-shape"


def _tf_keras():
    """Import tf-keras (Keras 2 on TensorFlow); exit 2 where it cannot load."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        import tf_keras
    except Exception as e:  # noqa: BLE001 - any import failure means: cannot run here
        print(f"cannot run: tf_keras does not import: {type(e).__name__}: {e}")
        sys.exit(2)
    import tensorflow as tf

    print(f"tf-keras {tf_keras.__version__}, tensorflow {tf.__version__}")
    return tf_keras


def _verdict(clause, statement, observations, holds):
    """Print the clause against what was observed; exit 1 while the finding holds, 0 once fixed."""
    print(f"clause {clause}: {statement}")
    for line in observations:
        print(f"  observed: {line}")
    print(f"finding {FINDING}: {'HOLDS' if holds else 'does not hold (fixed here)'}")
    sys.exit(1 if holds else 0)


tf_keras = _tf_keras()


class Spec(tf_keras.layers.Layer):
    def __init__(self, **kwargs):
        super().__init__()
        self.input_spec = tf_keras.layers.InputSpec(**kwargs)

    def call(self, x):
        return x


messages = {}
for kind, spec, shape in [("ndim", {"ndim": 2}, (2, 3, 1)), ("max_ndim", {"max_ndim": 2}, (2, 3, 4))]:
    try:
        Spec(**spec)(np.ones(shape, dtype="float32"))
        messages[kind] = (shape, "no error")
    except ValueError as e:
        messages[kind] = (shape, str(e))
shape, message = messages["max_ndim"]
holds = str(shape) not in message
_verdict(
    "INPUT.ERROR_FULL_SHAPE (SHOULD)",
    "The ValueError also shows the full received shape, for every kind of InputSpec violation.",
    [f"{kind} violation on {s}: {m!r}" for kind, (s, m) in messages.items()],
    holds,
)
