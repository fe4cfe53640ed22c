"""Group-sequential tests: one comparison looked at again as seeds accumulate.

Testing the same pair after every batch of new seeds gives chance a new try each time. Each
look k spends a share of the level, alpha_1 / k² (alpha_1: the first look's level, the same
shares as `looks_alpha`, which sum to alpha_1 · π²/6 over any number of looks), but the
boundaries here are the group-sequential ones (Armitage, McPherson & Rowe 1969; Lan & DeMets
1983): the statistics of nested samples are correlated, so the chance of crossing first at look
k can be held at its share instead of being bounded by it, and a later look is tested less
strictly than a Bonferroni split over looks would test it (looks at 3, 6, 12 seeds, paired:
look 2 at 1.1% instead of 0.76%, look 3 at 0.52% instead of 0.34%).

The boundaries are computed for z statistics with independent increments by numerical
integration over a grid, then turned into t boundaries with each look's own degrees of freedom
by matching the tail probability (the usual transformation for t-tests; Jennison & Turnbull
2000, ch. 11). With few seeds, t statistics of nested samples are less correlated than z
statistics (each look estimates the spread anew), and boundaries computed with the seeds as
information let the error run over its share (4.5-5.5% where 4.1-4.6% was spent, simulated);
computed with the degrees of freedom as information (n - 1 paired, n_a + n_b - 2 unpaired) they
hold it within a tenth of a point: 4.2% at 2, 4, 8 paired seeds, 4.4% at 3, 6, 12, 24 and 4.9%
over seven looks at 2..8 seeds, below alpha in every case (tests/report/test_sequential.py).

A pair's *sequential p-value* is the smallest first-look level at which some look of the pair
crosses its boundary (the repeated p-value of Jennison & Turnbull, ch. 9). With one look it is
the look's own p-value. It is nonincreasing as looks are added, so a comparison once decided
stays decided, and a family of them can be Holm-adjusted like any p-values (a Holm procedure
over group-sequential tests: Maurer & Bretz 2013).
"""

import math
from functools import lru_cache

import numpy as np

from cnnlab.stats.scipy_lazy import optimize, special, sps

GRID = 241  # points per look in the numerical integration
FIRST_LOOK_SHARE = 6 / math.pi ** 2  # the first look's share of alpha: 1/k² summed over every k is π²/6
MAX_FIRST_LEVEL = FIRST_LOOK_SHARE  # shares 1/k² of this first level add up to at most 1
TINY = 1e-9  # a sequential p-value below it is given as its upper bound, min over looks of p_k · k²


def spend(first_level: float, looks: int) -> list[float]:
    """What each look spends: first_level / k² at look k (the one spending rule)."""
    return [first_level / k ** 2 for k in range(1, looks + 1)]


def looks_alpha(alpha: float, looks: int) -> float:
    """The share of alpha the `looks`-th look at the same comparisons spends, as seeds accumulate
    (looks = 1: the first look): alpha · 6 / (π² · looks²), i.e. 3.04%, 0.76%, 0.34%, 0.19% ... at 5%.
    These shares sum to alpha over any number of looks; the first look cannot be tested at the
    full alpha when more may follow, and 6/π² keeps most of it there, where most studies stop."""
    if looks < 1 or int(looks) != looks:
        raise ValueError(f"looks must be a whole number >= 1, got {looks!r}")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must lie in (0, 1), got {alpha!r}")
    return spend(alpha * FIRST_LOOK_SHARE, int(looks))[-1]


@lru_cache(maxsize=4096)
def z_boundaries(info: tuple[float, ...], first_level: float, sides: int) -> tuple[float, ...]:
    """Boundaries b_k for Z_k (standard normal at each look, increments independent in `info`) such
    that, with no difference, the chance of |Z_k| >= b_k (sides 2) or Z_k >= b_k (sides 1) first at
    look k is first_level / k²."""
    shares = spend(first_level, len(info))
    b = -float(special.ndtri(shares[0] / sides))  # the upper tail, accurate however small the share
    bounds = [b]
    # density of S_1 = Z_1 * sqrt(I_1) on the region where the first look did not cross
    x = _region(b, info[0], sides)
    f = np.exp(-x ** 2 / (2 * info[0])) / math.sqrt(2 * math.pi * info[0])
    w = _weights(x)
    for k in range(1, len(info)):
        step = info[k] - info[k - 1]
        if step <= 0:
            raise ValueError(f"looks must add information, got {info}")
        mass = w * f
        root = math.sqrt(info[k])

        def crossing(b):
            upper = special.ndtr((x - b * root) / math.sqrt(step))  # P(S_k >= b·sqrt(I_k) | S_{k-1} = x)
            if sides == 2:
                upper = upper + special.ndtr((-b * root - x) / math.sqrt(step))
            return float(mass @ upper)

        target = shares[k]
        if crossing(0.0 if sides == 2 else -8.0) <= target:  # (not reached: shares sum to at most 1)
            b = 0.0
        else:
            high = 1.0
            while crossing(high) > target:
                high *= 2
            b = optimize.brentq(lambda b: crossing(b) - target, -8.0 if sides == 1 else 0.0, high, xtol=1e-10)
        bounds.append(float(b))
        y = _region(b, info[k], sides)
        kernel = np.exp(-(y[:, None] - x[None, :]) ** 2 / (2 * step)) / math.sqrt(2 * math.pi * step)
        f, x, w = kernel @ mass, y, _weights(y)
    return tuple(bounds)


def _region(b: float, info: float, sides: int) -> np.ndarray:
    """Grid over the values of S = Z·sqrt(info) that do not cross b (below -8 sd: nothing)."""
    top = b * math.sqrt(info)
    low = -top if sides == 2 else -8.0 * math.sqrt(info)
    return np.linspace(low, top, GRID)


def _weights(x: np.ndarray) -> np.ndarray:
    """Simpson's rule on the uniform grid x (odd number of points)."""
    h = x[1] - x[0]
    w = np.full(len(x), 2.0)
    w[1:-1:2] = 4.0
    w[0] = w[-1] = 1.0
    return w * h / 3


def t_boundaries(info, dfs, first_level: float, sides: int) -> list[float]:
    """The boundaries for t statistics with `dfs` degrees of freedom at each look: the t value with
    the same tail probability as the z boundary."""
    z = z_boundaries(tuple(float(i) for i in info), float(first_level), sides)
    return [float(sps.t.isf(special.ndtr(-b), df)) for b, df in zip(z, dfs)]


def crossed(stats, info, dfs, first_level: float, sides: int) -> int | None:
    """The first look (0-based) whose statistic reaches its boundary at `first_level`, or None."""
    for k, (t, c) in enumerate(zip(stats, t_boundaries(info, dfs, first_level, sides))):
        if (abs(t) if sides == 2 else t) >= c * (1 - 1e-12):  # at its own p-value a look crosses, rounding aside
            return k
    return None


def _look_p(t: float, df: float, sides: int) -> float:
    return float(2 * sps.t.sf(abs(t), df) if sides == 2 else sps.t.sf(t, df))


def sequential_p(stats, info, dfs, sides: int, rtol: float = 1e-3) -> float:
    """The smallest first-look level at which some look's statistic crosses its boundary (looks
    nested, in order), found to a relative `rtol`, rounded up: the verdict it gives at a level
    below it is never stronger than the boundaries'. One look: its own t-test p-value. 1.0 when no
    look crosses even at the largest first level (6/π²).

    Look k crosses at first level L when its own p-value is at most the nominal level of its
    boundary, which lies between its share L/k² and the level spent up to it, below 1.65 L; so
    the answer lies between min_k p_k / 1.65 and min_k p_k · k², and bisection narrows it."""
    stats = [float(t) for t in stats]
    own = [_look_p(t, df, sides) for t, df in zip(stats, dfs)]
    if len(stats) == 1:
        return own[0]
    if crossed(stats, info, dfs, MAX_FIRST_LEVEL, sides) is None:
        return 1.0
    low = min(own) / (math.pi ** 2 / 6)
    high = min(min(p * k ** 2 for k, p in enumerate(own, start=1)), MAX_FIRST_LEVEL)
    if high < TINY:  # far past any level a verdict uses: the upper bound will do (and stays exact enough)
        return high
    while high / low > 1 + rtol:
        mid = math.sqrt(low * high)
        if crossed(stats, info, dfs, mid, sides) is None:
            low = mid
        else:
            high = mid
    return high
