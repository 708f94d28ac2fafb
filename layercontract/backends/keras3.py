"""Keras 3 on one of its backends. Keras reads KERAS_BACKEND once, at its first import, so
one process checks one Keras 3 backend; asking for another one after Keras was imported is
an error, not a silent switch."""

import inspect
import os
import pathlib
import sys
import weakref

import numpy as np

from layercontract.backends._versions import installed
from layercontract.spec.harness.adapter_contract import Backend

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
                    "first import. Run each Keras backend in its own process."
                )
        os.environ["KERAS_BACKEND"] = self.keras_backend
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        import keras

        if keras.backend.backend() != self.keras_backend:
            raise KerasBackendConflict(
                f"Keras chose backend {keras.backend.backend()!r} instead of {self.keras_backend!r}"
            )
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
            x = x.detach().cpu()
            if str(x.dtype) == "torch.bfloat16":  # torch has no numpy export of bfloat16: its bits are ml_dtypes'
                import ml_dtypes
                import torch

                return x.view(torch.int16).numpy().view(ml_dtypes.bfloat16)
            x = x.numpy()
        elif hasattr(x, "numpy"):
            x = x.numpy()
        return np.array(x)

    def is_symbolic(self, x):
        return isinstance(x, self._keras.KerasTensor)

    def set_seed(self, seed):
        # keras.utils.set_random_seed seeds TensorFlow too whenever it is importable, for tf.data
        # pipelines: on another backend that imports TensorFlow into a process that never uses
        # it (keras-jax: +2.4 s of CPU and +410 MiB, measured). There TensorFlow is kept out of
        # this call only; the seeds the backend draws from (Keras's global seed and generator,
        # numpy, random, torch) are set by the same call as before.
        if self.keras_backend == "tensorflow" or "tensorflow" in sys.modules:
            self._keras.utils.set_random_seed(seed)
            return
        sys.modules["tensorflow"] = None  # its import raises ImportError
        try:
            self._keras.utils.set_random_seed(seed)
        finally:
            del sys.modules["tensorflow"]
            _forget_tensorflow_unavailable()

    def versions(self):
        found = installed("keras", "numpy", *FRAMEWORK_DISTRIBUTIONS[self.keras_backend])
        if self._keras is not None:
            # The Keras this process imported: a keras-nightly or a cached overlay of another
            # release (`keras-jax@3.12.0`) shadows the installed `keras` distribution.
            found["keras"] = self._keras.__version__
        return found


def _forget_tensorflow_unavailable() -> None:
    """Keras remembers a failed TensorFlow import (its LazyModule's `available`); after
    set_seed's kept it out, the next Keras code that asks tries the import again."""
    lazy = getattr(sys.modules.get("keras.src.utils.module_utils"), "tensorflow", None)
    if lazy is not None and getattr(lazy, "_available", None) is False and getattr(lazy, "module", None) is None:
        lazy._available = None


class KerasTensorflow(Keras3):
    keras_backend = "tensorflow"
    capabilities = frozenset({"fit", "inference", "symbolic", "functional", "compiled", "gradients"})

    def compiled_call(self, layer, x, training):
        import tensorflow as tf

        # A fresh tf.function per call, as user code would write it; variables created while
        # tracing (a first call builds the layer) are allowed on the first trace.
        return self.to_numpy(tf.function(lambda t: layer(t, training=training))(x))

    def recorded_call(self, model, x, training, output_gradient):
        import tensorflow as tf

        from layercontract.backends.tf_keras import _tape_call

        return _tape_call(tf, self.to_numpy, model, x, training, output_gradient)


ENV_COMPILE_CACHE = "LAYERCONTRACT_COMPILE_CACHE"


CACHE_VERIFIED_JAX = (0, 10)  # the persistent compilation cache is used from this jax on


def _version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(".")[:2] if part.isdigit())


def compile_cache_dir(framework: str) -> pathlib.Path | None:
    """Where a framework keeps the programs it compiled for the suites, across processes and
    runs: <root>/<framework>-<its version>/, the root being $LAYERCONTRACT_COMPILE_CACHE ("",
    "0" or "off": no cache) or else the layercontract user cache directory's compiled/ (next to
    the Keras overlays of spec/harness/overlay.py). A CI cache can carry the root between runs."""
    configured = os.environ.get(ENV_COMPILE_CACHE)
    if configured is not None and configured.strip().lower() in ("", "0", "off", "false", "no"):
        return None
    if configured is not None:
        root = pathlib.Path(configured).expanduser()
    else:
        from layercontract.spec.harness import overlay

        root = overlay.cache_root().parent / "compiled"
    version = installed(framework).get(framework) or "unknown"
    return root / f"{framework}-{version}"


class KerasJax(Keras3):
    keras_backend = "jax"
    capabilities = frozenset({"fit", "inference", "symbolic", "functional", "compiled", "gradients"})

    def load(self):
        # jax compiles every jnp op per input shape and every fit/predict step function, and
        # free_memory() drops the compiled executables after each module (for peak RSS). The
        # persistent compilation cache (on disk, keyed by the program, the compile options and
        # jax/jaxlib's versions) makes each of those compilations a file read, within a run and
        # across runs; the executables are the ones XLA compiled, so no check sees a difference.
        # No size bound: a bound switches on jax's LRU eviction, which stats every entry on each
        # write (quadratic in the entries; the suites write ~700, ~5 MB, per jax version).
        # Only on the jax it was verified with: an older jax (0.5.3, run by hand for Keras < 3.10)
        # returned wrong predict results from a filled cache, intermittently.
        cache = compile_cache_dir("jax") if "keras" not in sys.modules else None
        if cache is not None:
            import jax

            if _version_tuple(jax.__version__) < CACHE_VERIFIED_JAX:
                cache = None
        if cache is not None:
            jax.config.update("jax_compilation_cache_dir", str(cache))
            jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
            jax.config.update("jax_persistent_cache_min_entry_size_bytes", -1)
        return super().load()

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

    def recorded_call(self, model, x, training, output_gradient):
        # keras.io "Writing a training loop from scratch in JAX": the step differentiates
        # stateless_call with respect to the trainable values and writes back the non-trainable
        # values it returns (BatchNormalization's statistics).
        import jax
        import jax.numpy as jnp

        trainable = [v.value for v in model.trainable_variables]
        non_trainable = [v.value for v in model.non_trainable_variables]
        kwargs = {}
        if training is not None and "training" in inspect.signature(model.call).parameters:
            kwargs["training"] = training

        def forward(trainable):
            return model.stateless_call(trainable, non_trainable, jnp.asarray(x), **kwargs)

        out, vjp, new_non_trainable = jax.vjp(forward, trainable, has_aux=True)
        (grads,) = vjp(jnp.asarray(output_gradient, dtype=out.dtype))
        for variable, value in zip(model.non_trainable_variables, new_non_trainable):
            variable.assign(value)
        return self.to_numpy(out), [self.to_numpy(g) for g in grads]

    def free_memory(self):
        # jax keeps every executable it compiles (one per jitted function - jnp's own included -
        # and input shapes/dtypes) in process-wide caches bounded only by entry counts (2048 to
        # 4096 each); the suites' generated shapes grew a run to ~1 GB of them. Clearing them
        # costs recompilations in the next module, nothing else.
        import jax

        jax.clear_caches()


class KerasTorch(Keras3):
    keras_backend = "torch"
    capabilities = frozenset({"fit", "inference", "symbolic", "functional", "gradients"})

    def recorded_call(self, model, x, training, output_gradient):
        import torch

        y = model(x, training=training)
        weights = [v.value for v in model.trainable_variables]
        grads = torch.autograd.grad(
            y, weights, grad_outputs=torch.as_tensor(output_gradient, dtype=y.dtype, device=y.device), allow_unused=True
        )
        return self.to_numpy(y), [
            np.zeros(tuple(w.shape), dtype="float32") if g is None else self.to_numpy(g) for w, g in zip(weights, grads)
        ]


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

    def __init__(self):
        super().__init__()
        self._converted: dict[int, tuple[weakref.ref, np.ndarray]] = {}
        self.conversions = None

    def load(self):
        # Keras's import imports jax whenever it is installed, only to patch jax's monitoring for
        # its orbax checkpoint callback (keras/src/callbacks/orbax_checkpoint.py, in a try whose
        # ImportError it ignores): 0.4 s of CPU in a process that never uses jax. Kept out of
        # that import only; a later `import jax` imports it.
        hide_jax = "keras" not in sys.modules and "jax" not in sys.modules
        if hide_jax:
            sys.modules["jax"] = None  # its import raises ImportError
        try:
            keras = super().load()
        finally:
            if hide_jax:
                del sys.modules["jax"]
        # The values of a graph compiled before, without compiling it again
        # (backends/openvino_conversions.py says when that is the same).
        from layercontract.backends import openvino_conversions

        core = sys.modules.get("keras.src.backend.openvino.core")
        if core is not None:
            self.conversions = openvino_conversions.install(core)
        return keras

    def to_numpy(self, x):
        # Eager values are OpenVINOKerasTensor (a wrapper of an ov.Output) and Variables holding
        # one; both define __array__ without numpy 2's `copy` keyword, so np.array(x) would take
        # the deprecated path. The backend's own exporter (ops.convert_to_numpy -> openvino
        # core.convert_to_numpy) reads a constant's data or compiles and runs a one-result model
        # (~15 ms of CPU each, most of this backend's run). A tensor never changes, so a second
        # conversion of the same one (a check reading an output twice) gets a copy of the first's
        # values instead of compiling its model again.
        if isinstance(x, self._keras.Variable):
            x = x.value
        if isinstance(x, (np.ndarray, np.generic, bool, int, float)):
            return np.asarray(x)
        key = id(x)
        found = self._converted.get(key)
        if found is not None and found[0]() is x:
            return found[1].copy()
        value = np.asarray(self._keras.ops.convert_to_numpy(x))
        try:
            ref = weakref.ref(x, lambda _ref: self._converted.pop(key, None))
        except TypeError:  # not weakly referenceable: never kept
            return value
        self._converted[key] = (ref, value.copy())
        return value
