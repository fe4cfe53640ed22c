"""The family procedure (cnnlab.stats.family) on many simulated studies at once, for checking
its error rates and comparing designs: the same balanced looks, degrees of freedom, planned
boundaries and Holm steps, vectorised over replications (tests/stats/test_error_rates.py
checks it against `decide_family` study by study, then runs it at scale).

Every model has the same seeds at every look (what `decide_family` compares after making the
looks equal); values are an array (replications, models, seeds).
"""

import math
from dataclasses import dataclass

import numpy as np

from cnnlab.stats import sequential
from cnnlab.stats.constants import ALPHA
from cnnlab.stats.scipy_lazy import special, sps
from cnnlab.stats.ttest import welch_df


@dataclass(frozen=True)
class Design:
    """How a simulated study is looked at: seeds per model at each look, the seeds it planned
    for (None: its first look), the pairs of models compared (one Holm family), the test."""
    looks: tuple[int, ...]
    pairs: tuple[tuple[int, int], ...]
    plan: int | None = None
    paired: bool = False
    margin: float | None = None  # in the values' units: also test equivalence
    alpha: float = ALPHA
    spending: str = sequential.DEFAULT_SPENDING

    @property
    def plan_info(self) -> float:
        return float((self.plan or self.looks[0]) - 1)


def _statistics(x: np.ndarray, y: np.ndarray, paired: bool):
    """Per replication: mean difference, its standard error and degrees of freedom at one look."""
    n = x.shape[1]
    if paired:
        d = x - y
        return d.mean(1), d.std(1, ddof=1) / math.sqrt(n), np.full(len(d), n - 1.0)
    va, vb = x.var(1, ddof=1) / n, y.var(1, ddof=1) / n
    se = np.sqrt(va + vb)
    with np.errstate(invalid="ignore", divide="ignore"):
        satterthwaite = (va + vb) ** 2 / (va ** 2 / (n - 1) + vb ** 2 / (n - 1))
    return x.mean(1) - y.mean(1), se, welch_df(np.nan_to_num(satterthwaite, nan=n - 1.0), n, n)


def _crossings(stats: list, dfs: list, design: Design, level: float, sides: int) -> np.ndarray:
    """(replications, looks): where each look's statistic reaches its boundary at `level`."""
    info = tuple(float(n - 1) for n in design.looks)
    z = sequential.z_boundaries(info, design.plan_info, float(level), sides, design.spending)
    out = []
    for t, df, b in zip(stats, dfs, z):
        c = np.inf if math.isinf(b) else sps.t.isf(special.ndtr(-b), df)
        out.append((np.abs(t) if sides == 2 else t) >= c * (1 - 1e-12))
    return np.stack(out, axis=1)


def _holm(crosses_at: list[np.ndarray]) -> np.ndarray:
    """Holm's rejections, (replications, pairs), from whether each pair crosses at level alpha / j
    (crosses_at[j - 1], j = 1..m): a pair's p-value is at most alpha / j exactly when it does."""
    m = crosses_at[0].shape[1]
    strongest = np.zeros(crosses_at[0].shape, dtype=int)  # the largest j at which each pair crosses
    for j, crosses in enumerate(crosses_at, start=1):
        strongest[crosses] = j
    order = np.argsort(-strongest, axis=1, kind="stable")
    ranked = np.take_along_axis(strongest, order, axis=1)
    steps = ranked >= (m - np.arange(m))[None, :]  # step r (0-based) rejects when p_(r) <= alpha / (m - r)
    passed = np.cumprod(steps, axis=1).astype(bool)
    rejected = np.zeros_like(passed)
    np.put_along_axis(rejected, order, passed, axis=1)
    return rejected


def decide(values: np.ndarray, design: Design) -> dict:
    """Verdicts of every simulated study: {"better": (reps, pairs) bool, "higher_a": (reps, pairs)
    bool: the first model of the pair is higher at its deciding look, "equivalent": (reps, pairs)}."""
    stats, tost, dfs, sign = [], [], [], []
    for i, j in design.pairs:
        per_look = [_statistics(values[:, i, :n], values[:, j, :n], design.paired) for n in design.looks]
        stats.append([d / se for d, se, _ in per_look])
        dfs.append([df for _, _, df in per_look])
        sign.append(np.stack([d > 0 for d, _, _ in per_look], axis=1))
        if design.margin is not None:
            tost.append([np.minimum((d + design.margin) / se, (design.margin - d) / se) for d, se, _ in per_look])
    m = len(design.pairs)
    crosses = [np.stack([_crossings(stats[p], dfs[p], design, design.alpha / j, 2).any(1) for p in range(m)], axis=1)
               for j in range(1, m + 1)]
    better = _holm(crosses)
    # The deciding look: the first that crosses at the family level alpha / m (Holm's first step) or
    # above; with one pair it is exactly the product's.
    first = np.stack([_crossings(stats[p], dfs[p], design, design.alpha / m, 2).argmax(1) for p in range(m)], axis=1)
    higher = np.stack([np.take_along_axis(sign[p], first[:, p:p + 1], axis=1)[:, 0] for p in range(m)], axis=1)
    out = {"better": better, "higher_a": higher}
    if design.margin is not None:
        crosses = [np.stack([_crossings(tost[p], dfs[p], design, design.alpha / j, 1).any(1) for p in range(m)],
                            axis=1) for j in range(1, m + 1)]
        out["equivalent"] = _holm(crosses)
    return out
