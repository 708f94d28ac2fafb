"""Finding tfk-concat-build-index-error (upstream-bug, not reported upstream).

tf-keras Concatenate.build() (tf_keras/src/layers/merging/concatenate.py) runs
`del reduced_inputs_shapes[i][self.axis]` on each input shape before it compares ranks, so an input too short to have the axis raises
IndexError ('list assignment index out of range') before the intended ValueError.

Clause:   MULTI.CONCAT_SHAPE_MISMATCH (MUST)
Backends: tf-keras (import tf_keras; KERAS_BACKEND is ignored)
Holds:    tf-keras 2.21.0 (no `when`)
Exit:     1 while the finding holds, 0 once fixed, 2 if it cannot run here.
"""

import os
import sys

import numpy as np

FINDING = "tfk-concat-build-index-error"


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
observations, holds = [], False
for axis, shapes in [(2, [(2, 3), (2, 3, 5)]), (2, [(2, 3, 5), (2, 3)]), (3, [(2, 3, 4), (2, 3, 4, 1)])]:
    try:
        tf_keras.layers.Concatenate(axis=axis)([np.ones(s, dtype="float32") for s in shapes])
        got = "no error"
    except ValueError as e:
        got = None
        observations.append(f"axis={axis}, shapes {shapes}: ValueError ({str(e).splitlines()[0][:100]})")
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
