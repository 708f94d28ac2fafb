"""Issue-19 probe (standalone: plain Keras, and the shared harness _probe.py beside it)."""
from _probe import *  # noqa: F403 - keras, np, K3, case, to_np, as_tensor, exc, attempt, which, main

# Cluster 4 (keras-team/keras#19629: a model fed a tuple of (float, int32) numpy inputs receives
# the int input as float32 / float16 in Keras 3.3; Keras 2 kept it int): which elements of a
# tuple, list or dict of inputs does a layer or model cast, for numpy arrays and for backend
# tensors, under the float32 and mixed_float16 policies?

F64 = np.linspace(-1, 1, 6).reshape(2, 3)
I32 = np.arange(6, dtype="int32").reshape(2, 3)
I64 = np.arange(6, dtype="int64").reshape(2, 3)
U8 = np.arange(6, dtype="uint8").reshape(2, 3)
BOOL = (np.arange(6) % 2 == 0).reshape(2, 3)


def name(dtype):
    return keras.backend.standardize_dtype(dtype) if K3 else getattr(dtype, "name", str(dtype))


def flat(structure):
    if isinstance(structure, dict):
        return {k: name(v.dtype) for k, v in structure.items()}
    return [name(v.dtype) for v in structure]


class SeenLayer(keras.layers.Layer):
    def __init__(self, **kw):
        super().__init__(**kw)
        self.seen = None

    def call(self, inputs):
        self.seen = flat(inputs)
        return inputs["f"] if isinstance(inputs, dict) else inputs[0]


class SeenModel(keras.Model):
    """The reporter's pattern: a subclassed model taking a tuple of (float, int) inputs."""

    def __init__(self, **kw):
        super().__init__(**kw)
        self.seen = None
        self.dense = keras.layers.Dense(2)

    def call(self, inputs):
        self.seen = flat(inputs)
        first = inputs["f"] if isinstance(inputs, dict) else inputs[0]
        return self.dense(first)


def seen(cls, structure, policy):
    layer = cls(dtype=policy)
    layer(structure)
    return layer.seen


def cases_for(policy):
    as_t = as_tensor
    return {
        "numpy_tuple_float_int32": lambda: seen(SeenLayer, (F64, I32), policy),
        "numpy_list_float_int64_uint8_bool": lambda: seen(SeenLayer, [F64, I64, U8, BOOL], policy),
        "numpy_dict_float_int32": lambda: seen(SeenLayer, {"f": F64, "i": I32}, policy),
        "tensor_tuple_float_int32": lambda: seen(SeenLayer, (as_t(F64), as_t(I32)), policy),
        "model_numpy_tuple_float_int32": lambda: seen(SeenModel, (F64, I32), policy),
        "model_tensor_tuple_float_int32": lambda: seen(SeenModel, (as_t(F64), as_t(I32)), policy),
        "single_numpy_int32": lambda: seen(SeenLayer, [I32], policy),
    }


for _policy in ("float32", "mixed_float16"):
    for _name, _fn in cases_for(_policy).items():
        CASES[f"{_policy}:{_name}"] = (lambda fn: lambda: {"seen": fn()})(_fn)


if __name__ == "__main__":
    main()
