"""Deciding comparisons (cnnlab.stats: power, TOST), checked against statsmodels and against simulation.

Simulations are vectorised numpy over 20,000 experiments with a seeded generator: normal seed
noise, Welch's test as the report makes its decisions (with the degrees of freedom it uses,
`ttest.welch_df`), so they also measure what the power formulas (pooled variance, equal
spreads) leave out.
"""

import math

import numpy as np
import pytest
from scipy import stats as sps
from statsmodels.stats.power import TTestIndPower
from statsmodels.stats.weightstats import ttost_ind

from cnnlab.stats.power import (SeedsNeeded, detectable_difference, pooled_sd, power_difference, power_equivalence,
                                seeds_needed)
from cnnlab.stats.ttest import tost
from cnnlab.stats.multiple import holm
from cnnlab.stats.ttest import welch, welch_df

REPS = 20_000


def _simulate(diff, sd, n, alpha, margin=None, reps=REPS, seed=0, pooled=False):
    """Share of `reps` experiments (n seeds per model, true difference `diff`, spread `sd`) in which
    TOST shows equivalence within ±margin (margin given) or the two-sided test finds a difference."""
    rng = np.random.default_rng(seed)
    a, b = rng.normal(diff, sd, (reps, n)), rng.normal(0.0, sd, (reps, n))
    d = a.mean(1) - b.mean(1)
    va, vb = a.var(1, ddof=1) / n, b.var(1, ddof=1) / n
    se = np.sqrt(va + vb)
    df = 2 * n - 2 if pooled else welch_df((va + vb) ** 2 / (va ** 2 / (n - 1) + vb ** 2 / (n - 1)), n, n)
    if margin is None:
        return float(np.mean(np.abs(d) / se > sps.t.ppf(1 - alpha / 2, df)))
    t = sps.t.ppf(1 - alpha, df)
    return float(np.mean((d - t * se > -margin) & (d + t * se < margin)))


# --- TOST ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("seed, n_a, n_b, sd_a, sd_b, shift, margin", [
    (0, 3, 3, 0.004, 0.004, 0.001, 0.01),
    (1, 5, 4, 0.01, 0.02, 0.005, 0.02),
    (2, 10, 10, 0.003, 0.003, 0.0, 0.002),
    (3, 2, 7, 0.02, 0.005, -0.01, 0.01),
    (4, 6, 3, 0.001, 0.05, 0.03, 0.05),
])
def test_tost_matches_statsmodels_ttost_ind_welch(seed, n_a, n_b, sd_a, sd_b, shift, margin):
    rng = np.random.default_rng(seed)
    a, b = rng.normal(0.9 + shift, sd_a, n_a), rng.normal(0.9, sd_b, n_b)
    e = tost(a, b, margin)
    # statsmodels' statistics, at the degrees of freedom Welch's test uses here (`welch_df`).
    _, (t_lower, _, satterthwaite), (t_upper, _, _) = ttost_ind(a, b, -margin, margin, usevar="unequal")
    df = welch_df(satterthwaite, n_a, n_b)
    assert e.df == pytest.approx(df) and (df == min(n_a, n_b) - 1 if n_a != n_b else df < satterthwaite)
    assert (e.p_lower, e.p_upper) == (pytest.approx(sps.t.sf(t_lower, df)), pytest.approx(sps.t.cdf(t_upper, df)))
    assert e.p == max(e.p_lower, e.p_upper)
    assert e.diff == pytest.approx(a.mean() - b.mean()) and (e.n_a, e.n_b) == (n_a, n_b)
    # The 90% interval lies inside ±margin exactly when TOST rejects at 5%.
    se = (a.mean() - b.mean() + margin) / t_lower
    assert (e.ci_low, e.ci_high) == (pytest.approx(e.diff - sps.t.ppf(0.95, df) * se),
                                     pytest.approx(e.diff + sps.t.ppf(0.95, df) * se))
    assert (-margin < e.ci_low and e.ci_high < margin) == (e.p < 0.05) == e.equivalent()


def test_tost_interval_follows_alpha():
    a, b = [0.91, 0.93, 0.92, 0.90], [0.92, 0.925, 0.915]
    w = welch(a, b, confidence=0.98)
    e = tost(a, b, 0.02, alpha=0.01)
    assert (e.ci_low, e.ci_high) == (pytest.approx(w.ci_low), pytest.approx(w.ci_high))
    assert e.p == pytest.approx(tost(a, b, 0.02).p)  # the p-values do not depend on alpha


def test_tost_without_a_test():
    one = tost([0.98], [0.97, 0.975], 0.01)
    assert one.diff == pytest.approx(0.0075) and one.p is None and one.ci_low is None and one.df is None
    assert not one.exact and one.equivalent() is None
    assert tost([], [0.97, 0.975], 0.01).diff is None
    assert tost([0.9, None, float("nan")], [0.9, 0.91], 0.01).n_a == 1  # missing values are dropped

    # Neither side varies: no spread, no test, no interval, and no verdict either way (before, these
    # were "equivalent" without a test, decided by float rounding at the margin's edge).
    same = tost([0.9, 0.9], [0.895, 0.895, 0.895], 0.01)
    assert same.p is None and same.exact and (same.ci_low, same.ci_high) == (None, None)
    assert same.equivalent() is None and same.equivalent(p=0.9) is None
    assert tost([0.91] * 5, [0.90] * 5, 0.01).equivalent() is None  # diff 0.009999999999999898
    assert tost([0.9904] * 2, [0.9812] * 2, 0.01).equivalent() is None
    apart = tost([0.9, 0.9], [0.88, 0.88], 0.01)
    assert apart.exact and apart.equivalent() is None
    w = welch([0.9, 0.9], [0.88, 0.88])  # the same rule as welch's
    assert w.p is None and w.ci_low is None and w.diff == pytest.approx(0.02)

    # One side varies: an ordinary test; with unequal seeds at min(n) - 1 degrees of freedom (`welch_df`).
    e = tost([0.9, 0.9, 0.9], [0.898, 0.902, 0.899, 0.901], 0.01)
    _, (t_lower, _, _), (t_upper, _, _) = ttost_ind(np.array([0.9, 0.9, 0.9]), np.array([0.898, 0.902, 0.899, 0.901]),
                                                    -0.01, 0.01, usevar="unequal")
    assert e.df == 2 and e.p == pytest.approx(max(sps.t.sf(t_lower, 2), sps.t.cdf(t_upper, 2)))


@pytest.mark.parametrize("margin", [0, -0.01, float("nan"), float("inf")])
def test_tost_rejects_a_margin_that_is_not_positive(margin):
    with pytest.raises(ValueError, match="margin"):
        tost([0.9, 0.91], [0.9, 0.92], margin)


def test_a_family_of_equivalence_tests_is_corrected_with_holm_like_the_differences():
    base = [0.950, 0.952, 0.948, 0.951]
    pairs = [([0.9505, 0.9515, 0.9495, 0.951], base),  # clearly equivalent
             ([0.957, 0.951, 0.959, 0.954], base),  # equivalent at 5% on its own, not over three pairs
             ([0.93, 0.97, 0.95, 0.96], base)]  # not equivalent
    tests = [tost(a, b, 0.01) for a, b in pairs]
    raw = [e.p for e in tests]
    adjusted = holm(raw)
    assert raw[0] < 0.001 and 0.02 < raw[1] < 0.05 and raw[2] > 0.05
    assert [e.equivalent() for e in tests] == [True, True, False]
    assert [e.equivalent(p) for e, p in zip(tests, adjusted)] == [True, False, False]
    assert adjusted[1] == pytest.approx(2 * raw[1])


# --- Power, detectable difference ---------------------------------------------------------------------------

def test_pooled_sd():
    a, b = [0.90, 0.92, 0.91], [0.88, 0.93]
    expected = math.sqrt((2 * np.var(a, ddof=1) + 1 * np.var(b, ddof=1)) / 3)
    assert pooled_sd(a, b) == pytest.approx(expected)
    assert pooled_sd([0.9], b) == pytest.approx(np.std(b, ddof=1))  # one value adds nothing, spoils nothing
    assert pooled_sd([0.9], [0.8]) is None and pooled_sd([], a) is None
    assert pooled_sd([0.9, 0.9], [0.8, 0.8]) == 0.0


@pytest.mark.parametrize("n_a, n_b, alpha, power", [
    (3, 3, 0.05, 0.8), (2, 2, 0.05, 0.8), (5, 3, 0.05, 0.8), (10, 10, 0.01, 0.9), (3, 3, 0.05 / 3, 0.8),
])
def test_detectable_difference_is_detected_by_welchs_test_with_the_promised_power(n_a, n_b, alpha, power):
    """The verdicts use Welch's test: at the stated difference it decides with the stated power
    (equal seeds: exact; unequal: at least), which the pooled t-test's figure (statsmodels) overstates."""
    sd = 0.0123
    d = detectable_difference(sd, n_a, n_b, alpha, power)
    assert power_difference(d, sd, n_a, n_b, alpha) == pytest.approx(power, abs=1e-6)
    simulated = _simulate_welch(d, sd, n_a, n_b, alpha)
    if n_a == n_b:
        assert simulated == pytest.approx(power, abs=0.01)
    else:
        assert simulated >= power - 0.01
    pooled = TTestIndPower().solve_power(None, nobs1=n_a, ratio=n_b / n_a, alpha=alpha, power=power) * sd
    assert d > pooled  # the old figure, decided only 69% of the time at 3 seeds each
    if max(n_a, n_b) <= 5:
        assert _simulate_welch(pooled, sd, n_a, n_b, alpha) < power - 0.02
    assert detectable_difference(0.0, n_a, n_b, alpha, power) == 0.0
    with pytest.raises(ValueError, match="two values per side"):
        detectable_difference(sd, 1, 4)


def test_detectable_difference_for_many_seeds_is_near_the_textbook_figure():
    """With 30 seeds a model Welch's test is all but the pooled one: within 2% of statsmodels'."""
    effect = TTestIndPower().solve_power(None, nobs1=30, ratio=1, alpha=0.05 / 6, power=0.8)
    assert detectable_difference(0.0123, 30, 30, 0.05 / 6) == pytest.approx(effect * 0.0123, rel=0.02)


def _simulate_welch(diff, sd, n_a, n_b, alpha, reps=REPS * 2, seed=5):
    """Welch's test as `ttest.welch` makes it, on simulated seeds: the share that rejects."""
    rng = np.random.default_rng(seed)
    a, b = rng.normal(diff, sd, (reps, n_a)), rng.normal(0.0, sd, (reps, n_b))
    va, vb = a.var(1, ddof=1) / n_a, b.var(1, ddof=1) / n_b
    df = welch_df((va + vb) ** 2 / (va ** 2 / (n_a - 1) + vb ** 2 / (n_b - 1)), n_a, n_b)
    p = 2 * sps.t.sf(np.abs(a.mean(1) - b.mean(1)) / np.sqrt(va + vb), df)
    assert welch(a[0], b[0]).p == pytest.approx(p[0])
    return float(np.mean(p < alpha))


@pytest.mark.parametrize("diff, n", [(0.01, 3), (-0.004, 12), (0.0, 5), (0.005, 40)])
def test_power_difference_is_welchs(diff, n):
    assert power_difference(diff, 0.01, n, n) == pytest.approx(_simulate_welch(diff, 0.01, n, n, 0.05), abs=0.01)
    pooled = TTestIndPower().power(abs(diff) / 0.01, nobs1=n, ratio=1, alpha=0.05)
    assert power_difference(diff, 0.01, n, n) <= pooled + 1e-12


def test_power_difference_is_a_number_far_out_in_the_tail():
    # scipy's noncentral t gives nan for the wrong-side tail there (statsmodels' power then is nan).
    assert power_difference(0.03, 0.01, 200, 200) == 1.0
    assert power_difference(0.01, 0.01, 1000, 1000, alpha=0.45) == 1.0


@pytest.mark.parametrize("n, diff", [(3, 0.0), (4, 0.3), (6, 0.0)])
def test_power_equivalence_is_welchs_tost(n, diff):
    # Few seeds, where Welch and pooled differ most: the formula is for Welch's TOST as the verdicts use it.
    expected = power_equivalence(diff, 1.0, 1.5, n, n)
    assert _simulate(diff, 1.0, n, 0.05, margin=1.5) == pytest.approx(expected, abs=0.01)
    assert _simulate(diff, 1.0, n, 0.05, margin=1.5, pooled=True) > expected + 0.01  # the pooled TOST's is higher


def test_power_arguments_are_checked():
    for bad in [lambda: detectable_difference(-0.01, 3, 3), lambda: detectable_difference(0.01, 1, 1),
                lambda: detectable_difference(0.01, 3, 3, power=0.01), lambda: power_difference(0.01, 0.0, 3, 3),
                lambda: power_equivalence(0.0, 0.01, 0.0, 3, 3), lambda: seeds_needed(0.01, 0.01, -1.0),
                lambda: seeds_needed(0.01, 0.01, 0.01, max_seeds=1), lambda: seeds_needed(0.01, 0.0, 0.01)]:
        with pytest.raises(ValueError):
            bad()


# --- Seeds needed -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("diff, sd, alpha", [(0.01, 0.01, 0.05), (-0.038, 0.033, 0.05), (0.005, 0.02, 0.05 / 3),
                                             (0.02, 0.004, 0.05)])
def test_seeds_needed_for_a_difference_matches_statsmodels(diff, sd, alpha):
    margin = abs(diff) / 2  # equivalence is out of reach: only a difference can decide
    s = seeds_needed(diff, sd, margin, alpha)
    n_ref = TTestIndPower().solve_power(abs(diff) / sd, nobs1=None, ratio=1, alpha=alpha, power=0.8)
    assert s.verdict == "better" and max(2, math.ceil(n_ref)) <= s.n <= math.ceil(n_ref) + 2  # Welch's: a few more
    assert s.power == s.power_better >= 0.8 and s.power_equivalent < alpha
    if s.n > 2:
        assert power_difference(diff, sd, s.n - 1, s.n - 1, alpha) < 0.8


@pytest.mark.parametrize("diff, sd, margin, alpha", [(0.002, 0.01, 0.01, 0.05), (0.0, 0.004, 0.005, 0.05),
                                                     (0.004, 0.006, 0.01, 0.05 / 3), (-0.003, 0.008, 0.01, 0.05)])
def test_seeds_needed_for_equivalence_matches_simulation(diff, sd, margin, alpha):
    s = seeds_needed(diff, sd, margin, alpha)
    assert s.verdict == "equivalent" and s.n > 2 and s.power == s.power_equivalent >= 0.8
    simulated = _simulate(diff, sd, s.n, alpha, margin=margin)
    assert simulated == pytest.approx(s.power_equivalent, abs=0.01) and simulated >= 0.79
    assert _simulate(diff, sd, s.n - 1, alpha, margin=margin, seed=1) < 0.81


def test_seeds_needed_limits():
    # No difference to find and a margin far below the spread: no realistic number of seeds decides.
    s = seeds_needed(0.0, 0.01, 0.0001)
    assert s.beyond_max and s.n is None and s.verdict is None and s.power is None
    assert s.power_better == pytest.approx(0.05, abs=1e-3) and s.power_equivalent < 0.01
    assert seeds_needed(0.0, 0.01, 0.0001, max_seeds=50).max_seeds == 50
    # A cap below the answer is reported as beyond it, with the powers at the cap.
    capped = seeds_needed(0.01, 0.01, 0.001, max_seeds=10)
    assert capped == SeedsNeeded(None, None, power_difference(0.01, 0.01, 10, 10),
                                 power_equivalence(0.01, 0.01, 0.001, 10, 10), 10)
    assert seeds_needed(0.01, 0.01, 0.001).n == 18
    # |diff| == margin: equivalence can never be shown, the difference itself still can be.
    edge = seeds_needed(0.01, 0.01, 0.01)
    assert edge.verdict == "better" and edge.n == 18 and edge.power_equivalent <= 0.05 + 1e-9
    # Decided with two seeds when the spread is tiny.
    assert seeds_needed(0.001, 0.0001, 0.01).n == 2


# --- The three verdicts from stored numbers ---------------------------------------------------------------

def test_a_clear_difference_is_significant_and_not_equivalent():
    a, b = [0.981, 0.984, 0.979, 0.983], [0.972, 0.976, 0.970]
    assert welch(a, b).p < 0.05
    assert not tost(a, b, 0.01).equivalent()


def test_seeds_within_three_tenths_of_a_point_are_equivalent_within_one_point():
    a, b = [0.978, 0.981, 0.983], [0.980, 0.982, 0.979]
    assert max(a + b) - min(a + b) <= 0.006  # all within ±0.3 points of each other's middle
    e = tost(a, b, margin=0.01)
    assert e.p < 0.05 and e.equivalent()
    assert welch(a, b).p > 0.05


def test_a_noisy_pair_is_neither_and_says_how_many_seeds_would_tell():
    # The case: a 3.8-point gap, three seeds each, an interval of about ±7 points.
    a, b = [0.802, 0.851, 0.774], [0.781, 0.742, 0.790]
    w, e = welch(a, b), tost(a, b, 0.01)
    assert w.p > 0.05 and w.ci_low < 0 < w.ci_high
    assert e.p > 0.05 and not e.equivalent()
    sd = pooled_sd(a, b)
    assert detectable_difference(sd, 3, 3) > abs(w.diff)  # these seeds could not have seen it
    for alpha in (0.05, 0.01 / 3):  # alone; or a strict look in a family of three
        s = seeds_needed(w.diff, sd, 0.01, alpha)
        n_ref = TTestIndPower().solve_power(abs(w.diff) / sd, nobs1=None, ratio=1, alpha=alpha, power=0.8)
        assert s.verdict == "better" and s.n in (math.ceil(n_ref), math.ceil(n_ref) + 1)  # Welch: at most one more
        assert _simulate(w.diff, sd, s.n, alpha) == pytest.approx(s.power_better, abs=0.015)
        assert _simulate(w.diff, sd, s.n - 1, alpha, seed=1) < 0.8
    assert seeds_needed(w.diff, sd, 0.01).n == 14


