"""Hypothesis strategies for the suites, kept apart from the checks (as array-api-tests does).
Every draw is labelled so that a falsifying example reads clearly."""
import numpy as np
from hypothesis import strategies as st

batch_sizes = st.integers(1, 6).map(lambda n: n)
feature_sizes = st.integers(1, 6)
units = st.integers(1, 5)
momenta = st.sampled_from([0.0, 0.5, 0.9, 0.99])
epsilons = st.sampled_from([1e-5, 1e-3, 0.1])


@st.composite
def float_arrays(draw, shape, low=-3.0, high=3.0, label="x"):
    """float32 arrays with a per-draw seed (fast, and shrinks to seed 0)."""
    seed = draw(st.integers(0, 2**16), label=f"{label} seed")
    return np.random.default_rng(seed).uniform(low, high, shape).astype("float32")


@st.composite
def dense_cases(draw):
    batch = draw(batch_sizes, label="batch")
    features = draw(feature_sizes, label="features")
    n_units = draw(units, label="units")
    x = draw(float_arrays((batch, features), label="x"))
    kernel = draw(float_arrays((features, n_units), -1.0, 1.0, label="kernel"))
    bias = draw(float_arrays((n_units,), -1.0, 1.0, label="bias"))
    return x, kernel, bias


@st.composite
def batchnorm_cases(draw):
    # batch >= 2 so that the batch variance is informative; rank 2 or 3, features last
    rank = draw(st.sampled_from([2, 3]), label="rank")
    shape = tuple(draw(st.integers(2, 5), label=f"dim{i}") for i in range(rank))
    x = draw(float_arrays(shape, -5.0, 5.0, label="x"))
    return x, draw(momenta, label="momentum"), draw(epsilons, label="epsilon")


@st.composite
def concat_shapes(draw, compatible=True):
    """A concatenation axis and 2-3 input shapes; with compatible=False, two shapes differ on
    some other axis."""
    rank = draw(st.integers(2, 4), label="rank")
    axis = draw(st.integers(-rank, rank - 1), label="axis")
    base = [draw(st.integers(1, 4), label=f"dim{i}") for i in range(rank)]
    count = draw(st.integers(2, 3), label="inputs")
    shapes = []
    for _ in range(count):
        s = list(base)
        s[axis] = draw(st.integers(1, 4), label="axis size")
        shapes.append(tuple(s))
    if not compatible:
        others = [a for a in range(rank) if a != axis % rank]
        bad_axis = draw(st.sampled_from(others), label="mismatched axis")
        victim = draw(st.integers(0, count - 1), label="mismatched input")
        s = list(shapes[victim])
        s[bad_axis] = s[bad_axis] + draw(st.integers(1, 3), label="extra size")
        shapes[victim] = tuple(s)
    return axis, shapes
