"""Finding k3-signature-default-leaks-to-siblings (upstream-bug, fixed by keras-team/keras#23166).

Keras <= 3.15.1 Layer._resolve_and_populate_arg (keras/src/layers/layer.py) writes the resolved
`training` into the call context shared by the whole call even when it came from the layer's own
`call(..., training=<default>)` signature default, so later siblings called without `training`
inherit that default (root cause of keras-team/keras-hub#2495: a Resizing layer's training=True
default put a later BatchNormalization in training mode at inference).

Clause:   TRAIN.SIGNATURE_DEFAULT_LOCAL (MUST)
Backends: keras-tensorflow, keras-jax, keras-torch, keras-numpy, keras-openvino (KERAS_BACKEND)
Holds:    keras < 3.16.0.dev0 (keras-team/keras#23166, merged 2026-07-16, in keras-nightly 3.16.0.dev)
Exit:     1 while the finding holds, 0 once fixed, 2 if it cannot run here.
"""

import os
import sys

import numpy as np

FINDING = "k3-signature-default-leaks-to-siblings"


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


def recorder(default):
    class WithDefault(keras.layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.seen = []

        if default is True:

            def call(self, x, training=True):
                self.seen.append(training)
                return x
        else:

            def call(self, x, training=None):
                self.seen.append(training)
                return x

    return WithDefault()


class Outer(keras.layers.Layer):
    """No `training` parameter: calls its children in order, none with `training`."""

    def __init__(self, children, **kwargs):
        super().__init__(**kwargs)
        self.kids = children

    def build(self, input_shape):
        pass  # nothing to build: no symbolic trace of `call`

    def call(self, x):
        for child in self.kids:
            x = child(x)
        return x


a, b = recorder(True), recorder(None)
Outer([a, b])(np.ones((2, 3), dtype="float32"))
holds = b.seen[-1] is not None
_verdict(
    "TRAIN.SIGNATURE_DEFAULT_LOCAL (MUST)",
    "A layer's own `training` signature default is not propagated: sibling and downstream layers "
    "called without `training` receive their own default (None if they have none), not the first "
    "layer's default.",
    [
        f"outer(x) without training; sibling 1 (default True) received {a.seen[-1]!r}, sibling 2 "
        f"(default None) received {b.seen[-1]!r} (expected None)"
        f"{' -> the first sibling default leaked' if holds else ''}"
    ],
    holds,
)
