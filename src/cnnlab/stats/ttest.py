"""Two models' values over seeds: the difference of their means with its t interval and test
(Welch's, or the paired t-test over matched seeds), and equivalence within a margin (TOST).

Welch's test does not assume equal variances. Its degrees of freedom are the
Welch–Satterthwaite ones moved towards min(n) - 1 (`welch_df`): with a handful of seeds and
spreads that differ, Satterthwaite's estimate lets a 1% test reject up to 1.5x (equal seeds) and
6x (3 against 24 seeds) too often, while min(n) - 1 (Hsu's) never does; the interval and the
p-value use the same degrees of freedom, so they always tell the same story. The paired test works on per-seed differences (seed s of
one model against seed s of the other), with n - 1 degrees of freedom. TOST (Schuirmann's two
one-sided tests) shows |difference| < margin when the (1 - 2·alpha) interval lies inside
±margin. Nothing is tested with fewer than two values per side, or when nothing varies: a
spread of zero does not make a difference exact.
"""

import math
from dataclasses import dataclass

import numpy as np

from cnnlab.stats.constants import ALPHA
from cnnlab.stats.scipy_lazy import sps
from cnnlab.stats.summary import clean


@dataclass(frozen=True)
class Difference:
    """mean(a) - mean(b), its 95% Welch CI and the two-sided Welch t-test p-value.

    ci/p are None when either side has fewer than two values or when neither side varies at all:
    there is nothing to test then (a spread of zero does not make the difference exact).
    """
    n_a: int
    n_b: int
    diff: float | None
    ci_low: float | None
    ci_high: float | None
    df: float | None
    p: float | None

    def reversed(self) -> "Difference":
        """b against a: the same test, the difference and its interval negated."""
        return Difference(self.n_b, self.n_a, _neg(self.diff), _neg(self.ci_high), _neg(self.ci_low), self.df, self.p)


def _neg(x):
    return None if x is None else -x


# How far Welch's degrees of freedom go from Hsu's min(n) - 1 towards Satterthwaite's estimate, with
# the same seeds per model. Simulated (normal seeds, sd ratio 1 to 4, 3 to 24 seeds each, two-sided
# levels 5%, 1%, 0.3%, and group-sequential looks at 3..10, 3-6-12-24-48 and 6-12-20 seeds): 0.3
# keeps every rate at or below its level (the worst: 4.9% of a 5% plan); Satterthwaite's own (1.0)
# reaches 1.5x the level. With unequal seeds even 0.1 runs over, so then Hsu's min(n) - 1 is used.
WELCH_DF_SHARE = 0.3


def welch_df(satterthwaite: float, n_a: int, n_b: int, share: float = WELCH_DF_SHARE):
    """The degrees of freedom Welch's test uses (see WELCH_DF_SHARE); works on arrays too."""
    floor = min(n_a, n_b) - 1.0
    if n_a != n_b:
        return satterthwaite * 0 + floor
    return floor + share * (satterthwaite - floor)


def welch_se_df(a: np.ndarray, b: np.ndarray) -> tuple[float | None, float | None]:
    """Standard error of mean(a) - mean(b) and the degrees of freedom of Welch's test (`welch_df`),
    for cleaned samples of at least two values each; (None, None) when neither side varies (up to
    rounding)."""
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    se = math.sqrt(va + vb)
    if se <= 1e-12 * max(abs(a).max(), abs(b).max(), 1e-300):
        return None, None
    satterthwaite = (va + vb) ** 2 / (va ** 2 / (len(a) - 1) + vb ** 2 / (len(b) - 1))
    return se, float(welch_df(satterthwaite, len(a), len(b)))


def welch(a, b, confidence: float = 1 - ALPHA) -> Difference:
    a, b = clean(a), clean(b)
    n_a, n_b = len(a), len(b)
    if n_a == 0 or n_b == 0:
        return Difference(n_a, n_b, None, None, None, None, None)
    diff = float(a.mean() - b.mean())
    if n_a < 2 or n_b < 2:
        return Difference(n_a, n_b, diff, None, None, None, None)
    se, df = welch_se_df(a, b)
    if se is None:  # both sides constant (up to rounding): nothing to test, and no interval either
        return Difference(n_a, n_b, diff, None, None, None, None)
    half = float(sps.t.ppf(0.5 + confidence / 2, df=df)) * se
    p = float(2 * sps.t.sf(abs(diff) / se, df))
    return Difference(n_a, n_b, diff, diff - half, diff + half, float(df), p)


def paired_se_df(a: np.ndarray, b: np.ndarray) -> tuple[float | None, float | None]:
    """Standard error of mean(a - b) over matched values (seed i of a with seed i of b) and its
    n - 1 degrees of freedom; (None, None) when the differences do not vary (up to rounding)."""
    d = a - b
    se = math.sqrt(d.var(ddof=1) / len(d))
    if se <= 1e-12 * max(abs(a).max(), abs(b).max(), 1e-300):
        return None, None
    return se, float(len(d) - 1)


def paired(a, b, confidence: float = 1 - ALPHA) -> Difference:
    """mean(a - b) over matched values, its t interval and the two-sided paired t-test p-value
    (scipy.stats.ttest_rel). `a` and `b` are aligned: value i of each comes from the same seed
    (the same data order, augmentation draws and test images). n_a = n_b = the number of pairs;
    ci/p are None with fewer than two pairs or when the differences do not vary."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(f"a paired test needs two aligned lists of values, got {a.shape} and {b.shape}")
    n = len(a)
    if n == 0:
        return Difference(0, 0, None, None, None, None, None)
    diff = float((a - b).mean())
    if n < 2:
        return Difference(n, n, diff, None, None, None, None)
    se, df = paired_se_df(a, b)
    if se is None:
        return Difference(n, n, diff, None, None, None, None)
    half = float(sps.t.ppf(0.5 + confidence / 2, df=df)) * se
    p = float(2 * sps.t.sf(abs(diff) / se, df))
    return Difference(n, n, diff, diff - half, diff + half, df, p)



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

    def reversed(self) -> "Equivalence":
        """b against a: the same test, the difference negated."""
        return Equivalence(self.n_b, self.n_a, self.margin, self.alpha, _neg(self.diff), _neg(self.ci_high),
                           _neg(self.ci_low), self.df, self.p_upper, self.p_lower, self.p)

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
        a, b = clean(a), clean(b)
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
