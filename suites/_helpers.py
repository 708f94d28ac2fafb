"""Backend-neutral helpers for the suites: shapes, dtypes, error-message content, statistics."""
from __future__ import annotations

import math
import re

import numpy as np
from scipy import stats

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def shape_tuple(shape):
    """(2, 3) for a tuple, TensorShape, torch.Size or list of dims; None stays None."""
    return tuple(None if d is None else int(d) for d in shape)


def dtype_name(dtype) -> str:
    """'float32' for numpy, TensorFlow, JAX and torch dtypes alike."""
    name = getattr(dtype, "name", None)
    if not isinstance(name, str):
        name = str(dtype)
    return name.removeprefix("torch.")


def clean_message(exc: BaseException) -> str:
    """The error text without ANSI escapes, with whitespace collapsed."""
    return " ".join(ANSI.sub("", str(exc)).split())


def mentions_shape(message: str, shape) -> bool:
    """True if the message shows `shape` in any common rendering: (10, 4), [10, 4], (None, 4)."""
    parts = [r"None" if d is None else str(d) for d in shape]
    pattern = r"[\(\[]\s*" + r"\s*,\s*".join(parts) + r"\s*,?\s*[\)\]]"
    return re.search(pattern, message) is not None


def assert_message_names(message: str, *, layer: str, index: int, prop: str, expected, received,
                         full_shape=None):
    """The content a Keras input-compatibility error must carry (clause INPUT.ERROR_MESSAGE)."""
    missing = []
    if layer not in message:
        missing.append(f"layer name {layer!r}")
    if not re.search(rf"\binput\s*{index}\b", message, re.IGNORECASE):
        missing.append(f"input index {index}")
    if prop not in message:
        missing.append(f"property {prop!r}")
    if str(expected) not in message:
        missing.append(f"expected value {expected!r}")
    if str(received) not in message:
        missing.append(f"received value {received!r}")
    if full_shape is not None and not mentions_shape(message, full_shape):
        missing.append(f"full received shape {full_shape}")
    assert not missing, f"error message lacks {', '.join(missing)}: {message!r}"


# -------------------------------------------------------------- statistics
FALSE_FAILURE_PROBABILITY = 1e-9


def binomial_acceptance(n: int, p: float, alpha: float = FALSE_FAILURE_PROBABILITY):
    """Two-sided acceptance interval [lo, hi] for X ~ Binomial(n, p) with
    P(X < lo) + P(X > hi) <= alpha, computed exactly (no normal approximation).

    lo is the largest k with P(X < k) <= alpha/2; hi the smallest k with P(X > k) <= alpha/2.
    """
    lo = int(stats.binom.ppf(alpha / 2, n, p))
    if stats.binom.cdf(lo - 1, n, p) > alpha / 2:
        lo -= 1
    hi = int(stats.binom.isf(alpha / 2, n, p))
    while stats.binom.sf(hi, n, p) > alpha / 2:
        hi += 1
    assert stats.binom.cdf(lo - 1, n, p) + stats.binom.sf(hi, n, p) <= alpha
    return lo, hi


def assert_binomial(count: int, n: int, p: float, what: str):
    lo, hi = binomial_acceptance(n, p)
    assert lo <= count <= hi, (
        f"{what}: {count} of {n}, outside the exact two-sided Binomial({n}, {p}) acceptance "
        f"interval [{lo}, {hi}] (false-failure probability <= {FALSE_FAILURE_PROBABILITY:g})"
    )


def close(actual, expected, *, rtol, atol, what=""):
    np.testing.assert_allclose(np.asarray(actual, dtype="float64"), np.asarray(expected, dtype="float64"),
                               rtol=rtol, atol=atol, err_msg=what)


def isclose_scalar(a, b, rtol=1e-6):
    return math.isclose(a, b, rel_tol=rtol)


def tolerance(clause_id: str) -> dict:
    """The numeric tolerance a clause states (rtol, atol)."""
    from spec.clauses import load

    tol = load()[clause_id].tolerance
    assert tol, f"clause {clause_id} states no tolerance"
    return {"rtol": tol["rtol"], "atol": tol["atol"]}
