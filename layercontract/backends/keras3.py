"""Keras 3 on one of its backends. Keras reads KERAS_BACKEND once, at its first import, so
one process checks one Keras 3 backend; asking for another one after Keras was imported is
an error, not a silent switch."""
import inspect
import os
import pathlib
import sys

import numpy as np

from layercontract.backends._versions import installed
from layercontract.spec.harness.backend import Backend

EXPECTATIONS = pathlib.Path(__file__).parent / "expectations"
FRAMEWORK_DISTRIBUTIONS = {
    "tensorflow": ("tensorflow-cpu", "tensorflow"),
    "jax": ("jax", "jaxlib"),
    "torch": ("torch",),
    "numpy": (),
    "openvino": ("openvino",),
}


class KerasBackendConflict(RuntimeError):
    pass


class Keras3(Backend):
    edition = "keras3"
    keras_backend = ""  # set by subclasses

    def __init__(self):
        self.name = f"keras-{self.keras_backend}"
        self.expectations = EXPECTATIONS / f"{self.name}.toml"
        self._keras = None

    def load(self):
        if "keras" in sys.modules:
            active = sys.modules["keras"].backend.backend()
            if active != self.keras_backend:
                raise KerasBackendConflict(
                    f"Keras is already imported in this process with backend {active!r}; "
                    f"backend {self.name!r} needs KERAS_BACKEND={self.keras_backend!r} before the "
                    "first import. Run each Keras backend in its own process.")
        os.environ["KERAS_BACKEND"] = self.keras_backend
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        import keras

        if keras.backend.backend() != self.keras_backend:
            raise KerasBackendConflict(
                f"Keras chose backend {keras.backend.backend()!r} instead of {self.keras_backend!r}")
        self._keras = keras
        return keras

    def to_numpy(self, x):
        # numpy 2 warns (DeprecationWarning) when it converts an object whose __array__ lacks
        # the `copy` keyword: Keras Variables and torch tensors do. Use each framework's own
        # exporter instead of __array__: torch .detach().cpu().numpy(), TensorFlow .numpy();
        # jax arrays implement the full __array__ protocol.
        if isinstance(x, self._keras.Variable):
            x = x.value
        if hasattr(x, "detach"):
            x = x.detach().cpu().numpy()
        elif hasattr(x, "numpy"):
            x = x.numpy()
        return np.array(x)

    def is_symbolic(self, x):
        return isinstance(x, self._keras.KerasTensor)

    def set_seed(self, seed):
        self._keras.utils.set_random_seed(seed)

    def versions(self):
        found = installed("keras", "numpy", *FRAMEWORK_DISTRIBUTIONS[self.keras_backend])
        if self._keras is not None:
            # The Keras this process imported: a keras-nightly or a cached overlay of another
            # release (`keras-jax@3.12.0`) shadows the installed `keras` distribution.
            found["keras"] = self._keras.__version__
        return found


class KerasTensorflow(Keras3):
    keras_backend = "tensorflow"
    capabilities = frozenset({"fit", "inference", "symbolic", "functional", "compiled"})

    def compiled_call(self, layer, x, training):
        import tensorflow as tf

        # A fresh tf.function per call, as user code would write it; variables created while
        # tracing (a first call builds the layer) are allowed on the first trace.
        return self.to_numpy(tf.function(lambda t: layer(t, training=training))(x))


class KerasJax(Keras3):
    keras_backend = "jax"
    capabilities = frozenset({"fit", "inference", "symbolic", "functional", "compiled"})

    def compiled_call(self, layer, x, training):
        import jax

        if not layer.built:
            layer.build(tuple(x.shape))
        trainable = [v.value for v in layer.trainable_variables]
        non_trainable = [v.value for v in layer.non_trainable_variables]

        # stateless_call forwards kwargs to call() as given (no __call__ filtering): pass
        # `training` only to a call() that accepts it, as __call__ would.
        kwargs = {}
        if training is not None and "training" in inspect.signature(layer.call).parameters:
            kwargs["training"] = training

        @jax.jit
        def step(trainable, non_trainable, x):
            return layer.stateless_call(trainable, non_trainable, x, **kwargs)

        out, new_non_trainable = step(trainable, non_trainable, x)
        for variable, value in zip(layer.non_trainable_variables, new_non_trainable):
            variable.assign(value)
        return self.to_numpy(out)

    def free_memory(self):
        # jax keeps every executable it compiles (one per jitted function - jnp's own included -
        # and input shapes/dtypes) in process-wide caches bounded only by entry counts (2048 to
        # 4096 each); the suites' generated shapes grew a run to ~1 GB of them. Clearing them
        # costs recompilations in the next module, nothing else.
        import jax

        jax.clear_caches()


class KerasTorch(Keras3):
    keras_backend = "torch"
    capabilities = frozenset({"fit", "inference", "symbolic", "functional"})


class KerasNumpy(Keras3):
    keras_backend = "numpy"
    # keras/src/backend/numpy/trainer.py: fit and train_on_batch raise NotImplementedError on
    # this backend; predict, evaluate and their *_on_batch forms work.
    capabilities = frozenset({"inference", "symbolic", "functional"})


class KerasOpenvino(Keras3):
    keras_backend = "openvino"
    # Inference only: keras/src/backend/openvino/trainer.py OpenVINOTrainer.fit and
    # .train_on_batch raise NotImplementedError. Input() tensors work (compute_output_spec in
    # keras/src/backend/openvino/core.py traces calls on OpenVINO parameters). No per-call
    # compiled mode with state write-back exists (predict compiles a whole model).
    capabilities = frozenset({"inference", "symbolic", "functional"})

    def to_numpy(self, x):
        # Eager values are OpenVINOKerasTensor (a wrapper of an ov.Output) and Variables holding
        # one; both define __array__ without numpy 2's `copy` keyword, so np.array(x) would take
        # the deprecated path. The backend's own exporter (ops.convert_to_numpy -> openvino
        # core.convert_to_numpy) reads a constant's data or runs a one-result model.
        if isinstance(x, self._keras.Variable):
            x = x.value
        if isinstance(x, (np.ndarray, np.generic, bool, int, float)):
            return np.asarray(x)
        return np.asarray(self._keras.ops.convert_to_numpy(x))
