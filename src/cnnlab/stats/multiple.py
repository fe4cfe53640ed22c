"""Many comparisons at once: Holm's step-down correction and the level each test is held to."""

import math

from cnnlab.stats.constants import ALPHA


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
