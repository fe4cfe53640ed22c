"""A family of comparisons decided together: per pair the difference test and TOST over its
looks, both Holm-adjusted over the family, and for each undecided pair what more seeds would
decide. On plain numbers: each pair is two models' values by seed, `a` against `b` in the
caller's order (the difference is always a - b). The procedure is described in
docs/statistics.md.
"""

import dataclasses
from dataclasses import dataclass

import numpy as np

from cnnlab.stats import sequential
from cnnlab.stats.constants import ALPHA
from cnnlab.stats.multiple import holm, holm_levels
from cnnlab.stats.power import SeedsNeeded, detectable_difference, pooled_sd, seeds_needed
from cnnlab.stats.scipy_lazy import sps
from cnnlab.stats.sequential import looks_alpha
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
    level: float = ALPHA  # the first look's level, which the Holm-adjusted sequential p-values are held to
    looks: int = 1  # looks at this pair that could be tested
    family: int = 1  # comparisons in the Holm family (the pairs that could be tested)
    ci_confidence: float = 1 - ALPHA  # the difference interval's confidence: the level its Holm verdict used
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

    def numbers(self) -> dict:
        """Its fields, to build a subclass from (a shallow copy)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(Decision)}


@dataclass
class _Look:
    """One pair's values at one look: aligned by seed when paired."""
    x: np.ndarray
    y: np.ndarray
    diff: Difference  # at 95%
    se: float | None  # of the difference; None when it cannot be tested
    info: float  # degrees of freedom of the spread: the look's information for the boundaries
    paired: bool

    @property
    def sizes(self) -> tuple[int, int]:
        return self.diff.n_a, self.diff.n_b


def _pair_looks(pair: Pair, looks) -> list[_Look]:
    """The pair's data at each look that adds to the one before (the last look: every seed).

    `looks`: seeds per model at each look (study.json); a model's seeds at look k are the first
    looks[k] of its planned seeds (a model that stopped adding seeds keeps those it has)."""
    values_a, values_b = pair.values_a, pair.values_b
    seeds_a, seeds_b = list(pair.seeds_a), list(pair.seeds_b)
    sizes = sorted(set(looks or ())) + [max(len(seeds_a), len(seeds_b))]
    out, seen = [], set()
    for n in sizes:
        if pair.paired:
            common = [s for s in seeds_a[:n] if s in values_a and s in values_b]
            x, y = np.array([values_a[s] for s in common]), np.array([values_b[s] for s in common])
            d = paired(x, y)
        else:
            x = np.array([values_a[s] for s in seeds_a[:n] if s in values_a])
            y = np.array([values_b[s] for s in seeds_b[:n] if s in values_b])
            d = welch(x, y)
        if (len(x), len(y)) in seen:
            continue
        seen.add((len(x), len(y)))
        se = None
        if d.p is not None:
            se = (paired_se_df(x, y) if pair.paired else welch_se_df(x, y))[0]
        out.append(_Look(x, y, d, se, float(len(x) - 1 if pair.paired else len(x) + len(y) - 2), pair.paired))
    return out


def _tested(looks: list[_Look]) -> list[_Look]:
    return [k for k in looks if k.diff.p is not None]


def _difference_p(looks: list[_Look]) -> float | None:
    tested = _tested(looks)
    if not tested:
        return None
    return sequential.sequential_p([k.diff.diff / k.se for k in tested], [k.info for k in tested],
                                   [k.diff.df for k in tested], sides=2)


def _equivalence_stats(k: _Look, margin: float) -> float:
    """The TOST statistic at one look: the smaller of the two one-sided t statistics."""
    return min((k.diff.diff + margin) / k.se, (margin - k.diff.diff) / k.se)


def _equivalence_p(looks: list[_Look], margin: float) -> float | None:
    tested = _tested(looks)
    if not tested:
        return None
    return sequential.sequential_p([_equivalence_stats(k, margin) for k in tested], [k.info for k in tested],
                                   [k.diff.df for k in tested], sides=1)


def decide_family(pairs: list[Pair], margin, looks=(), bounds: tuple[float, float] | None = None) -> list[Decision]:
    """One family of comparisons, `a` against `b` for each pair: the difference test and TOST
    over its looks, both Holm-adjusted over the pairs that could be tested, and for each
    undecided pair what more seeds would decide. `margin`: one for every pair, or one per pair
    (in the values' units). `looks`: seeds per model at each look at these results (study.json's
    `looks`; empty: one look). `bounds`: the most a difference can be either way (±1 for two
    fractions), which intervals are kept within.

    Each pair's interval is the one its boundary gives at the level its Holm verdict used
    (`holm_levels`), at the look shown, so the interval excludes zero exactly when the verdict
    is "better".
    """
    level = looks_alpha(ALPHA, 1)
    margins = list(margin) if isinstance(margin, (list, tuple)) else [margin] * len(pairs)
    data = [_pair_looks(pair, looks) for pair in pairs]
    p_diff = [_difference_p(d) for d in data]
    p_equiv = [_equivalence_p(d, m) for d, m in zip(data, margins)]
    p_holm, p_equivalent = holm(p_diff), holm(p_equiv)
    tested = sum(p is not None for p in p_diff)
    diff_levels, equiv_levels = holm_levels(p_diff, level), holm_levels(p_equiv, level)
    out = []
    for i, pair in enumerate(pairs):
        at, shown, confidence, e = _shown(data[i], margins[i], diff_levels[i] or level, equiv_levels[i] or level,
                                          p_holm[i] is not None and p_holm[i] < level,
                                          p_equivalent[i] is not None and p_equivalent[i] < level)
        d = _within(shown.diff, *bounds) if bounds else shown.diff
        tested_looks = _tested(data[i])
        c = Decision(diff=d, p_holm=p_holm[i], equivalence=e, p_equivalent_holm=p_equivalent[i],
                     margin=margins[i], level=level, looks=max(1, len(tested_looks)), family=max(tested, 1),
                     ci_confidence=confidence, paired=pair.paired, look=at + 1, p_sequential=p_diff[i],
                     look_seeds=tuple(k.sizes for k in tested_looks))
        if c.verdict == "inconclusive" and tested_looks:
            # At level / m a p-value is rejected whatever the rest of the family is: a floor on the power.
            now = sequential.t_boundaries([k.info for k in tested_looks], [k.diff.df for k in tested_looks],
                                          level / max(tested, 1), 2)[-1]
            _plan(c, shown, margins[i], 2 * float(sps.t.sf(now, shown.diff.df)),
                  looks_alpha(ALPHA, c.looks + 1) / len(pairs))
        out.append(c)
    return out


def _shown(looks: list[_Look], margin: float, diff_level: float, equiv_level: float, better: bool,
           equivalent: bool) -> tuple[int, _Look, float, Equivalence]:
    """The look to show (the first to cross its boundary when decided, else the last): its index
    among the tested looks, the look with its difference interval at the boundary, the interval's
    confidence and its TOST at the boundary's level."""
    tested = _tested(looks)
    if not tested:
        last = looks[-1]
        return 0, last, 1 - ALPHA, tost(last.x, last.y, margin, alpha=equiv_level, paired=last.paired)
    info, dfs = [k.info for k in tested], [k.diff.df for k in tested]
    two_sided = sequential.t_boundaries(info, dfs, diff_level, 2)
    one_sided = sequential.t_boundaries(info, dfs, equiv_level, 1)
    at = len(tested) - 1
    if better:
        at = sequential.crossed([k.diff.diff / k.se for k in tested], info, dfs, diff_level, 2)
    elif equivalent:
        at = sequential.crossed([_equivalence_stats(k, margin) for k in tested], info, dfs, equiv_level, 1)
    at = len(tested) - 1 if at is None else at
    k = tested[at]
    confidence = 1 - 2 * float(sps.t.sf(two_sided[at], k.diff.df))
    half = two_sided[at] * k.se
    k = dataclasses.replace(k, diff=dataclasses.replace(k.diff, ci_low=k.diff.diff - half, ci_high=k.diff.diff + half))
    alpha = float(sps.t.sf(one_sided[at], k.diff.df))
    return at, k, confidence, tost(k.x, k.y, margin, alpha=min(max(alpha, 1e-12), 0.4999), paired=k.paired)


def _plan(c: Decision, shown: _Look, margin: float, alpha_now: float, alpha_next: float):
    """What these seeds detect (at `alpha_now`, the last look's nominal level) and how many seeds
    per model would decide an inconclusive comparison at the next look (tested at about
    `alpha_next`: the Bonferroni share of one more look, which its boundary never falls below)."""
    if c.paired:
        sd = float(np.std(shown.x - shown.y, ddof=1)) if len(shown.x) > 1 else None
    else:
        sd = pooled_sd(shown.x, shown.y)
    if not sd:
        return
    c.detectable = detectable_difference(sd, c.diff.n_a, c.diff.n_b, alpha=alpha_now, paired=c.paired)
    c.needed = seeds_needed(c.diff.diff, sd, margin, alpha=alpha_next, paired=c.paired)


def _within(d: Difference, low: float, high: float) -> Difference:
    if d.ci_low is None:
        return d
    return dataclasses.replace(d, ci_low=max(d.ci_low, low), ci_high=min(d.ci_high, high))
