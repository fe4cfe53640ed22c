"""Statistics over seeds: mean, spread, t-based confidence intervals, Welch's and the paired t-test.

With a handful of seeds the normal approximation (mean ± 1.96·SE) is too optimistic, so
every interval here uses Student's t distribution. Two models are compared with Welch's
test, which does not assume equal variances; its degrees of freedom come from the
Welch–Satterthwaite formula, the same ones scipy uses for the p-value, so the interval
and the p-value always tell the same story. Nothing is computed from fewer than two
values: one seed has no spread to test against.

Accuracies are fractions in [0, 1], and a plain t interval of a few spread-out seeds can leave
that range (two seeds at 0.99 and 0.60 give [-1.68, 3.27]). `accuracy_interval` therefore
works on the logit scale, log(p / (1 - p)), which maps [0, 1] onto the whole real line: the t
interval of the seeds' logits is mapped back with the logistic function, so its ends always
lie inside [0, 1]. Values of exactly 0 or 1 (infinite logits) are first moved `eps` inside the
range. For seeds close together, as they usually are, the logit is nearly straight over their
span and the interval matches the plain t interval closely (four seeds around 98%: within 0.02
points); it differs markedly only where the plain one would run out of range. In one sentence, for a report: "Accuracy
intervals are 95% Student-t intervals computed on the logit scale and mapped back, so they
always stay within 0–100%."
"""

import math
import warnings
from dataclasses import dataclass

import numpy as np

from cnnlab.report.scipy_stats import sps

ALPHA = 0.05  # 95% intervals, 5% significance level


@dataclass(frozen=True)
class Summary:
    """mean, sample std (ddof=1) and 95% CI of the mean; std/CI are None for n < 2."""
    n: int
    mean: float | None
    std: float | None
    ci_low: float | None
    ci_high: float | None


def _clean(values) -> np.ndarray:
    """Finite values only: a missing measurement (None/NaN) must not poison the mean."""
    out = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    return np.asarray(out, dtype=float)


def summarize(values, confidence: float = 1 - ALPHA) -> Summary:
    """No interval (ci None) when every value is the same: a spread of zero is not evidence that
    the mean is exact, only that these seeds could not show how much it varies."""
    x = _clean(values)
    n = len(x)
    if n == 0:
        return Summary(0, None, None, None, None)
    mean = float(x.mean())
    if n < 2:
        return Summary(1, mean, None, None, None)
    std = float(x.std(ddof=1))
    if x.min() == x.max():
        return Summary(n, mean, std, None, None)
    half = float(sps.t.ppf(0.5 + confidence / 2, df=n - 1)) * std / math.sqrt(n)
    return Summary(n, mean, std, mean - half, mean + half)


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


def welch_se_df(a: np.ndarray, b: np.ndarray) -> tuple[float | None, float | None]:
    """Standard error of mean(a) - mean(b) and its Welch–Satterthwaite degrees of freedom, for
    cleaned samples of at least two values each; (None, None) when neither side varies (up to rounding)."""
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    se = math.sqrt(va + vb)
    if se <= 1e-12 * max(abs(a).max(), abs(b).max(), 1e-300):
        return None, None
    df = (va + vb) ** 2 / (va ** 2 / (len(a) - 1) + vb ** 2 / (len(b) - 1))
    return se, float(df)


def welch(a, b, confidence: float = 1 - ALPHA) -> Difference:
    a, b = _clean(a), _clean(b)
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
    with warnings.catch_warnings():
        # scipy warns about precision when one side is (nearly) constant; Welch's test is fine then.
        warnings.simplefilter("ignore", RuntimeWarning)
        p = float(sps.ttest_ind(a, b, equal_var=False).pvalue)
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


def _tested(p) -> bool:
    return p is not None and not math.isnan(p)


def holm(pvalues):
    """Holm–Bonferroni adjusted p-values (None and NaN stay as they are), in the input order.

    Comparing every pair of k models makes k(k-1)/2 tests; at 5% each, some would come out
    "significant" by chance alone. Holm's step-down correction keeps the chance of any
    false claim below 5% and is never less powerful than plain Bonferroni. Only the tested
    p-values (not None, not NaN) form the family, as in statsmodels' `multipletests`.
    """
    adjusted = list(pvalues)
    indexed = sorted((p, i) for i, p in enumerate(pvalues) if _tested(p))
    m = len(indexed)
    running = 0.0
    for rank, (p, i) in enumerate(indexed):
        running = max(running, min(1.0, (m - rank) * p))  # monotone: never below an earlier one
        adjusted[i] = running
    return adjusted


def holm_levels(pvalues, alpha: float = ALPHA):
    """Per p-value, the level Holm's procedure compares it with, for intervals that agree with
    the Holm verdicts (None where p is None/NaN).

    Holm rejects the r-th smallest of m p-values when it and every smaller one lie below
    alpha / (m - rank + 1). A rejected test gets its own level; every test from the first
    one not rejected on gets that one's level, which its p-value also fails. A two-sided
    interval at confidence 1 - level then excludes zero exactly when the verdict is "better".
    """
    order = sorted((p, i) for i, p in enumerate(pvalues) if _tested(p))
    m = len(order)
    levels = [None] * len(pvalues)
    stop = None
    for rank, (p, i) in enumerate(order):
        level = alpha / (m - rank)
        if stop is None and p >= level:
            stop = level
        levels[i] = level if stop is None else stop
    return levels


ACCURACY_EPS = 1e-4  # how far inside [0, 1] an accuracy of exactly 0 or 1 is moved before taking its logit


def accuracy_interval(values, confidence: float = 1 - ALPHA, eps: float = ACCURACY_EPS):
    """(low, high): a t interval for accuracies (fractions) that never leaves [0, 1]; (None, None) for n < 2.

    The t interval of logit(values) mapped back through the logistic function (see the module
    docstring). `eps`: values are clipped to [eps, 1 - eps] first; 0.5 / (number of test
    images) is the natural choice when it is known (half an image), the default 1e-4 otherwise.
    Identical values give (None, None), like `summarize`: no spread, no interval. The interval is widened, if need be,
    to contain the plain mean it is reported with: clipping at `eps` could otherwise leave a
    mean of exactly 1.0 just outside an interval ending at 1 - eps.
    """
    x = _clean(values)
    if ((x < 0) | (x > 1)).any():
        raise ValueError(f"accuracies are fractions in [0, 1], got {x.min():g}..{x.max():g}")
    if len(x) < 2:
        return None, None
    mean = float(x.mean())
    if x.min() == x.max():
        return None, None
    logits = sps.logistic.ppf(np.clip(x, eps, 1 - eps))  # logit
    s = summarize(logits, confidence)
    if s.ci_low is None:  # apart by less than eps: no spread to speak of
        return None, None
    low, high = float(sps.logistic.cdf(s.ci_low)), float(sps.logistic.cdf(s.ci_high))
    return min(low, mean), max(high, mean)


def accuracy_eps(images: int | None) -> float:
    """Half an image of `images` (how far inside [0, 1] to move an accuracy of 0 or 1); ACCURACY_EPS
    when the number of images is not known."""
    return 0.5 / images if isinstance(images, int) and images > 0 else ACCURACY_EPS


def summarize_accuracy(values, confidence: float = 1 - ALPHA, images: int | None = None) -> Summary:
    """`summarize` for accuracies over `images` images: the same n, mean and std, with the bounded
    `accuracy_interval` (eps: half an image)."""
    s = summarize(values, confidence)
    low, high = accuracy_interval(values, confidence, accuracy_eps(images))
    return Summary(s.n, s.mean, s.std, low, high)
