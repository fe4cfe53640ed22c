"""Describing one model's values over seeds: mean, spread and a t-based confidence interval.

With a handful of seeds the normal approximation (mean ± 1.96·SE) is too optimistic, so
every interval here uses Student's t distribution. Nothing is computed from fewer than two
values: one seed has no spread.

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
from dataclasses import dataclass

import numpy as np

from cnnlab.stats.constants import ALPHA
from cnnlab.stats.scipy_lazy import sps


@dataclass(frozen=True)
class Summary:
    """mean, sample std (ddof=1) and 95% CI of the mean; std/CI are None for n < 2."""
    n: int
    mean: float | None
    std: float | None
    ci_low: float | None
    ci_high: float | None


def clean(values) -> np.ndarray:
    """Finite values only: a missing measurement (None/NaN) must not poison the mean."""
    out = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    return np.asarray(out, dtype=float)


def summarize(values, confidence: float = 1 - ALPHA) -> Summary:
    """No interval (ci None) when every value is the same: a spread of zero is not evidence that
    the mean is exact, only that these seeds could not show how much it varies."""
    x = clean(values)
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
    x = clean(values)
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
