"""Comparing times to an event where some runs never had it: the log-rank test on censored times
(scipy.stats.logrank). A run that never reached the target is censored at the time it stopped,
which is what it showed; dropping it, or giving it its last time as if it had reached the target,
would flatter the slower model."""

import math
import warnings

from cnnlab.stats.scipy_lazy import sps


def logrank_p(times_a, reached_a, times_b, reached_b) -> float | None:
    """Two-sided log-rank p-value of "a and b reach the target at the same rate"; None when it
    cannot be tested (fewer than two runs a side, no run reached the target at all, or every run
    reached it at the same time)."""
    if min(len(times_a), len(times_b)) < 2 or not (any(reached_a) or any(reached_b)):
        return None
    a = sps.CensoredData(uncensored=[t for t, r in zip(times_a, reached_a) if r],
                         right=[t for t, r in zip(times_a, reached_a) if not r])
    b = sps.CensoredData(uncensored=[t for t, r in zip(times_b, reached_b) if r],
                         right=[t for t, r in zip(times_b, reached_b) if not r])
    with warnings.catch_warnings():  # every time tied: scipy divides by a variance of zero
        warnings.simplefilter("ignore", RuntimeWarning)
        p = float(sps.logrank(a, b, alternative="two-sided").pvalue)
    return p if math.isfinite(p) else None
