"""Issue-19 probe (standalone: plain Keras, and the shared harness _probe.py beside it)."""
from _probe import *  # noqa: F403 - keras, np, K3, case, to_np, as_tensor, exc, attempt, which, main

# Cluster 4 (keras-team/keras#15226: with set_floatx('float64') and InputSpec(dtype='float64') a
# custom layer rejects its input, 'expected dtype=float64, found float32'; with a float32 spec,
# the opposite): which dtype does the InputSpec check see, the input's own or the one autocast
# gives it? Under set_floatx('float64') (the reporter's way) and with a layer's dtype="float64";
# numpy inputs of both dtypes, directly and inside a Sequential (the reporter's model).


class Spec(keras.layers.Layer):
    def __init__(self, spec_dtype, **kw):
        super().__init__(**kw)
        self.input_spec = keras.layers.InputSpec(dtype=spec_dtype)
        self.seen = None

    def call(self, x):
        self.seen = keras.backend.standardize_dtype(x.dtype) if K3 else x.dtype.name
        return x


def outcome(layer, x, wrap_in_sequential):
    target = keras.Sequential([layer]) if wrap_in_sequential else layer
    try:
        target(x)
        return {"accepted": True, "call_saw": layer.seen, "compute_dtype": str(layer.compute_dtype)}
    except ValueError as e:
        return {"accepted": False, **exc(e)}


def grid(layer_dtype, wrap):
    out = {}
    for spec in ("float64", "float32"):
        for given in ("float32", "float64"):
            out[f"spec={spec},input={given}"] = attempt(
                lambda: outcome(Spec(spec, dtype=layer_dtype), np.ones((2, 3), dtype=given), wrap)
            )
    return out


def reset_default_policy():
    """Keras 3 derives its global dtype policy from floatx once, at the first layer, and keeps
    it: set it to the current floatx, as a script that calls set_floatx before any layer gets."""
    if K3:
        keras.config.set_dtype_policy(keras.config.floatx())


def under_floatx_float64(fn):
    keras.backend.set_floatx("float64")
    reset_default_policy()
    try:
        return fn()
    finally:
        keras.backend.set_floatx("float32")
        reset_default_policy()


@case
def set_floatx_float64_direct_call():
    return under_floatx_float64(lambda: grid(None, False))


@case
def set_floatx_float64_in_sequential():
    return under_floatx_float64(lambda: grid(None, True))


@case
def layer_dtype_float64_direct_call():
    return grid("float64", False)


@case
def default_float32_layer_direct_call():
    return grid(None, False)


if __name__ == "__main__":
    main()
