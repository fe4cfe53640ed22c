"""What seeds can decide: the power of the difference test and of TOST, the smallest difference
a design detects, and the seeds per model that would decide a comparison.

The power of a difference (`power_difference`) is that of the test the verdicts use: Welch's
for normal seed-to-seed noise with the same spread on both sides (exact at equal seeds per model,
a lower bound otherwise), or the paired t-test's (exact, from the spread of the per-seed
differences). The power of equivalence (`power_equivalence`) is that of the pooled (or paired)
TOST, a little above Welch's TOST below about 6 seeds per model. Seeds are planned from the
observed difference and spread taken as the truth: a planning figure, itself as noisy as the
seeds it comes from (the wording says so when they are few).
"""

import math
from dataclasses import dataclass

import numpy as np

from cnnlab.stats.constants import ALPHA, MAX_SEEDS, POWER
from cnnlab.stats.scipy_lazy import optimize, special, sps
from cnnlab.stats.summary import clean
from cnnlab.stats.ttest import welch_df


def pooled_sd(a, b) -> float | None:
    """Pooled seed-to-seed standard deviation of two samples; None with fewer than 3 values in all
    (or an empty side). A side with a single value adds nothing to it but does not spoil it."""
    a, b = clean(a), clean(b)
    df = len(a) + len(b) - 2
    if len(a) == 0 or len(b) == 0 or df < 1:
        return None
    ss = ((a - a.mean()) ** 2).sum() + ((b - b.mean()) ** 2).sum()
    return float(math.sqrt(ss / df))


def _check(sd: float, n_a: int, n_b: int, alpha: float, power: float | None = None, sd_zero_ok=False,
           paired: bool = False):
    if not (sd >= 0 if sd_zero_ok else sd > 0) or not math.isfinite(sd):
        raise ValueError(f"the spread must be a {'non-negative' if sd_zero_ok else 'positive'} number, got {sd!r}")
    if paired and (n_a != n_b or n_a < 2):
        raise ValueError(f"a paired test needs the same number of seeds on both sides, two or more, got {n_a} and {n_b}")
    if n_a < 1 or n_b < 1 or n_a + n_b < 3:
        raise ValueError(f"need at least one value per side and three in all, got {n_a} and {n_b}")
    if not 0 < alpha < 0.5:
        raise ValueError(f"alpha must lie in (0, 0.5), got {alpha!r}")
    if power is not None and not alpha < power < 1:
        raise ValueError(f"power must lie between alpha ({alpha}) and 1, got {power!r}")


WELCH_NODES = 24  # quantile nodes over the variance share (see _power_welch)
SPREAD_NODES = 16  # quantile nodes over the true spread given the observed one (see spread_ratios)


def spread_ratios(spread_df: float | None) -> np.ndarray:
    """True over observed spread, σ / s, at equally spaced quantiles of its distribution given an
    estimate s with `spread_df` degrees of freedom (σ² = s²·df / χ²_df): a power computed from an
    observed spread and averaged over these is what the promise holds on average, where the same
    power at s itself overstates (80% promised, 74% on average with 3 seeds a model); None: s is
    taken as the truth."""
    if spread_df is None:
        return np.ones(1)
    q = (np.arange(SPREAD_NODES) + 0.5) / SPREAD_NODES
    return np.sqrt(spread_df / sps.chi2.ppf(q, spread_df))


def _power_welch(nc, n_a: int, n_b: int, alpha: float):
    """Power of Welch's two-sided test at level alpha (with the degrees of freedom it uses,
    `ttest.welch_df`) when both sides have the same spread and the pooled t statistic has
    noncentrality nc (a number, or an array: one power each).

    With equal n, Welch's statistic *is* the pooled one (noncentral t, df = 2n - 2); only its
    degrees of freedom vary, through r = s_a² / (s_a² + s_b²), which is Beta((n-1)/2, (n-1)/2)
    and independent of the statistic. The power is the average over r of the pooled test's power
    at Welch's critical value: exact up to the quantile rule over r. With unequal n Welch's test
    uses min(n) - 1 degrees of freedom; the power is taken at the pooled df: an upper bound.
    """
    nc = np.asarray(nc, dtype=float)[..., None]
    df = n_a + n_b - 2
    if n_a != n_b:
        return np.mean(_power_two_sided_at(nc, df, sps.t.ppf(1 - alpha / 2, min(n_a, n_b) - 1)), axis=-1)
    shape = (n_a - 1) / 2
    r = sps.beta.ppf((np.arange(WELCH_NODES) + 0.5) / WELCH_NODES, shape, shape)
    used = welch_df((n_a - 1) / (r ** 2 + (1 - r) ** 2), n_a, n_b)
    return np.mean(_power_two_sided_at(nc, df, sps.t.ppf(1 - alpha / 2, used)), axis=-1)


def _power_two_sided_at(nc, df: float, c):
    """P(|T| > c) for T noncentral t (df, nc); nc and c may be arrays (broadcast)."""
    wrong_side = np.nan_to_num(sps.nct.cdf(-c, df, nc), nan=0.0)  # nan far in that tail (nc > 4): < Phi(-nc)
    return sps.nct.sf(c, df, nc) + wrong_side


def _se_df(sd: float, n_a: int, n_b: int, paired: bool) -> tuple[float, int]:
    """Standard error of the difference of means and the degrees of freedom of its spread: for a
    paired design `sd` is the spread of the per-seed differences (n_a = n_b pairs)."""
    if paired:
        return sd / math.sqrt(n_a), n_a - 1
    return sd * math.sqrt(1 / n_a + 1 / n_b), n_a + n_b - 2


def _power_at(nc: float, n_a: int, n_b: int, alpha: float, paired: bool, spread_df: float | None = None) -> float:
    """Power of the two-sided test at noncentrality nc (at the observed spread), averaged over the
    true spread when `spread_df` says how uncertain that spread is: the paired t-test's exactly
    (noncentral t, n - 1 df), Welch's by `_power_welch`."""
    ncs = nc / spread_ratios(spread_df)
    if paired:
        return float(np.mean(_power_two_sided_at(ncs, n_a - 1, sps.t.ppf(1 - alpha / 2, n_a - 1))))
    return float(np.mean(_power_welch(ncs, n_a, n_b, alpha)))


def power_difference(diff: float, sd: float, n_a: int, n_b: int, alpha: float = ALPHA, paired: bool = False,
                     spread_df: float | None = None) -> float:
    """Chance that the two-sided test at level alpha (the test the verdicts use: Welch's, or with
    `paired` the paired t-test) finds a true difference `diff` significant. `sd`: the seed-to-seed
    spread on both sides (Welch), or that of the per-seed differences (paired); with `spread_df`
    (the degrees of freedom it was estimated with) the power is averaged over what the true
    spread may be (`spread_ratios`)."""
    _check(sd, n_a, n_b, alpha, paired=paired)
    if min(n_a, n_b) < 2:
        return 0.0  # Welch's test needs two values per side
    se, _ = _se_df(sd, n_a, n_b, paired)
    return _power_at(abs(diff) / se, n_a, n_b, alpha, paired, spread_df)


def power_equivalence(diff: float, sd: float, margin: float, n_a: int, n_b: int, alpha: float = ALPHA,
                      paired: bool = False, spread_df: float | None = None) -> float:
    """Chance that TOST at level alpha shows |difference| < margin when the true difference is `diff`
    (with `paired`, the paired TOST and `sd` the spread of the per-seed differences); with
    `spread_df`, averaged over what the true spread may be (`spread_ratios`).

    Exact for the pooled-variance TOST under normal noise (the bivariate noncentral-t power of
    Owen 1965 / Phillips 1990, written as one integral): given the estimated spread s, the observed
    difference D ~ N(diff, se²) must fall in (-margin + t·ŝe, margin - t·ŝe), where
    ŝe = se·s/sd and s²/sd²·df ~ chi²(df); the integral runs over the chi² quantiles.
    """
    _check(sd, n_a, n_b, alpha, paired=paired)
    if not (margin > 0 and math.isfinite(margin)):
        raise ValueError(f"the equivalence margin must be a positive number, got {margin!r}")
    return float(np.mean(_power_equivalence_at(diff, sd * spread_ratios(spread_df), margin, n_a, n_b, alpha, paired)))


EQUIVALENCE_NODES = 32  # Gauss-Legendre points over the estimated spread's chi² values (see _power_equivalence_at)
EQUIVALENCE_SHARES = 8  # quantile nodes over Welch's variance share r there (_power_welch uses WELCH_NODES)


def _power_equivalence_at(diff: float, sd: np.ndarray, margin: float, n_a: int, n_b: int, alpha: float,
                          paired: bool) -> np.ndarray:
    """power_equivalence at each spread in `sd` (an array): the integral over the chi² value v of
    the estimated spread, Gauss-Legendre on [0, v_max], beyond which the acceptance interval is
    empty (within 1e-4 of adaptive quadrature). Welch's TOST with equal seeds is the pooled one at
    its own critical value, which depends on the variance share r only (as in `_power_welch`):
    averaged over r's quantiles."""
    se, df = _se_df(1.0, n_a, n_b, paired)
    se = se * np.asarray(sd, dtype=float)[:, None, None]  # (R, 1, 1)
    if paired:
        used = np.array([float(df)])
    elif n_a != n_b:
        used = np.array([min(n_a, n_b) - 1.0])
    else:
        shape = (n_a - 1) / 2
        r = sps.beta.ppf((np.arange(EQUIVALENCE_SHARES) + 0.5) / EQUIVALENCE_SHARES, shape, shape)
        used = welch_df((n_a - 1) / (r ** 2 + (1 - r) ** 2), n_a, n_b)
    t = sps.t.ppf(1 - alpha, used)[None, :, None]  # (1, W, 1)
    # Where the chi² density has all but 1e-12 of its mass, up to v_max (the interval is empty beyond).
    low = float(special.chdtri(df, 1 - 1e-12)) if df > 2 else 0.0
    high = np.minimum(df * (margin / (t * se)) ** 2, float(special.chdtri(df, 1e-12)))  # (R, W, 1)
    width = np.maximum(high - low, 0.0)
    x, w = np.polynomial.legendre.leggauss(EQUIVALENCE_NODES)
    v = low + width * (x + 1) / 2  # (R, W, Q)
    h = t * se * np.sqrt(v / df)
    inside = np.maximum(0.0, special.ndtr((margin - h - diff) / se) - special.ndtr((-margin + h - diff) / se))
    density = np.exp((df / 2 - 1) * np.log(np.maximum(v, 1e-300)) - v / 2 - special.gammaln(df / 2) - df / 2 * np.log(2))
    return ((inside * density) @ w * width[..., 0] / 2).mean(axis=1)


def detectable_difference(sd: float, n_a: int, n_b: int, alpha: float = ALPHA, power: float = POWER,
                          paired: bool = False, spread_df: float | None = None) -> float:
    """Smallest true difference the two-sided test at level alpha (Welch's, or the paired t-test)
    detects with `power`, at seed-to-seed spread `sd` (pooled; paired: of the per-seed differences)
    with n_a and n_b seeds (two or more each); in sd's units, 0 when sd is 0. With `spread_df`,
    the power is the average over what the true spread may be given sd (`spread_ratios`), so the
    promise holds on average rather than only if sd were exact. In a Holm family of m tests pass
    alpha / m: a p-value below it is rejected whatever the others are, so the power within the
    family is at least `power`."""
    _check(sd, n_a, n_b, alpha, power, sd_zero_ok=True, paired=paired)
    if min(n_a, n_b) < 2:
        raise ValueError(f"Welch's test needs two values per side, got {n_a} and {n_b}")

    def short(nc):
        return _power_at(nc, n_a, n_b, alpha, paired, spread_df) - power

    hi = 1.0
    while short(hi) < 0:
        hi *= 2
    nc = optimize.brentq(short, 0.0, hi, xtol=1e-8)
    return float(nc * _se_df(sd, n_a, n_b, paired)[0])


@dataclass(frozen=True)
class SeedsNeeded:
    """How many seeds per model (in all, counting those already run) would decide a comparison.

    verdict: "better" (a significant difference) or "equivalent" (within ±margin), whichever is
    more likely at n; power_better/power_equivalent: the two chances at n. When even max_seeds
    would not do, n and verdict are None and the powers are those at max_seeds.
    """
    n: int | None
    verdict: str | None
    power_better: float
    power_equivalent: float
    max_seeds: int
    fresh: bool = False  # in a new study planned for n seeds (this one has spent its level), not by adding seeds

    @property
    def beyond_max(self) -> bool:
        return self.n is None

    @property
    def power(self) -> float | None:
        """The chance of reaching `verdict` at n."""
        return None if self.n is None else max(self.power_better, self.power_equivalent)


def seeds_needed(diff: float, sd: float, margin: float, alpha: float = ALPHA, power: float = POWER,
                 max_seeds: int = MAX_SEEDS, paired: bool = False, spread_df: float | None = None) -> SeedsNeeded:
    """The smallest equal number of seeds per model (2..max_seeds) at which, if the observed
    difference `diff` and spread `sd` (pooled; paired: of the per-seed differences) were the
    truth, the comparison would be decided with
    at least `power`: a two-sided t-test at level alpha finds the difference (`power_difference`),
    or TOST at level alpha shows equivalence within ±margin (`power_equivalence`, exact).

    `alpha` is the level the decision will be made at: for a family of m comparisons corrected
    with Holm pass alpha / m (the level Holm applies to the smallest p-value; the others are
    tested less strictly, so this is conservative), and after earlier looks what the plan has left.
    With `spread_df` the powers are averaged over what the true spread may be (`spread_ratios`).
    When |diff| >= margin equivalence cannot be shown (its power stays below alpha), so only a
    difference can decide; with diff = 0 only equivalence can. Both powers grow with n, so the
    smallest n is found by bisection.
    """
    if not (margin > 0 and math.isfinite(margin)):
        raise ValueError(f"the equivalence margin must be a positive number, got {margin!r}")
    _check(sd, 2, 2, alpha, power)
    if max_seeds < 2:
        raise ValueError(f"max_seeds must be at least 2, got {max_seeds!r}")

    def powers(n):
        return (power_difference(diff, sd, n, n, alpha, paired, spread_df),
                power_equivalence(diff, sd, margin, n, n, alpha, paired, spread_df))

    at_max = powers(max_seeds)
    if max(at_max) < power:
        return SeedsNeeded(None, None, *at_max, max_seeds)
    low, high, at_high = 1, max_seeds, at_max  # decided at high; not at low (n = 1 has no spread)
    while high - low > 1:
        mid = (low + high) // 2
        at_mid = powers(mid)
        if max(at_mid) >= power:
            high, at_high = mid, at_mid
        else:
            low = mid
    better, equivalent = at_high
    return SeedsNeeded(high, "better" if better >= equivalent else "equivalent", better, equivalent, max_seeds)
