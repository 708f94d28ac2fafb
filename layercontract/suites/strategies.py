"""Hypothesis strategies for the suites, kept apart from the checks (as array-api-tests does).

Every draw is labelled (`draw(..., label=...)`) and composite cases are small dataclasses
with a readable repr, so that a falsifying example reads clearly: which kind of case, which
spec, which shapes, which dtype.

Sizes are small and drawn from short menus on purpose: keras-jax compiles each op once per
input shape, so the number of distinct shapes a profile generates is what its run time
depends on.

Contents
    scalars       batch_sizes (including 1), feature_sizes, units, activations,
                  dropout_rates, open_dropout_rates, momenta, epsilons, REJECTED_DTYPES
    arrays        float_arrays, shapes, bn_shapes, well_conditioned_batches, example_input
    layer cases   dense_cases, dense_layer_cases, batchnorm_cases, batchnorm_weights,
                  moving_statistics_cases, dropout_identity_cases
    InputSpec     input_spec_cases(kind) -> SpecCase (ndim, min_ndim, max_ndim, axes, shape, dtype)
    multi-input   concat_shapes(compatible), concat_rank_mismatch, multi_input_cases(kind)
"""

from __future__ import annotations

import dataclasses

import numpy as np
from hypothesis import strategies as st

# ------------------------------------------------------------------ scalars
# Sizes come from short menus rather than ranges: every distinct shape costs keras-jax a
# compilation per op, and a menu lets the examples of all tests share them. Each menu starts
# with 1 (the edge case, and what a failure shrinks towards).
batch_sizes = st.sampled_from([1, 2, 3, 5])
feature_sizes = st.sampled_from([1, 2, 3, 5])
units = st.sampled_from([1, 2, 4])
# rates strictly inside (0, 1) are the statistically interesting ones; 0 and 1 are edges
dropout_rates = st.one_of(st.sampled_from([0.0, 0.5, 1.0]), st.floats(0.0, 1.0, allow_nan=False))
open_dropout_rates = st.floats(0.02, 0.98)  # for binomial checks: some elements dropped and kept
momenta = st.one_of(st.sampled_from([0.0, 0.5, 0.9, 0.99]), st.floats(0.0, 0.999))
epsilons = st.one_of(st.sampled_from([1e-5, 1e-3, 0.1]), st.floats(1e-5, 1.0))
activations = st.sampled_from([None, "relu"])
_side = st.integers(1, 4)  # one axis of a generated shape

# Input dtypes that no backend converts into the spec's dtype (probed on every backend:
# keras-jax turns int64 into int32 and keras-torch uint16 into int32; float16/float64 are
# autocast to float32 by Keras 3 but not by tf-keras; those are left out here).
REJECTED_DTYPES = {
    "float32": ("int8", "uint8", "int16", "int32", "int64", "uint16", "uint32", "bool"),
    "int32": ("int8", "uint8", "int16", "uint32", "bool", "float16", "float32", "float64"),
}


@st.composite
def float_arrays(draw, shape, low=-3.0, high=3.0, label="x"):
    """float32 arrays with a per-draw seed (fast, and shrinks to seed 0)."""
    seed = draw(st.integers(0, 2**16), label=f"{label} seed")
    return np.random.default_rng(seed).uniform(low, high, shape).astype("float32")


def shapes(min_rank=1, max_rank=4, min_side=1, max_side=4):
    return st.lists(st.integers(min_side, max_side), min_size=min_rank, max_size=max_rank).map(tuple)


@st.composite
def well_conditioned_batches(draw, shape, label="x"):
    """float32 inputs for BatchNormalization whose per-channel spread is not tiny next to
    their mean: each channel is rescaled to a mean in [-3, 3] and a standard deviation in
    [0.5, 3] (a channel of one element stays constant). Keras 3 on torch and numpy computes
    the variance as E[x^2] - E[x]^2, which loses float32 precision when the spread is small
    next to the mean; these inputs keep that error below the clauses' tolerances."""
    seed = draw(st.integers(0, 2**16), label=f"{label} seed")
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape)
    axes = tuple(range(len(shape) - 1))
    centred = x - x.mean(axes)
    std = centred.std(axes)
    scale = np.where(std > 0, rng.uniform(0.5, 3.0, shape[-1]) / np.where(std > 0, std, 1), 0.0)
    return (centred * scale + rng.uniform(-3.0, 3.0, shape[-1])).astype("float32")


# -------------------------------------------------------------- layer cases
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
def dense_layer_cases(draw):
    """x, units and activation for a Dense layer that keeps its own initial weights."""
    x = draw(float_arrays((draw(batch_sizes, label="batch"), draw(feature_sizes, label="features")), label="x"))
    return x, draw(units, label="units"), draw(activations, label="activation")


# BatchNormalization input shapes, channels last: batch 1 (zero batch variance), one channel,
# rank 3. A fixed menu because a new shape costs keras-jax ~0.35 s of compilation per layer
# kind. Rank 4 is left to the fixed checks in test_train_batchnorm (tf-keras's fused rank-4
# kernel has a recorded deviation there).
bn_shapes = st.sampled_from([(1, 3), (2, 1), (3, 2), (5, 3), (1, 2, 2), (2, 2, 3), (3, 1, 1)])


def _bn_shape(draw):
    return draw(bn_shapes, label="shape")


@st.composite
def batchnorm_cases(draw, with_weights=False):
    """x, momentum, epsilon (and, with_weights, the four weights to set)."""
    shape = _bn_shape(draw)
    x = draw(well_conditioned_batches(shape, label="x"))
    case = (x, draw(momenta, label="momentum"), draw(epsilons, label="epsilon"))
    return (*case, draw(batchnorm_weights(shape[-1]))) if with_weights else case


@st.composite
def batchnorm_weights(draw, channels):
    """gamma, beta, moving mean, moving variance (> 0) for `channels` channels."""
    return [
        draw(float_arrays((channels,), 0.5, 2.0, label="gamma")),
        draw(float_arrays((channels,), -1.0, 1.0, label="beta")),
        draw(float_arrays((channels,), -2.0, 2.0, label="moving mean")),
        draw(float_arrays((channels,), 0.5, 3.0, label="moving variance")),
    ]


@st.composite
def moving_statistics_cases(draw):
    """k >= 1 training batches of one shape, momentum, epsilon and the four starting weights."""
    shape = _bn_shape(draw)
    steps = draw(st.integers(1, 4), label="training calls")
    xs = [draw(well_conditioned_batches(shape, label=f"x{i}")) for i in range(steps)]
    return (xs, draw(momenta, label="momentum"), draw(epsilons, label="epsilon"), draw(batchnorm_weights(shape[-1])))


@st.composite
def dropout_identity_cases(draw):
    """Any shape (rank 1-4), any rate in [0, 1], and how `training` is not-True."""
    shape = draw(shapes(1, 4, 1, 5), label="shape")
    rate = draw(dropout_rates, label="rate")
    training = draw(st.sampled_from([False, None, "omitted"]), label="training")
    x = draw(float_arrays(shape, label="x"))
    return x, rate, training


# ------------------------------------------------------------------ InputSpec
@dataclasses.dataclass(frozen=True)
class SpecCase:
    """An InputSpec (as keyword arguments), an input shape that meets it and one that does
    not; for dtype cases the shapes agree and `invalid_dtype` is the violation."""

    kind: str
    spec: dict
    valid_shape: tuple
    invalid_shape: tuple
    valid_dtype: str = "float32"
    invalid_dtype: str = "float32"
    how: str = ""  # what makes the invalid input invalid


SPEC_KINDS = ("ndim", "min_ndim", "max_ndim", "axes", "shape", "dtype")


def _shape_of_rank(draw, rank, label):
    return tuple(draw(_side, label=f"{label} dim{i}") for i in range(rank))


@st.composite
def input_spec_cases(draw, kind):
    """A SpecCase of one kind. The invalid input violates exactly the property named by
    `kind` (a `shape` case may also change the rank, which the `shape` spec implies)."""
    if kind == "ndim":
        n = draw(st.integers(1, 4), label="ndim")
        bad = draw(st.integers(1, 5).filter(lambda r: r != n), label="invalid rank")
        return SpecCase(
            kind, {"ndim": n}, _shape_of_rank(draw, n, "valid"), _shape_of_rank(draw, bad, "invalid"), how=f"rank {bad}"
        )
    if kind == "min_ndim":
        n = draw(st.integers(2, 4), label="min_ndim")
        good = draw(st.integers(n, 5), label="valid rank")
        bad = draw(st.integers(1, n - 1), label="invalid rank")
        return SpecCase(
            kind,
            {"min_ndim": n},
            _shape_of_rank(draw, good, "valid"),
            _shape_of_rank(draw, bad, "invalid"),
            how=f"rank {bad}",
        )
    if kind == "max_ndim":
        n = draw(st.integers(1, 3), label="max_ndim")
        good = draw(st.integers(1, n), label="valid rank")
        bad = draw(st.integers(n + 1, 5), label="invalid rank")
        return SpecCase(
            kind,
            {"max_ndim": n},
            _shape_of_rank(draw, good, "valid"),
            _shape_of_rank(draw, bad, "invalid"),
            how=f"rank {bad}",
        )
    if kind == "axes":
        # axes come with ndim or min_ndim (as Dense does), and index inside that rank
        rank = draw(st.integers(1, 4), label="rank")
        rank_key = draw(st.sampled_from(["ndim", "min_ndim"]), label="rank property")
        axes = draw(
            st.dictionaries(st.integers(-rank, rank - 1), _side, min_size=1, max_size=2).filter(
                lambda d: len({a % rank for a in d}) == len(d)
            ),
            label="axes",
        )
        valid = list(_shape_of_rank(draw, rank, "valid"))
        for axis, value in axes.items():
            valid[axis] = value
        axis = draw(st.sampled_from(sorted(axes)), label="violated axis")
        invalid = list(valid)
        invalid[axis] = draw(_side.filter(lambda v: v != axes[axis]), label="invalid size")
        return SpecCase(
            kind,
            {rank_key: rank, "axes": axes},
            tuple(valid),
            tuple(invalid),
            how=f"axis {axis} has size {invalid[axis]}",
        )
    if kind == "shape":
        rank = draw(st.integers(1, 4), label="rank")
        spec = tuple(draw(st.one_of(st.none(), _side), label=f"spec dim{i}") for i in range(rank))
        valid = tuple(draw(_side, label=f"valid dim{i}") if d is None else d for i, d in enumerate(spec))
        fixed = [i for i, d in enumerate(spec) if d is not None]
        change_rank = not fixed or draw(st.booleans(), label="violate the rank")
        if change_rank:
            bad_rank = draw(st.integers(1, 5).filter(lambda r: r != rank), label="invalid rank")
            invalid = _shape_of_rank(draw, bad_rank, "invalid")
            how = f"rank {bad_rank}"
        else:
            i = draw(st.sampled_from(fixed), label="violated dim")
            invalid = list(valid)
            invalid[i] = draw(_side.filter(lambda v: v != spec[i]), label="invalid size")
            invalid, how = tuple(invalid), f"dim {i} has size {invalid[i]}"
        return SpecCase(kind, {"shape": spec}, valid, invalid, how=how)
    if kind == "dtype":
        spec_dtype = draw(st.sampled_from(sorted(REJECTED_DTYPES)), label="spec dtype")
        bad = draw(st.sampled_from(REJECTED_DTYPES[spec_dtype]), label="invalid dtype")
        rank = draw(st.integers(1, 3), label="rank")
        shape = _shape_of_rank(draw, rank, "input")
        return SpecCase(
            kind,
            {"dtype": spec_dtype, "ndim": rank},
            shape,
            shape,
            valid_dtype=spec_dtype,
            invalid_dtype=bad,
            how=f"dtype {bad}",
        )
    raise ValueError(f"unknown InputSpec kind {kind!r}; one of {SPEC_KINDS}")


def example_input(shape, dtype):
    """Ones of `shape` and `dtype`: the content does not matter to an InputSpec."""
    return np.ones(shape, dtype=dtype)


# ---------------------------------------------------------------- multi-input
@st.composite
def concat_shapes(draw, compatible=True):
    """A concatenation axis and 2-3 input shapes. Compatible: equal except on the axis.
    Incompatible: one input differs on one or more other axes (sizes may grow or shrink,
    including to and from 1)."""
    rank = draw(st.integers(2, 4), label="rank")
    axis = draw(st.integers(-rank, rank - 1), label="axis")
    base = [draw(_side, label=f"dim{i}") for i in range(rank)]
    count = draw(st.integers(2, 3), label="inputs")
    shapes_ = []
    for _ in range(count):
        s = list(base)
        s[axis] = draw(_side, label="axis size")
        shapes_.append(tuple(s))
    if not compatible:
        others = [a for a in range(rank) if a != axis % rank]
        bad_axes = draw(
            st.lists(st.sampled_from(others), min_size=1, max_size=len(others), unique=True), label="mismatched axes"
        )
        victim = draw(st.integers(0, count - 1), label="mismatched input")
        s = list(shapes_[victim])
        for a in bad_axes:
            s[a] = draw(st.integers(1, 5).filter(lambda v, a=a: v != base[a]), label=f"size on axis {a}")
        shapes_[victim] = tuple(s)
    return axis, shapes_


@st.composite
def concat_rank_mismatch(draw):
    """2-3 inputs of which one has a different rank (a trailing axis added or removed), and an
    axis that exists in every input (see test_multi for the axis that does not)."""
    rank = draw(st.integers(2, 4), label="rank")
    base = tuple(draw(_side, label=f"dim{i}") for i in range(rank))
    count = draw(st.integers(2, 3), label="inputs")
    victim = draw(st.integers(0, count - 1), label="input of other rank")
    grow = rank == 2 or draw(st.booleans(), label="add an axis")
    other = base + (draw(_side, label="added size"),) if grow else base[:-1]
    low = min(rank, len(other))
    axis = draw(st.integers(-low, low - 1), label="axis")
    return axis, [other if i == victim else base for i in range(count)]


@dataclasses.dataclass(frozen=True)
class MultiInputCase:
    """A list of InputSpecs (as keyword arguments), a valid list of input shapes, and an
    invalid list: a different number of inputs, or one input violating its own spec."""

    kind: str  # "count" or "one_input"
    specs: tuple
    valid_shapes: tuple
    invalid_shapes: tuple
    bad_index: int | None = None


@st.composite
def multi_input_cases(draw, kind):
    count = draw(st.integers(2, 3), label="number of specs")
    ranks = [draw(st.integers(1, 3), label=f"ndim of input {i}") for i in range(count)]
    specs = tuple({"ndim": r} for r in ranks)
    valid = tuple(_shape_of_rank(draw, r, f"input {i}") for i, r in enumerate(ranks))
    if kind == "count":
        n = draw(st.integers(1, 4).filter(lambda n: n != count), label="number of inputs given")
        invalid = tuple(valid[i % count] for i in range(n))
        return MultiInputCase(kind, specs, valid, invalid)
    if kind == "one_input":
        i = draw(st.integers(0, count - 1), label="violating input")
        bad_rank = draw(st.integers(1, 4).filter(lambda r: r != ranks[i]), label="its rank")
        invalid = list(valid)
        invalid[i] = _shape_of_rank(draw, bad_rank, "violating input")
        return MultiInputCase(kind, specs, valid, tuple(invalid), bad_index=i)
    raise ValueError(f"unknown multi-input kind {kind!r}")
