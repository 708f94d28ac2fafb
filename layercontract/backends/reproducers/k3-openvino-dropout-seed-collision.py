"""Finding k3-openvino-dropout-seed-collision (upstream-bug, introduced with keras-team/keras#22293).

keras/src/backend/openvino/random.py _random_uniform clamps each seed with max(1, seed & 0x7FFFFFFF)
(added by keras-team/keras#22293, merged 2026-02-25). A Dropout's SeedGenerator state starts at
[seed, 0] and steps [0, 1] per draw (keras/src/random/seed_generator.py SeedGenerator.next), so the
first two draws (s, 0) and (s, 1) become the same OpenVINO op seeds (s, 1): the first two training
calls of a Dropout, seeded or not, draw the same mask. Not reported upstream.

Clauses:  TRAIN.DROPOUT_FRESH_MASK (MUST); also TRAIN.DROPOUT_SEEDED, TRAIN.DROPOUT_GLOBAL_SEED
Backends: keras-openvino (KERAS_BACKEND=openvino; Keras >= 3.16 moves it to the keras-openvino distribution)
Holds:    Keras releases with keras-team/keras#22293 (3.15.1 verified), no `when` recorded
Exit:     1 while the finding holds, 0 once fixed, 2 if it cannot run here.
"""

import os
import sys

import numpy as np

FINDING = "k3-openvino-dropout-seed-collision"


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


keras = _keras({"openvino"})
ones = np.ones((100, 100), dtype="float32")
observations, holds = [], False
for seed in (11, None):
    keras.utils.set_random_seed(21)
    layer = keras.layers.Dropout(0.5, seed=seed)
    masks = [keras.ops.convert_to_numpy(layer(ones, training=True)) == 0 for _ in range(3)]
    d12, d23 = int(np.sum(masks[0] != masks[1])), int(np.sum(masks[1] != masks[2]))
    holds |= d12 == 0
    observations.append(
        f"Dropout(0.5, seed={seed}): positions whose mask changed, call 1->2: {d12} of "
        f"{ones.size}, call 2->3: {d23} (about half expected for each)"
    )
_verdict(
    "TRAIN.DROPOUT_FRESH_MASK (MUST)", "Each training call of one Dropout layer draws a new mask.", observations, holds
)
