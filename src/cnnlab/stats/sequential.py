"""Looks as seeds accumulate: a planned spending of the level over looks, group-sequential
boundaries, and each comparison's sequential p-value (docs/statistics.md, "Looks").

A study's plan says the most seeds per model it may reach (`plan`): `--max-seeds` under
`--until-decided`, else the seeds of its first look. Look k at n_k seeds per model has spent
`spent(alpha, n_k / plan)` of the level in all (Lan & DeMets 1983): a planned spending function
of the information fraction, so a study looked at once at its planned size is tested at the
full level, and seeds beyond the plan have nothing left to spend (they cannot change a verdict).

The boundaries are computed for z statistics with independent increments by numerical
integration over a grid (Armitage, McPherson & Rowe 1969), then turned into t boundaries with
each look's own degrees of freedom by matching the tail probability (Jennison & Turnbull 2000,
ch. 11). The information of a look is the degrees of freedom of its spread (n - 1 per model),
which holds the error of t statistics over looks where seeds as information would let it run
over (tests/stats/test_error_rates.py).

A comparison's sequential p-value is the smallest level at which one of its looks crosses its
boundary: each look's own repeated p-value (Jennison & Turnbull, ch. 9), the smallest level at
which that look crosses, depends on that look and the ones before it only, so the minimum over
looks can only fall as looks are added (a decided comparison stays decided), and a family of
them can be Holm-adjusted like any p-values (Maurer & Bretz 2013).
"""

import math
from functools import lru_cache

import numpy as np

from cnnlab.stats.scipy_lazy import optimize, special, sps

GRID = 241  # points per look in the numerical integration
SPENDING = ("pocock", "obrien-fleming")  # Lan-DeMets spending functions of the Pocock and O'Brien-Fleming types
DEFAULT_SPENDING = "pocock"  # chosen by decisions per CPU-hour (benchmarks/spending_designs.py, docs/statistics.md)
FLOOR = 1e-300  # no level below it: a boundary beyond every float


def spent(alpha: float, fraction: float, kind: str = DEFAULT_SPENDING) -> float:
    """The level spent in all by the look at information `fraction` of the plan (1 and beyond:
    all of alpha). Pocock type: alpha · ln(1 + (e - 1)·t), spent early; O'Brien-Fleming type:
    2 - 2·Phi(z_{alpha/2} / sqrt(t)), kept for the end."""
    if kind not in SPENDING:
        raise ValueError(f"unknown spending {kind!r}; valid: {', '.join(SPENDING)}")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must lie in (0, 1), got {alpha!r}")
    t = min(max(float(fraction), 0.0), 1.0)
    if t <= 0:
        return 0.0
    if t >= 1:
        return alpha
    if kind == "pocock":
        return alpha * math.log(1 + (math.e - 1) * t)
    return float(2 * special.ndtr(special.ndtri(alpha / 2) / math.sqrt(t)))


def fractions(info, plan_info: float) -> tuple[float, ...]:
    """Each look's information as a fraction of the plan's."""
    return tuple(min(1.0, float(i) / plan_info) for i in info)


@lru_cache(maxsize=8192)
def z_boundaries(info: tuple[float, ...], plan_info: float, alpha: float, sides: int,
                 kind: str = DEFAULT_SPENDING) -> tuple[float, ...]:
    """Boundaries b_k for Z_k (standard normal at each look, increments independent in `info`)
    such that, with no difference, the chance of |Z_k| >= b_k (sides 2) or Z_k >= b_k (sides 1)
    first at look k is what look k spends of alpha under the plan (math.inf: nothing to spend)."""
    shares = np.diff([0.0, *(spent(alpha, t, kind) for t in fractions(info, plan_info))])
    if not all(b > a for a, b in zip(info, info[1:])):
        raise ValueError(f"looks must add information, got {info}")
    first = shares[0] / sides
    b = math.inf if first <= 0 else -float(special.ndtri(min(first, 1.0)))  # the upper tail, however small
    bounds = [b]
    # density of S_1 = Z_1 * sqrt(I_1) on the region where the first look did not cross
    x = _region(b, info[0], sides)
    f = np.exp(-x ** 2 / (2 * info[0])) / math.sqrt(2 * math.pi * info[0])
    w = _weights(x)
    for k in range(1, len(info)):
        step = info[k] - info[k - 1]
        mass = w * f
        root = math.sqrt(info[k])

        def crossing(b):
            upper = special.ndtr((x - b * root) / math.sqrt(step))  # P(S_k >= b·sqrt(I_k) | S_{k-1} = x)
            if sides == 2:
                upper = upper + special.ndtr((-b * root - x) / math.sqrt(step))
            return float(mass @ upper)

        target = shares[k]
        low = 0.0 if sides == 2 else -8.0
        if target <= 0:
            b = math.inf
        elif crossing(low) <= target:
            b = low
        else:
            high = 1.0
            while crossing(high) > target and high < 64:
                high *= 2
            b = optimize.brentq(lambda b: crossing(b) - target, low, high, xtol=1e-12) if high < 64 else math.inf
        bounds.append(float(b))
        y = _region(b, info[k], sides)
        kernel = np.exp(-(y[:, None] - x[None, :]) ** 2 / (2 * step)) / math.sqrt(2 * math.pi * step)
        f, x, w = kernel @ mass, y, _weights(y)
    return tuple(bounds)


def _region(b: float, info: float, sides: int) -> np.ndarray:
    """Grid over the values of S = Z·sqrt(info) that do not cross b (beyond 8 sd: nothing)."""
    top = min(b, 8.0) * math.sqrt(info)
    low = -top if sides == 2 else -8.0 * math.sqrt(info)
    return np.linspace(low, top, GRID)


def _weights(x: np.ndarray) -> np.ndarray:
    """Simpson's rule on the uniform grid x (odd number of points)."""
    h = x[1] - x[0]
    w = np.full(len(x), 2.0)
    w[1:-1:2] = 4.0
    w[0] = w[-1] = 1.0
    return w * h / 3


def t_boundaries(info, plan_info: float, dfs, alpha: float, sides: int, kind: str = DEFAULT_SPENDING) -> list[float]:
    """The boundaries for t statistics with `dfs` degrees of freedom at each look: the t value
    with the same tail probability as the z boundary (math.inf where the look spends nothing)."""
    z = z_boundaries(tuple(float(i) for i in info), float(plan_info), float(alpha), sides, kind)
    return [math.inf if math.isinf(b) else float(sps.t.isf(special.ndtr(-b), df)) for b, df in zip(z, dfs)]


def crossed(stats, info, plan_info: float, dfs, alpha: float, sides: int, kind: str = DEFAULT_SPENDING) -> int | None:
    """The first look (0-based) whose statistic reaches its boundary at level `alpha`, or None."""
    for k, (t, c) in enumerate(zip(stats, t_boundaries(info, plan_info, dfs, alpha, sides, kind))):
        if (abs(t) if sides == 2 else t) >= c * (1 - 1e-12):  # at its own p-value a look crosses, rounding aside
            return k
    return None


def look_p(stats, info, plan_info: float, dfs, k: int, sides: int, kind: str = DEFAULT_SPENDING) -> float:
    """Look k's repeated p-value: the smallest level at which look k (0-based) reaches its
    boundary, given the looks before it (1.0 when it does not even at the largest level)."""
    t = abs(float(stats[k])) if sides == 2 else float(stats[k])
    tail = float(2 * sps.t.sf(t, dfs[k]) if sides == 2 else sps.t.sf(t, dfs[k]))  # the look's own p-value
    share = fractions(info[:k + 1], plan_info)
    if share[k] <= (share[k - 1] if k else 0.0):
        return 1.0  # the look spends nothing (it is beyond the plan): it cannot cross at any level
    if k == 0:
        return _invert_first(tail, share[0], kind)
    head = tuple(float(i) for i in info[:k + 1])

    def margin(log_alpha):  # > 0 where look k crosses at exp(log_alpha)
        c = t_boundaries(head, plan_info, dfs[:k + 1], math.exp(log_alpha), sides, kind)[k]
        return t - c if math.isfinite(c) else -1e9

    top = math.log(1 - 1e-9)
    if margin(top) < 0:
        return 1.0
    low = math.log(max(tail, FLOOR))  # no boundary is below the look's own p-value's
    if margin(low) >= 0:
        return math.exp(low)
    return math.exp(optimize.brentq(margin, low, top, xtol=1e-12, rtol=1e-12))


def _invert_first(tail: float, fraction: float, kind: str) -> float:
    """The level whose spending at `fraction` equals the look's own p-value: the first look's
    repeated p-value (closed form: its boundary is its own tail)."""
    if fraction >= 1:
        return tail
    if kind == "pocock":
        return min(1.0, tail / math.log(1 + (math.e - 1) * fraction))
    # O'Brien-Fleming type: 2 - 2·Phi(z_{a/2} / sqrt(t)) = tail  ->  z_{a/2} = z_{tail/2}·sqrt(t)
    return min(1.0, float(2 * special.ndtr(special.ndtri(tail / 2) * math.sqrt(fraction))))


def sequential_p(stats, info, plan_info: float, dfs, sides: int, kind: str = DEFAULT_SPENDING) -> float:
    """The smallest level at which some look crosses its boundary: the minimum of the looks'
    repeated p-values, so it never rises as looks are added. One look at the planned size: the
    look's own t-test p-value."""
    return min(look_p(stats, info, plan_info, dfs, k, sides, kind) for k in range(len(stats)))
