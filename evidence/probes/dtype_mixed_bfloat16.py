"""Issue-19 probe (standalone: plain Keras, and the shared harness _probe.py beside it)."""
from _probe import *  # noqa: F403 - keras, np, K3, case, to_np, as_tensor, exc, attempt, which, main

# Cluster 4. keras-team/keras#19437: GaussianDropout raises a float32 / bfloat16 mismatch under
# mixed_bfloat16 (Keras 3.1.1, tensorflow): do the noise layers (GaussianDropout, GaussianNoise)
# follow the compute dtype? tensorflow/tensorflow#42631: under mixed_bfloat16 Embedding returned
# float32 while Dense returned bfloat16 (tf 2.2): which dtype does Embedding hold and return?
# Each layer under each mixed policy, given as the layer's `dtype` and as the global policy.

X = np.random.default_rng(0).normal(size=(200, 100)).astype("float32")
IDS = np.array([[1, 2, 3], [4, 5, 0]], dtype="int32")
POLICIES = ("mixed_bfloat16", "mixed_float16")


def name(dtype):
    return keras.backend.standardize_dtype(dtype) if K3 else getattr(dtype, "name", str(dtype))


def held(variable):
    """The dtype of the array a variable holds."""
    return str(to_np(variable).dtype)


def out_dtype(y):
    return name(y.dtype)


def noise_layer(cls, rate, policy, training):
    layer = getattr(keras.layers, cls)(rate, seed=3, dtype=policy) if K3 else getattr(keras.layers, cls)(rate, dtype=policy)
    y = layer(X, training=training)
    r = {"output": out_dtype(y)}
    if training:
        v = to_np(y).astype("float64") / np.where(X == 0, 1, X) if cls == "GaussianDropout" else to_np(y).astype("float64") - X
        r["noise_mean"], r["noise_std"] = round(float(v.mean()), 3), round(float(v.std()), 3)
    return r


def embedding(policy):
    layer = keras.layers.Embedding(10, 4, dtype=policy)
    y = layer(IDS)
    dense = keras.layers.Dense(4, dtype=policy)
    z = dense(X[:2, :3])
    r = {
        "embeddings_variable": name(layer.embeddings.dtype),
        "embeddings_held": held(layer.embeddings),
        "output": out_dtype(y),
        "dense_output": out_dtype(z),
        "compute_dtype": name(layer.compute_dtype),
    }
    r["embedding_plus_dense"] = attempt(lambda: out_dtype(y[:, 0, :] + z))
    return r


def global_policy(policy, fn):
    keras.mixed_precision.set_global_policy(policy)
    try:
        return fn()
    finally:
        keras.mixed_precision.set_global_policy("float32")


for _p in POLICIES:
    for _cls, _rate in (("GaussianDropout", 0.3), ("GaussianNoise", 0.5), ("Dropout", 0.3)):
        for _training in (True, False):
            CASES[f"{_p}:{_cls}:training={_training}"] = (
                lambda c, r, p, t: lambda: noise_layer(c, r, p, t)
            )(_cls, _rate, _p, _training)
        CASES[f"{_p}:global:{_cls}:training=True"] = (
            lambda c, r, p: lambda: global_policy(p, lambda: noise_layer(c, r, None, True))
        )(_cls, _rate, _p)
    CASES[f"{_p}:Embedding"] = (lambda p: lambda: embedding(p))(_p)
    CASES[f"{_p}:global:Embedding"] = (lambda p: lambda: global_policy(p, lambda: embedding(None)))(_p)


if __name__ == "__main__":
    main()
