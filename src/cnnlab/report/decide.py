"""Deciding a comparison: one model is better, the two are equivalent, or N seeds would tell.

"No significant difference" is not an answer: it does not say whether two models are alike or
whether a few seeds simply cannot tell. This module supplies the statistics for the two other
answers (the question engine and the wording live elsewhere):

- `tost`: equivalence within ±margin by two one-sided t-tests (Schuirmann's TOST; Welch's, or paired). The pair
  is equivalent when both one-sided tests reject, i.e. when the (1 - 2·alpha) Welch interval of the
  difference lies inside ±margin. A family of pairs is corrected exactly like the difference tests:
  pass the equivalence p-values of the family to `stats.holm` and compare the adjusted ones with
  the level (TOST's p is a p-value like any other, so Holm's guarantee holds for it unchanged).
- `detectable_difference`: the smallest true difference the seeds at hand detect with 80% power.
- `seeds_needed`: seeds per model that would decide the comparison, at the observed spread.
- `looks_alpha`: the share of alpha that look k spends as seeds accumulate (cnnlab.report.sequential).

Put together, for a family of m pairs (cnnlab.report.findings.decide_family): the difference test
(Welch's, or the paired t-test when the design pairs the seeds) and TOST, each pair's p-values
made sequential over its looks (cnnlab.report.sequential; with one look, the tests' own), then
Holm-adjusted and compared with the first look's level, looks_alpha(ALPHA, 1); an undecided
pair gets `detectable_difference(sd, n_a, n_b, alpha=<its last boundary's level at level / m>)`
and `seeds_needed(diff, sd, margin, alpha=looks_alpha(ALPHA, looks + 1) / m)` for the next look
(a p-value below level / m is rejected by Holm whatever the others are, so the power promised
within the family is a floor; the next look's boundary is never stricter than its Bonferroni
share, so that plan is conservative too).

The power of a difference (`power_difference`) is that of the test the verdicts use: Welch's
for normal seed-to-seed noise with the same spread on both sides (exact at equal seeds per model,
a lower bound otherwise), or the paired t-test's (exact, from the spread of the per-seed
differences). The power of equivalence (`power_equivalence`) is that of the pooled (or paired)
TOST, a little above Welch's TOST below about 6 seeds per model. Seeds are planned from the
observed difference and spread taken as the truth: a planning figure, itself as noisy as the
seeds it comes from (the wording says so when they are few).
"""

import math
import warnings
from dataclasses import dataclass

import numpy as np

from cnnlab.report.scipy_stats import integrate, optimize, special, sps

from cnnlab.report.stats import ALPHA, _clean, paired_se_df, welch_se_df

POWER = 0.8  # the conventional target: 4 chances in 5 of deciding when the assumed truth holds
MAX_SEEDS = 1000


@dataclass(frozen=True)
class Equivalence:
    """TOST of |mean(a) - mean(b)| < margin.

    p_lower tests H0 diff <= -margin, p_upper tests H0 diff >= +margin, p = max of the two.
    (ci_low, ci_high) is the (1 - 2·alpha) Welch interval of the difference: it lies strictly
    inside ±margin exactly when p < alpha. ci/df/p are None when either side has fewer than two
    values, or when neither side varies (`exact`): without a spread there is no test, and two
    models that scored the same on every seed are not thereby shown equivalent (rounded
    accuracies on a few hundred test images often do).
    """
    n_a: int
    n_b: int
    margin: float
    alpha: float
    diff: float | None
    ci_low: float | None
    ci_high: float | None
    df: float | None
    p_lower: float | None
    p_upper: float | None
    p: float | None

    @property
    def exact(self) -> bool:
        """Both sides have two or more values and none of them varies: nothing to test."""
        return self.p is None and self.n_a >= 2 and self.n_b >= 2

    def equivalent(self, p: float | None = None, alpha: float = ALPHA) -> bool | None:
        """Whether the pair is shown equivalent at level `alpha`; None when it cannot be tested.

        `p`: the Holm-adjusted p-value of this pair within its family (default: its own p).
        """
        if self.p is None:
            return None
        return (self.p if p is None else p) < alpha


def tost(a, b, margin: float, alpha: float = ALPHA, paired: bool = False) -> Equivalence:
    """Two one-sided t-tests of |mean(a) - mean(b)| < margin (margin in the values' units): Welch's,
    or with `paired` the paired ones over aligned values (value i of a and of b from one seed)."""
    if not (margin > 0 and math.isfinite(margin)):
        raise ValueError(f"the equivalence margin must be a positive number, got {margin!r}")
    if not 0 < alpha < 0.5:
        raise ValueError(f"alpha must lie in (0, 0.5), got {alpha!r}")
    if paired:
        a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
        if a.shape != b.shape:
            raise ValueError(f"a paired test needs two aligned lists of values, got {a.shape} and {b.shape}")
    else:
        a, b = _clean(a), _clean(b)
    n_a, n_b = len(a), len(b)
    none = dict(ci_low=None, ci_high=None, df=None, p_lower=None, p_upper=None, p=None)
    if n_a == 0 or n_b == 0:
        return Equivalence(n_a, n_b, margin, alpha, None, **none)
    diff = float(a.mean() - b.mean())
    if n_a < 2 or n_b < 2:
        return Equivalence(n_a, n_b, margin, alpha, diff, **none)
    se, df = paired_se_df(a, b) if paired else welch_se_df(a, b)
    if se is None:
        return Equivalence(n_a, n_b, margin, alpha, diff, **none)
    p_lower = float(sps.t.sf((diff + margin) / se, df))
    p_upper = float(sps.t.cdf((diff - margin) / se, df))
    half = float(sps.t.ppf(1 - alpha, df)) * se
    return Equivalence(n_a, n_b, margin, alpha, diff, diff - half, diff + half, df,
                       p_lower, p_upper, max(p_lower, p_upper))


def pooled_sd(a, b) -> float | None:
    """Pooled seed-to-seed standard deviation of two samples; None with fewer than 3 values in all
    (or an empty side). A side with a single value adds nothing to it but does not spoil it."""
    a, b = _clean(a), _clean(b)
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


def _power_welch(nc: float, n_a: int, n_b: int, alpha: float) -> float:
    """Power of Welch's two-sided test at level alpha when both sides have the same spread and the
    pooled t statistic has noncentrality nc.

    With equal n, Welch's statistic *is* the pooled one (noncentral t, df = 2n - 2); only its
    degrees of freedom vary, as (n - 1) / (r² + (1 - r)²) with r = s_a² / (s_a² + s_b²), which is
    Beta((n-1)/2, (n-1)/2) and independent of the statistic. The power is the average over r of
    the pooled test's power at Welch's critical value: exact up to the quantile rule over r.
    With unequal n the critical value is taken at Welch's smallest df, min(n) - 1: a lower bound.
    """
    df = n_a + n_b - 2
    if n_a != n_b:
        return _power_two_sided_at(nc, df, sps.t.ppf(1 - alpha / 2, min(n_a, n_b) - 1))
    shape = (n_a - 1) / 2
    r = sps.beta.ppf((np.arange(WELCH_NODES) + 0.5) / WELCH_NODES, shape, shape)
    welch_df = (n_a - 1) / (r ** 2 + (1 - r) ** 2)
    return float(np.mean(_power_two_sided_at(nc, df, sps.t.ppf(1 - alpha / 2, welch_df))))


def _power_two_sided_at(nc: float, df: float, c):
    """P(|T| > c) for T noncentral t (df, nc); c may be an array."""
    wrong_side = np.nan_to_num(sps.nct.cdf(-c, df, nc), nan=0.0)  # nan far in that tail (nc > 4): < Phi(-nc)
    return sps.nct.sf(c, df, nc) + wrong_side


def _se_df(sd: float, n_a: int, n_b: int, paired: bool) -> tuple[float, int]:
    """Standard error of the difference of means and the degrees of freedom of its spread: for a
    paired design `sd` is the spread of the per-seed differences (n_a = n_b pairs)."""
    if paired:
        return sd / math.sqrt(n_a), n_a - 1
    return sd * math.sqrt(1 / n_a + 1 / n_b), n_a + n_b - 2


def _power_at(nc: float, n_a: int, n_b: int, alpha: float, paired: bool) -> float:
    """Power of the two-sided test at noncentrality nc: the paired t-test's exactly (noncentral t,
    n - 1 df), Welch's by `_power_welch`."""
    if paired:
        return float(_power_two_sided_at(nc, n_a - 1, sps.t.ppf(1 - alpha / 2, n_a - 1)))
    return _power_welch(nc, n_a, n_b, alpha)


def power_difference(diff: float, sd: float, n_a: int, n_b: int, alpha: float = ALPHA, paired: bool = False) -> float:
    """Chance that the two-sided test at level alpha (the test the verdicts use: Welch's, or with
    `paired` the paired t-test) finds a true difference `diff` significant. `sd`: the seed-to-seed
    spread on both sides (Welch), or that of the per-seed differences (paired)."""
    _check(sd, n_a, n_b, alpha, paired=paired)
    if min(n_a, n_b) < 2:
        return 0.0  # Welch's test needs two values per side
    se, _ = _se_df(sd, n_a, n_b, paired)
    return _power_at(abs(diff) / se, n_a, n_b, alpha, paired)


def power_equivalence(diff: float, sd: float, margin: float, n_a: int, n_b: int, alpha: float = ALPHA,
                      paired: bool = False) -> float:
    """Chance that TOST at level alpha shows |difference| < margin when the true difference is `diff`
    (with `paired`, the paired TOST and `sd` the spread of the per-seed differences).

    Exact for the pooled-variance TOST under normal noise (the bivariate noncentral-t power of
    Owen 1965 / Phillips 1990, written as one integral): given the estimated spread s, the observed
    difference D ~ N(diff, se²) must fall in (-margin + t·ŝe, margin - t·ŝe), where
    ŝe = se·s/sd and s²/sd²·df ~ chi²(df); the integral runs over the chi² quantiles.
    """
    _check(sd, n_a, n_b, alpha, paired=paired)
    if not (margin > 0 and math.isfinite(margin)):
        raise ValueError(f"the equivalence margin must be a positive number, got {margin!r}")
    se, df = _se_df(sd, n_a, n_b, paired)
    t = sps.t.ppf(1 - alpha, df)
    v_max = df * (margin / (t * se)) ** 2  # beyond it the acceptance interval is empty

    def inside(u):  # P(D in the acceptance interval) at the chi² quantile u
        h = t * se * math.sqrt(special.chdtri(df, 1 - u) / df)
        return max(0.0, special.ndtr((margin - h - diff) / se) - special.ndtr((-margin + h - diff) / se))

    top = float(special.chdtr(df, v_max))
    if top <= 0:
        return 0.0
    with warnings.catch_warnings():
        # Far outside the margin the integrand is all but zero and quad warns of round-off; the
        # absolute error it reaches (1e-10) is what a power needs.
        warnings.simplefilter("ignore", integrate.IntegrationWarning)
        return float(integrate.quad(inside, 0, top, limit=200, epsabs=1e-10)[0])


def detectable_difference(sd: float, n_a: int, n_b: int, alpha: float = ALPHA, power: float = POWER,
                          paired: bool = False) -> float:
    """Smallest true difference the two-sided test at level alpha (Welch's, or the paired t-test)
    detects with `power`, at seed-to-seed spread `sd` (pooled; paired: of the per-seed differences)
    with n_a and n_b seeds (two or more each); in sd's units, 0 when sd is 0. In a Holm family of m
    tests pass alpha / m: a p-value below it is rejected whatever the others are, so the power
    within the family is at least `power`."""
    _check(sd, n_a, n_b, alpha, power, sd_zero_ok=True, paired=paired)
    if min(n_a, n_b) < 2:
        raise ValueError(f"Welch's test needs two values per side, got {n_a} and {n_b}")
    hi = 1.0
    while _power_at(hi, n_a, n_b, alpha, paired) < power:
        hi *= 2
    nc = optimize.brentq(lambda nc: _power_at(nc, n_a, n_b, alpha, paired) - power, 0.0, hi, xtol=1e-8)
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

    @property
    def beyond_max(self) -> bool:
        return self.n is None

    @property
    def power(self) -> float | None:
        """The chance of reaching `verdict` at n."""
        return None if self.n is None else max(self.power_better, self.power_equivalent)


def seeds_needed(diff: float, sd: float, margin: float, alpha: float = ALPHA, power: float = POWER,
                 max_seeds: int = MAX_SEEDS, paired: bool = False) -> SeedsNeeded:
    """The smallest equal number of seeds per model (2..max_seeds) at which, if the observed
    difference `diff` and spread `sd` (pooled; paired: of the per-seed differences) were the
    truth, the comparison would be decided with
    at least `power`: a two-sided t-test at level alpha finds the difference (`power_difference`),
    or TOST at level alpha shows equivalence within ±margin (`power_equivalence`, exact).

    `alpha` is the level the decision will be made at: for a family of m comparisons corrected
    with Holm pass alpha / m (the level Holm applies to the smallest p-value; the others are
    tested less strictly, so this is conservative), and after earlier looks `looks_alpha`'s level.
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
        return (power_difference(diff, sd, n, n, alpha, paired),
                power_equivalence(diff, sd, margin, n, n, alpha, paired))

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


LOOK_SHARE = 6 / math.pi ** 2  # the first look's share of alpha: 1/k² summed over every k is π²/6


def looks_alpha(alpha: float, looks: int) -> float:
    """The share of alpha the `looks`-th look at the same comparisons spends, as seeds accumulate
    (looks = 1: the first look): alpha · 6 / (π² · looks²), i.e. 3.04%, 0.76%, 0.34%, 0.19% ... at 5%.

    Adding seeds because a look was undecided, then testing again, gives chance more than one
    try. These shares sum to alpha over any number of looks, so tested at them alone (Bonferroni
    over looks) the chance of a false "better" over all looks is at most alpha. The verdicts
    spend them group-sequentially instead (cnnlab.report.sequential), which keeps the same
    guarantee and tests later looks less strictly. The first look cannot be tested at the full
    alpha when more may follow; 6/π² keeps most of it there, where most studies stop.
    """
    if looks < 1 or int(looks) != looks:
        raise ValueError(f"looks must be a whole number >= 1, got {looks!r}")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must lie in (0, 1), got {alpha!r}")
    return alpha * LOOK_SHARE / int(looks) ** 2
