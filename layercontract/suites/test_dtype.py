"""DTYPE: the dtypes a layer holds, computes in, receives in `call` and returns under a
non-default dtype policy (issue 19, cluster 4; probes evidence/probes/dtype_*.py)."""

import warnings

import numpy as np
import pytest

from layercontract.spec.harness import clause
from layercontract.suites._helpers import assert_binomial, assert_binomial_between, close, dtype_name, tolerance

MOMENTUM = 0.99


def _held(backend, variable):
    """The dtype of the array a variable holds (a backend may label it otherwise)."""
    return dtype_name(backend.to_numpy(variable).dtype)


def _probe_class(K, backend):
    """A layer with one weight `w` of ones: records the dtype of the `x` its call receives and of
    `x * w` (the weight as call reads it), and returns `x * w`."""

    class Probe(K.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.seen, self.products = [], []

        def build(self, input_shape):
            self.w = self.add_weight(shape=(input_shape[-1],), initializer="ones", name="w")

        def call(self, x):
            product = K.ops.multiply(x, self.w)
            if not backend.is_symbolic(x):
                self.seen.append(dtype_name(x.dtype))
                self.products.append(dtype_name(product.dtype))
            return product

    return Probe


# 1 + 1e-12 is 1.0 in float32: a float64 result that equals it was computed in float64
TINY = np.array([[1 + 1e-12]], dtype="float64")


@clause("DTYPE.LAYER_DTYPE_HONOURED")
@pytest.mark.parametrize("input_dtype", ["float32", "float64"])
def test_float64_dense_holds_computes_and_returns_float64(K, backend, input_dtype):
    layer = K.layers.Dense(1, dtype="float64", kernel_initializer="ones", bias_initializer="zeros")
    x = TINY.astype(input_dtype)
    y = backend.to_numpy(layer(x))
    assert _held(backend, layer.kernel) == "float64", (
        f"Dense(dtype='float64') holds its kernel as {_held(backend, layer.kernel)}"
    )
    assert dtype_name(y.dtype) == "float64", (
        f"Dense(dtype='float64') returned {dtype_name(y.dtype)} for a {input_dtype} input"
    )
    close(
        y,
        x.astype("float64"),
        **tolerance("DTYPE.LAYER_DTYPE_HONOURED"),
        what=f"Dense(dtype='float64'), kernel 1, bias 0, on {x[0, 0]!r} ({input_dtype}): not computed in float64",
    )


@clause("DTYPE.LAYER_DTYPE_HONOURED")
@pytest.mark.parametrize("input_dtype", ["float32", "float64"])
def test_float64_custom_layer_receives_and_returns_float64(K, backend, input_dtype):
    layer = _probe_class(K, backend)(dtype="float64")
    x = TINY.astype(input_dtype)
    y = backend.to_numpy(layer(x))
    assert _held(backend, layer.w) == "float64", (
        f"a layer with dtype='float64' holds its weight as {_held(backend, layer.w)}"
    )
    assert layer.seen[-1] == "float64", (
        f"a layer with dtype='float64' received a {input_dtype} input as {layer.seen[-1]} in call"
    )
    assert dtype_name(y.dtype) == "float64", f"a layer with dtype='float64' returned {dtype_name(y.dtype)}"
    close(
        y,
        x.astype("float64"),
        **tolerance("DTYPE.LAYER_DTYPE_HONOURED"),
        what=f"x * w (w = 1) in a dtype='float64' layer on {x[0, 0]!r} ({input_dtype}): not computed in float64",
    )


@clause("DTYPE.UNHONOURED_DTYPE_SAYS_SO")
def test_a_float64_layer_that_is_not_float64_says_so(K, backend):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            layer = K.layers.Dense(1, dtype="float64", kernel_initializer="ones", bias_initializer="zeros")
            y = backend.to_numpy(layer(TINY))
            held = _held(backend, layer.kernel)
        except Exception as exc:  # an error is a way of saying so, if it names the dtype
            assert "float64" in str(exc), f"Dense(dtype='float64') raised without naming float64: {exc}"
            return
    atol = tolerance("DTYPE.UNHONOURED_DTYPE_SAYS_SO")["atol"]
    honoured = held == "float64" and dtype_name(y.dtype) == "float64" and abs(float(y[0, 0]) - TINY[0, 0]) <= atol
    said = [str(w.message) for w in caught if "float64" in str(w.message)]
    assert honoured or said, (
        f"Dense(dtype='float64') silently holds its kernel as {held} and returns {dtype_name(y.dtype)} "
        f"{float(y[0, 0])!r} for 1 + 1e-12, with no warning naming float64"
    )


@clause("DTYPE.MIXED_POLICY")
@pytest.mark.parametrize("input_dtype", ["float32", "float64"])
def test_mixed_float16_layer_keeps_float32_variables_and_computes_in_float16(K, backend, input_dtype):
    Probe = _probe_class(K, backend)
    mixed, after = Probe(dtype="mixed_float16"), Probe(dtype="float32")
    x = np.linspace(-2, 2, 12).reshape(3, 4).astype(input_dtype)
    y = mixed(x)
    assert _held(backend, mixed.w) == "float32", f"a mixed_float16 layer holds its weight as {_held(backend, mixed.w)}"
    assert mixed.seen[-1] == "float16", f"a mixed_float16 layer received a {input_dtype} input as {mixed.seen[-1]}"
    assert mixed.products[-1] == "float16", (
        f"x * w in a mixed_float16 layer's call is {mixed.products[-1]}: the weight was not read as float16"
    )
    assert dtype_name(backend.to_numpy(y).dtype) == "float16", (
        f"a mixed_float16 layer returned {dtype_name(backend.to_numpy(y).dtype)}"
    )
    dense = K.layers.Dense(2, dtype="mixed_float16")
    out = dense(x)
    assert _held(backend, dense.kernel) == "float32", (
        f"Dense(dtype='mixed_float16') holds its kernel as {_held(backend, dense.kernel)}"
    )
    assert _held(backend, dense.bias) == "float32", (
        f"Dense(dtype='mixed_float16') holds its bias as {_held(backend, dense.bias)}"
    )
    assert dtype_name(backend.to_numpy(out).dtype) == "float16", (
        f"Dense(dtype='mixed_float16') returned {dtype_name(backend.to_numpy(out).dtype)}"
    )
    after(out)
    assert after.seen[-1] == "float32", f"a float32 layer received a mixed_float16 layer's output as {after.seen[-1]}"


@clause("DTYPE.MIXED_BATCHNORM")
def test_mixed_float16_batchnorm_keeps_float32_statistics_and_returns_float16(K, backend):
    bn = K.layers.BatchNormalization(dtype="mixed_float16")
    x = (np.random.default_rng(0).standard_normal((64, 3)) * 3 + 2).astype("float32")
    trained = backend.to_numpy(bn(x, training=True))
    for name in ("gamma", "beta", "moving_mean", "moving_variance"):
        assert _held(backend, getattr(bn, name)) == "float32", (
            f"BatchNormalization(dtype='mixed_float16') holds {name} as {_held(backend, getattr(bn, name))}"
        )
    # what the layer sees: the input autocast to float16, then normalised in float32
    seen = x.astype("float16").astype("float64")
    tol = tolerance("DTYPE.MIXED_BATCHNORM")
    close(
        backend.to_numpy(bn.moving_mean),
        (1 - MOMENTUM) * seen.mean(axis=0),
        **tol,
        what="moving mean after one training call under mixed_float16",
    )
    close(
        backend.to_numpy(bn.moving_variance),
        MOMENTUM + (1 - MOMENTUM) * seen.var(axis=0),
        **tol,
        what="moving variance after one training call under mixed_float16",
    )
    inferred = backend.to_numpy(bn(x, training=False))
    assert dtype_name(trained.dtype) == "float16", (
        f"mixed_float16 BatchNormalization returned {trained.dtype} in training"
    )
    assert dtype_name(inferred.dtype) == "float16", (
        f"mixed_float16 BatchNormalization returned {inferred.dtype} in inference"
    )


@clause("DTYPE.MIXED_DROPOUT")
def test_mixed_float16_dropout_drops_at_its_rate_in_float16(K, backend):
    rate = 0.3
    backend.set_seed(1234)
    layer = K.layers.Dropout(rate, seed=5, dtype="mixed_float16")
    x = np.ones((200, 100), dtype="float32")
    trained = backend.to_numpy(layer(x, training=True))
    inferred = backend.to_numpy(layer(x, training=False))
    assert dtype_name(trained.dtype) == "float16", f"mixed_float16 Dropout returned {trained.dtype} in training"
    assert dtype_name(inferred.dtype) == "float16", f"mixed_float16 Dropout returned {inferred.dtype} in inference"
    assert_binomial(int((trained == 0).sum()), trained.size, rate, "zeros of mixed_float16 Dropout(0.3)")
    close(
        trained[trained != 0],
        np.full(int((trained != 0).sum()), 1 / (1 - rate)),
        **tolerance("DTYPE.MIXED_DROPOUT"),
        what="kept values of mixed_float16 Dropout(0.3): not 1/(1 - rate)",
    )


# ------------------------------------------------ noise layers and Embedding under mixed policies
MIXED = {"mixed_float16": "float16", "mixed_bfloat16": "bfloat16"}
# Units in the last place of each compute dtype at 1 (float16: 10 fraction bits, bfloat16: 7)
EPSILON = {"float16": 2.0**-10, "bfloat16": 2.0**-7}
NOISE_SHAPE = (200, 100)


def _outside_one_sd_probability_range(dtype, threshold, sd):
    """The probabilities P(|y - 2| > sd) can take when y is 2 + N(0, sd^2) rounded to `dtype` and
    its noise drawn in `dtype`: the threshold moved by four units in the last place at `threshold`
    either way (a format rounds the noise, the product or sum, and the comparison value)."""
    from scipy import stats

    ulp = EPSILON[dtype] * 2.0 ** np.floor(np.log2(threshold))
    shift = 4 * ulp / sd
    return 2 * stats.norm.sf(1 + shift), 2 * stats.norm.sf(1 - shift)


@clause("DTYPE.MIXED_NOISE")
@pytest.mark.parametrize("policy", sorted(MIXED))
@pytest.mark.parametrize("kind", ["GaussianDropout", "GaussianNoise"])
def test_noise_layers_under_a_mixed_policy_noise_in_the_compute_dtype(K, backend, kind, policy):
    compute = MIXED[policy]
    backend.set_seed(1234)
    if kind == "GaussianDropout":
        rate = 0.3
        layer, sd = K.layers.GaussianDropout(rate, seed=5, dtype=policy), 2 * np.sqrt(rate / (1 - rate))
    else:
        stddev = 0.5
        layer, sd = K.layers.GaussianNoise(stddev, seed=5, dtype=policy), stddev
    x = np.full(NOISE_SHAPE, 2.0, dtype="float32")  # 2 is exact in every format
    inferred = layer(x, training=False)
    assert dtype_name(inferred.dtype) == compute, (
        f"{kind}(dtype={policy!r}) returned {dtype_name(inferred.dtype)} in inference"
    )
    np.testing.assert_array_equal(
        backend.to_numpy(inferred).astype("float64"), 2.0, err_msg=f"{kind} in inference is not the identity"
    )
    trained = layer(x, training=True)
    assert dtype_name(trained.dtype) == compute, (
        f"{kind}(dtype={policy!r}) returned {dtype_name(trained.dtype)} in training"
    )
    y = backend.to_numpy(trained).astype("float64")
    p_low, p_high = _outside_one_sd_probability_range(compute, 2 + sd, sd)
    assert_binomial_between(
        int((np.abs(y - 2) > sd).sum()),
        y.size,
        p_low,
        p_high,
        f"outputs of {kind}(dtype={policy!r}) in training more than one noise standard deviation ({sd:.4f}) from 2",
    )


@clause("DTYPE.MIXED_EMBEDDING")
@pytest.mark.parametrize("policy", sorted(MIXED))
def test_embedding_under_a_mixed_policy_keeps_a_float32_table_and_returns_the_compute_dtype(K, backend, policy):
    compute = MIXED[policy]
    ids = np.array([[1, 2, 3], [4, 5, 0]], dtype="int32")
    embedding = K.layers.Embedding(10, 4, dtype=policy)
    out = embedding(ids)
    assert _held(backend, embedding.embeddings) == "float32", (
        f"Embedding(dtype={policy!r}) holds its table as {_held(backend, embedding.embeddings)}"
    )
    assert dtype_name(out.dtype) == compute, f"Embedding(dtype={policy!r}) returned {dtype_name(out.dtype)}"
    table = backend.to_numpy(embedding.embeddings).astype("float64")
    close(
        backend.to_numpy(out).astype("float64"),
        table[ids],
        **tolerance("DTYPE.MIXED_EMBEDDING"),
        what=f"Embedding(dtype={policy!r}) output: not the table's rows",
    )
    dense = K.layers.Dense(4, dtype=policy)
    total = K.ops.add(out, dense(np.ones((2, 3, 2), dtype="float32")))
    assert dtype_name(total.dtype) == compute, (
        f"an Embedding output plus a Dense output, both dtype={policy!r}, is {dtype_name(total.dtype)}"
    )
