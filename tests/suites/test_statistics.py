"""The statistics behind the stochastic clauses (suites/_helpers.py): the exact binomial
acceptance intervals keep their false-failure bound, are as narrow as that bound allows, and
the numbers documented in the _helpers docstring (intervals, power, Bonferroni) are true."""

import numpy as np
import pytest

from layercontract.suites import _helpers
from layercontract.suites._helpers import (
    FALSE_FAILURE_PROBABILITY,
    assert_binomial,
    assert_binomial_each,
    binomial_acceptance,
)

CASES = [
    (20000, 0.1),
    (20000, 0.3),
    (20000, 0.5),
    (20000, 0.75),
    (10000, 0.5),
    (50, 0.5),
    (100, 0.25),
    (1000, 0.01),
    (1000, 0.99),
    (30, 0.02),
    (7, 0.5),
]


def binom():
    """scipy.stats.binom, imported by the tests that use it, not at collection: every xdist worker
    collects this module, and importing scipy.stats costs about a second of CPU."""
    from scipy import stats

    return stats.binom


def tails(n, p, lo, hi):
    return binom().cdf(lo - 1, n, p), binom().sf(hi, n, p)


def power(n, p, q):
    """Probability that a count drawn with the wrong rate q falls outside the interval for p."""
    lo, hi = binomial_acceptance(n, p)
    below, above = tails(n, q, lo, hi)
    return below + above


def test_false_failure_probability_is_one_in_a_billion():
    assert FALSE_FAILURE_PROBABILITY == 1e-9


@pytest.mark.parametrize("n,p", CASES)
def test_interval_keeps_the_false_failure_bound_and_is_as_narrow_as_it_allows(n, p):
    lo, hi = binomial_acceptance(n, p)
    assert 0 <= lo <= n * p <= hi <= n
    below, above = tails(n, p, lo, hi)
    assert below <= FALSE_FAILURE_PROBABILITY / 2 and above <= FALSE_FAILURE_PROBABILITY / 2
    # one step narrower on either side breaks the bound for that tail
    if lo < n * p:
        assert binom().cdf(lo, n, p) > FALSE_FAILURE_PROBABILITY / 2
    if hi > n * p:
        assert binom().sf(hi - 1, n, p) > FALSE_FAILURE_PROBABILITY / 2


@pytest.mark.parametrize("alpha", [1e-2, 1e-4])
def test_interval_is_calibrated_by_simulation_at_a_visible_alpha(alpha):
    # At 1e-9 a simulation would see nothing; at a large alpha the rejection rate of many
    # simulated correct counts must stay within alpha (up to Monte Carlo noise).
    n, p, draws = 2000, 0.3, 400_000
    lo, hi = binomial_acceptance(n, p, alpha)
    counts = np.random.default_rng(1).binomial(n, p, draws)
    rejected = int(((counts < lo) | (counts > hi)).sum())
    exact = sum(tails(n, p, lo, hi))
    assert exact <= alpha
    upper = binom().isf(1e-9, draws, exact)  # the simulated count may not exceed this
    assert rejected <= upper, f"{rejected} of {draws} rejected, exact rate {exact}"


def test_documented_intervals_at_n_20000():
    documented = {0.1: (1746, 2264), 0.3: (5607, 6398), 0.5: (9568, 10432), 0.75: (14623, 15371)}
    for p, interval in documented.items():
        assert binomial_acceptance(20000, p) == interval
        assert f"[{interval[0]}, {interval[1]}]" in _helpers.__doc__


@pytest.mark.parametrize("p,low,high", [(0.1, 1.000, 0.998), (0.3, 0.54, 0.51), (0.5, 0.32, 0.32), (0.75, 0.64, 0.68)])
def test_documented_power_against_a_rate_off_by_two_hundredths(p, low, high):
    assert power(20000, p, p - 0.02) == pytest.approx(low, abs=0.005)
    assert power(20000, p, p + 0.02) == pytest.approx(high, abs=0.005)


def test_documented_error_sizes_caught_with_power_099():
    assert power(20000, 0.1, 0.12) >= 0.99 and power(20000, 0.1, 0.08) >= 0.99
    assert power(20000, 0.5, 0.53) >= 0.99 and power(20000, 0.5, 0.47) >= 0.99
    assert power(20000, 0.5, 0.52) < 0.99


def _shared_mask_catch(p, rows=200, cols=100):
    """A mask drawn for one row and broadcast over the batch: the zero count is rows * Y with
    Y ~ Binomial(cols, p). Probability that the rate check rejects it."""
    lo, hi = binomial_acceptance(rows * cols, p)
    y = np.arange(cols + 1)
    inside = (rows * y >= lo) & (rows * y <= hi)
    return 1 - binom().pmf(y, cols, p)[inside].sum()


def test_documented_catch_rates_of_a_mask_shared_across_the_batch():
    assert _shared_mask_catch(0.3) == pytest.approx(0.74, abs=0.005)
    assert _shared_mask_catch(0.1) == pytest.approx(0.62, abs=0.005)
    assert _shared_mask_catch(0.5) == pytest.approx(0.62, abs=0.005)
    # the three rate checks (0.1, 0.3, 0.75) and the fresh-mask check (disagreements are then
    # 200 * Binomial(100, 0.5), tested against Binomial(20000, 0.5)) all miss it:
    miss = np.prod([1 - _shared_mask_catch(p) for p in (0.1, 0.3, 0.75, 0.5)])
    assert miss == pytest.approx(0.01, abs=0.002)


def test_documented_rate_as_keep_probability_is_far_outside():
    n, p = 20000, 0.3
    assert abs((1 - p) - p) * n / np.sqrt(n * p * (1 - p)) > 120
    assert power(n, p, 1 - p) == 1.0


# --------------------------------------------------------------- Bonferroni
def test_documented_per_position_interval():
    assert binomial_acceptance(50, 0.5, FALSE_FAILURE_PROBABILITY / 1000) == (2, 48)


@pytest.mark.parametrize("calls,p", [(50, 0.5), (100, 0.25)])
def test_per_position_check_has_family_false_failure_at_most_one_in_a_billion(calls, p):
    m = 1000
    lo, hi = binomial_acceptance(calls, p, FALSE_FAILURE_PROBABILITY / m)
    per_count = sum(tails(calls, p, lo, hi))
    assert m * per_count <= FALSE_FAILURE_PROBABILITY  # union bound
    assert 1 - (1 - per_count) ** m <= FALSE_FAILURE_PROBABILITY  # exact, independent positions
    assert 0 < lo and hi < calls  # never-dropped and always-dropped positions fail


def test_assert_binomial_each_accepts_binomial_counts_and_rejects_a_frozen_mask():
    rng = np.random.default_rng(0)
    counts = rng.binomial(50, 0.5, 1000)
    assert_binomial_each(counts, 50, 0.5, "drops")
    frozen = np.where(rng.random(1000) < 0.5, 0, 50)  # a mask frozen across the 50 calls
    with pytest.raises(AssertionError, match=r"outside the Bonferroni-corrected Binomial\(50, 0.5\)"):
        assert_binomial_each(frozen, 50, 0.5, "drops")


def test_assert_binomial_reports_count_interval_and_bound():
    assert_binomial(6000, 20000, 0.3, "zeros")
    with pytest.raises(AssertionError) as info:
        assert_binomial(7000, 20000, 0.3, "zeros")
    assert "zeros: 7000 of 20000" in str(info.value) and "[5607, 6398]" in str(info.value)
    assert "1e-09" in str(info.value)
