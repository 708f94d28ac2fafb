"""Finding tfk-symbolic-input-spec-not-rechecked (design).

tf-keras does not re-check a built layer's InputSpec when it is called on a symbolic `Input` during
functional construction (tf_keras/src/engine/base_layer.py: _functional_construction_call ->
_infer_output_signature checks it only in _maybe_build, i.e. while the layer is unbuilt): a Dense built for 5 features called on Input(shape=(4,)) fails in MatMul shape inference
("Dimensions must be equal, but are 4 and 5 for MatMul") instead of with the InputSpec message
(input index, axis -1, expected and received values). Eager calls are checked.

Clause:   INPUT.SYMBOLIC_CHECKED (MUST)
Backends: tf-keras (import tf_keras; KERAS_BACKEND is ignored)
Holds:    tf-keras 2.21.0 (no `when`)
Exit:     1 while the finding holds, 0 once fixed, 2 if it cannot run here.
"""

import os
import sys

import numpy as np

FINDING = "tfk-symbolic-input-spec-not-rechecked"


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
dense = tf_keras.layers.Dense(2)
dense(np.ones((1, 5), dtype="float32"))  # built for 5 features
try:
    dense(tf_keras.Input(shape=(4,)))
    message = "no error"
except ValueError as e:
    message = str(e)
first = " ".join(message.split())[:240]
holds = "axis -1" not in message
_verdict(
    "INPUT.SYMBOLIC_CHECKED (MUST)",
    "The same checks apply to symbolic inputs (`Input`) with a None batch, and the message shows the shape with None.",
    [
        f"Dense built on (1, 5), called on Input(shape=(4,)): {first!r} "
        f"(expected the InputSpec message: input 0, axis -1, value 5, shape (None, 4))"
    ],
    holds,
)
