"""Finding tfk-fused-batchnorm-unbiased-moving-variance (upstream-bug, tensorflow/tensorflow#55545).

tf-keras BatchNormalization takes the fused kernel (fused=True) for rank-4 inputs on axis 1 or 3
(tf_keras/src/layers/normalization/batch_normalization.py, _fused_batch_norm ->
tf.compat.v1.nn.fused_batch_norm), which updates the moving variance with the unbiased batch
variance (times n/(n-1)); the non-fused path (rank 2) uses the biased variance. Reported as
tensorflow/tensorflow#55545 (closed as stalled, not fixed).

Clause:   TRAIN.BN_MOVING_UPDATE (MUST)
Backends: tf-keras (import tf_keras; KERAS_BACKEND is ignored)
Holds:    tf-keras 2.21.0 (no `when`)
Exit:     1 while the finding holds, 0 once fixed, 2 if it cannot run here.
"""

import os
import sys

import numpy as np

FINDING = "tfk-fused-batchnorm-unbiased-moving-variance"


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
x = np.random.default_rng(0).standard_normal((2, 3, 5, 2)).astype("float32")  # n = 30 per channel
bn = tf_keras.layers.BatchNormalization(momentum=0.99)
bn(x, training=True)
moving = np.asarray(bn.moving_variance)
biased = x.reshape(-1, 2).var(axis=0)
n = 30
expected = 0.99 * 1.0 + 0.01 * biased
unbiased = 0.99 * 1.0 + 0.01 * biased * n / (n - 1)
holds = not np.allclose(moving, expected, rtol=1e-5, atol=1e-6)
_verdict(
    "TRAIN.BN_MOVING_UPDATE (MUST)",
    "Each training call updates moving = momentum * moving + (1 - momentum) * batch for the mean "
    "and the biased variance.",
    [
        f"rank-4 input (2, 3, 5, 2), one training call: moving variance {moving.round(6).tolist()}; "
        f"with the biased variance {expected.round(6).tolist()}, with the unbiased (x {n}/{n - 1}) "
        f"{unbiased.round(6).tolist()}"
    ],
    holds,
)
