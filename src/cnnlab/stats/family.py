"""A family of comparisons decided together: per pair the difference test and TOST over its
looks, both Holm-adjusted over the family, and for each undecided pair what more seeds would
decide. On plain numbers: each pair is two models' values by seed, `a` against `b` in the
caller's order (the difference is always a - b). The procedure is described in
docs/statistics.md.
"""

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from cnnlab.stats import sequential
from cnnlab.stats.constants import ALPHA
from cnnlab.stats.multiple import holm, holm_levels
from cnnlab.stats.power import SeedsNeeded, detectable_difference, pooled_sd, seeds_needed
from cnnlab.stats.scipy_lazy import sps
from cnnlab.stats.ttest import Difference, Equivalence, paired, paired_se_df, tost, welch, welch_se_df

VERDICTS = ("better", "equivalent", "inconclusive", "untested")


@dataclass(frozen=True)
class Pair:
    """Two models' values by seed, compared as `a` against `b`.

    `seeds_a`/`seeds_b`: the seeds planned for each, in order, whether their runs finished or not
    (a look at n seeds per model takes the first n); `values_a`/`values_b`: {seed: value} of the
    finished ones. `paired`: the paired t-test over the seeds both have (the design gives seed s
    of one model the same data order and test images as seed s of the other), else Welch's."""
    values_a: dict
    values_b: dict
    seeds_a: tuple = ()
    seeds_b: tuple = ()
    paired: bool = False

    @classmethod
    def of(cls, values_a: dict, values_b: dict, paired: bool = False) -> "Pair":
        """A pair whose planned seeds are those with values."""
        return cls(dict(values_a), dict(values_b), tuple(sorted(values_a)), tuple(sorted(values_b)), paired)


@dataclass(kw_only=True)
class Decision:
    """One pair's verdict and the numbers behind it, `a` against `b`."""
    diff: Difference  # a minus b at the look shown (`look`), with the interval its boundary gives
    p_holm: float | None  # the difference test's sequential p, Holm-adjusted over the family
    equivalence: Equivalence | None = None  # TOST within ±margin, at the look shown
    p_equivalent_holm: float | None = None
    margin: float  # in the values' units
    level: float = ALPHA  # the family's level over all looks, which the Holm-adjusted sequential p-values are held to
    looks: int = 1  # looks at this pair that could be tested
    family: int = 1  # comparisons in the Holm family (the pairs that could be tested)
    ci_confidence: float | None = 1 - ALPHA  # the interval's confidence: its boundary's (None: no interval)
    detectable: float | None = None  # smallest difference these seeds detect with 80% power
    needed: SeedsNeeded | None = None  # seeds per model that would decide it, at the observed spread
    paired: bool = False  # the paired t-test (the seeds are paired by design), else Welch's
    look: int = 1  # the look whose numbers are shown: the one that decided it, else the last
    p_sequential: float | None = None  # over its looks (with one look: the test's own p)
    look_seeds: tuple = ()  # (seeds of a, seeds of b) at each of its looks (paired: pairs, twice)

    @property
    def significant(self) -> bool:
        return self.p_holm is not None and self.p_holm < self.level

    @property
    def equivalent(self) -> bool:
        return self.p_equivalent_holm is not None and self.p_equivalent_holm < self.level

    @property
    def verdict(self) -> str:
        """"better" (a significant difference), "equivalent", "inconclusive" or "untested" (fewer
        than two seeds)."""
        if self.significant:
            return "better"
        if self.equivalent:
            return "equivalent"
        if self.diff.n_a < 2 or self.diff.n_b < 2:
            return "untested"
        return "inconclusive"

    @property
    def test(self) -> str:
        """The difference test's name."""
        return "paired t-test" if self.paired else "Welch's t-test"

    @property
    def p_label(self) -> str:
        return "paired t p" if self.paired else "Welch p"

    def reversed(self) -> "Decision":
        """The same decision as b against a (the difference and its intervals negated)."""
        return dataclasses.replace(self, diff=self.diff.reversed(),
                                   equivalence=self.equivalence.reversed() if self.equivalence else None,
                                   look_seeds=tuple((b, a) for a, b in self.look_seeds))

    def numbers(self) -> dict:
        """Its fields, to build a subclass from (a shallow copy)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(Decision)}


@dataclass
class _Look:
    """One pair's values at one look, the same number from each model: aligned by seed when paired."""
    x: np.ndarray
    y: np.ndarray
    diff: Difference  # at 95%
    se: float | None  # of the difference; None when it cannot be tested
    paired: bool

    @property
    def n(self) -> int:
        return len(self.x)

    @property
    def info(self) -> float:
        """The look's information for the boundaries: the degrees of freedom of a model's spread."""
        return float(self.n - 1)


def _pair_looks(pair: Pair, looks) -> list[_Look]:
    """The pair's data at each look that adds to the one before (the last look: every seed).

    `looks`: seeds per model at each look (study.json); a model's seeds at look k are the first
    looks[k] of its planned seeds (a model that stopped adding seeds keeps those it has). Each
    look compares the same number of seeds from both models, the first in seed order: Welch's
    test with a handful of seeds on one side and many on the other rejects far more often than
    its level (`ttest.WELCH_DF_SHARE`), and equal numbers make a look's information its seeds.
    A paired pair is compared over the seeds both models have."""
    values_a, values_b = pair.values_a, pair.values_b
    seeds_a, seeds_b = list(pair.seeds_a), list(pair.seeds_b)
    sizes = sorted(set(looks or ())) + [max(len(seeds_a), len(seeds_b))]
    out, seen = [], set()
    for n in sizes:
        if pair.paired:
            common = [s for s in seeds_a[:n] if s in values_a and s in values_b and s in seeds_b[:n]]
            x, y = np.array([values_a[s] for s in common]), np.array([values_b[s] for s in common])
        else:
            x = [values_a[s] for s in seeds_a[:n] if s in values_a]
            y = [values_b[s] for s in seeds_b[:n] if s in values_b]
            m = min(len(x), len(y))
            x, y = np.array(x[:m]), np.array(y[:m])
        if len(x) in seen or len(x) == 0:
            continue
        seen.add(len(x))
        d = paired(x, y) if pair.paired else welch(x, y)
        se = None
        if d.p is not None:
            se = (paired_se_df(x, y) if pair.paired else welch_se_df(x, y))[0]
        out.append(_Look(x, y, d, se, pair.paired))
    return out


def _tested(looks: list[_Look]) -> list[_Look]:
    return [k for k in looks if k.diff.p is not None]


def _equivalence_stats(k: _Look, margin: float) -> float:
    """The TOST statistic at one look: the smaller of the two one-sided t statistics."""
    return min((k.diff.diff + margin) / k.se, (margin - k.diff.diff) / k.se)


def _sequential_p(looks: list[_Look], plan_info: float, margin: float | None) -> float | None:
    """The difference test's (margin None) or TOST's sequential p over the pair's tested looks."""
    tested = _tested(looks)
    if not tested:
        return None
    stats = [k.diff.diff / k.se if margin is None else _equivalence_stats(k, margin) for k in tested]
    return sequential.sequential_p(stats, [k.info for k in tested], plan_info, [k.diff.df for k in tested],
                                   sides=2 if margin is None else 1)


def plan_info(looks, plan_seeds: int | None) -> float:
    """The information of the plan's last look: a study planned for `plan_seeds` seeds per model;
    without a plan, its first look (a study run once is tested at the full level)."""
    seeds = plan_seeds or (min(looks) if looks else None)
    return float(max(seeds - 1, 1)) if seeds else math.inf


def decide_family(pairs: list[Pair], margin, looks=(), plan_seeds: int | None = None,
                  bounds: tuple[float, float] | None = None, alpha: float = ALPHA) -> list[Decision]:
    """One family of comparisons, `a` against `b` for each pair: the difference test and TOST
    over its looks, both Holm-adjusted over the pairs that could be tested and held to `alpha`
    over every look, and for each undecided pair what more seeds would decide.

    `margin`: one for every pair, or one per pair (in the values' units). `looks`: seeds per
    model at each look at these results (study.json's `looks`; empty: one look). `plan_seeds`:
    the most seeds per model the study planned for (`--max-seeds`; None: its first look), over
    which the level is spent (cnnlab.stats.sequential). `bounds`: the most a difference can be
    either way (±1 for two fractions), which intervals are kept within.

    Each pair's interval is the one its boundary gives at the level its Holm verdict used
    (`holm_levels`), at the look shown, so the interval excludes zero exactly when the verdict
    is "better".
    """
    margins = list(margin) if isinstance(margin, (list, tuple)) else [margin] * len(pairs)
    data = [_pair_looks(pair, looks) for pair in pairs]
    first = [k.n for d in data for k in d[:1]]
    planned = plan_info(looks or first[:1], plan_seeds)
    if not math.isfinite(planned):
        planned = float(max(min(first, default=2) - 1, 1))
    p_diff = [_sequential_p(d, planned, None) for d in data]
    p_equiv = [_sequential_p(d, planned, m) for d, m in zip(data, margins)]
    p_holm, p_equivalent = holm(p_diff), holm(p_equiv)
    tested = sum(p is not None for p in p_diff)
    diff_levels, equiv_levels = holm_levels(p_diff, alpha), holm_levels(p_equiv, alpha)
    out = []
    for i, pair in enumerate(pairs):
        at, shown, confidence, e = _shown(data[i], planned, margins[i], diff_levels[i] or alpha,
                                          equiv_levels[i] or alpha, p_holm[i] is not None and p_holm[i] < alpha,
                                          p_equivalent[i] is not None and p_equivalent[i] < alpha)
        d = _within(shown.diff, bounds)
        tested_looks = _tested(data[i])
        c = Decision(diff=d, p_holm=p_holm[i], equivalence=e, p_equivalent_holm=p_equivalent[i],
                     margin=margins[i], level=alpha, looks=max(1, len(tested_looks)), family=max(tested, 1),
                     ci_confidence=confidence, paired=pair.paired, look=at + 1, p_sequential=p_diff[i],
                     look_seeds=tuple((k.n, k.n) for k in tested_looks))
        if c.verdict == "inconclusive" and tested_looks:
            _plan(c, tested_looks, planned, margins[i], alpha / max(tested, 1))
        out.append(c)
    return out


def _shown(looks: list[_Look], planned: float, margin: float, diff_level: float, equiv_level: float, better: bool,
           equivalent: bool) -> tuple[int, _Look, float | None, Equivalence]:
    """The look to show (the first to cross its boundary when decided, else the last): its index
    among the tested looks, the look with its difference interval at the boundary, the interval's
    confidence (None where the look spends nothing: no interval) and its TOST at the boundary's level."""
    tested = _tested(looks)
    if not tested:
        last = looks[-1] if looks else _Look(np.array([]), np.array([]), welch([], []), None, False)
        return 0, last, 1 - ALPHA, tost(last.x, last.y, margin, alpha=min(equiv_level, 0.4999), paired=last.paired)
    info, dfs = [k.info for k in tested], [k.diff.df for k in tested]
    two_sided = sequential.t_boundaries(info, planned, dfs, diff_level, 2)
    one_sided = sequential.t_boundaries(info, planned, dfs, equiv_level, 1)
    at = len(tested) - 1
    if better:
        at = sequential.crossed([k.diff.diff / k.se for k in tested], info, planned, dfs, diff_level, 2)
    elif equivalent:
        at = sequential.crossed([_equivalence_stats(k, margin) for k in tested], info, planned, dfs, equiv_level, 1)
    at = len(tested) - 1 if at is None else at
    k = tested[at]
    if math.isinf(two_sided[at]):
        confidence, low, high = None, -math.inf, math.inf
    else:
        confidence = 1 - 2 * float(sps.t.sf(two_sided[at], k.diff.df))
        half = two_sided[at] * k.se
        low, high = k.diff.diff - half, k.diff.diff + half
    k = dataclasses.replace(k, diff=dataclasses.replace(k.diff, ci_low=low, ci_high=high))
    alpha = float(sps.t.sf(one_sided[at], k.diff.df)) if math.isfinite(one_sided[at]) else 1e-12
    return at, k, confidence, tost(k.x, k.y, margin, alpha=min(max(alpha, 1e-12), 0.4999), paired=k.paired)


def level_left(planned: float, info: float, alpha: float) -> float:
    """What the plan has left to spend after a look with `info`: nothing once it reached the plan."""
    return alpha - sequential.spent(alpha, info / planned)


def _plan(c: Decision, tested: list[_Look], planned: float, margin: float, floor: float):
    """What these seeds detect and how many seeds per model would decide an inconclusive
    comparison. `floor`: the family's level over the number of its tests, which a p-value below
    is rejected at whatever the others are (Holm), so powers promised at it are floors.

    Detectable: at the nominal level of the last look's boundary (none beyond the plan). Seeds
    needed: tested at what the plan has left (`needed.fresh` False), or, where nothing is left, in
    a new study planned for them at the full level (`needed.fresh` True). Both average the power
    over what the true spread may be given the observed one (`power.spread_ratios`)."""
    last = tested[-1]
    if c.paired:
        sd = float(np.std(last.x - last.y, ddof=1)) if last.n > 1 else None
        spread_df = last.n - 1
    else:
        sd = pooled_sd(last.x, last.y)
        spread_df = 2 * last.n - 2
    if not sd:
        return
    bound = sequential.t_boundaries([k.info for k in tested], planned, [k.diff.df for k in tested], floor, 2)[-1]
    if math.isfinite(bound):
        now = 2 * float(sps.t.sf(bound, last.diff.df))
        c.detectable = detectable_difference(sd, last.n, last.n, alpha=now, paired=c.paired, spread_df=spread_df)
    left = level_left(planned, last.info, floor)
    fresh = left <= floor * 1e-6
    needed = seeds_needed(c.diff.diff, sd, margin, alpha=floor if fresh else left, paired=c.paired,
                          spread_df=spread_df)
    c.needed = dataclasses.replace(needed, fresh=fresh)


def _within(d: Difference, bounds) -> Difference:
    """The interval kept within what a difference can be (`bounds`); None where it is unbounded."""
    if d.ci_low is None:
        return d
    low, high = (d.ci_low, d.ci_high) if bounds is None else (max(d.ci_low, bounds[0]), min(d.ci_high, bounds[1]))
    if not (math.isfinite(low) and math.isfinite(high)):
        return dataclasses.replace(d, ci_low=None, ci_high=None)
    return dataclasses.replace(d, ci_low=low, ci_high=high)
