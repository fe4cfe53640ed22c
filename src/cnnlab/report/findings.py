"""Pairwise comparisons, each ending in a verdict, and the findings written from them.

The rule for every sentence: say only what the numbers support, and say what they decide.
Every compared pair gets one of three verdicts (cnnlab.report.decide):

- better: a two-sided t-test rejects "no difference" after Holm's correction over the family of
  comparisons (the pairs of one question, or every pair of a study);
- equivalent: two one-sided tests (TOST) show the difference lies within ±margin (one
  accuracy point unless the study sets another), Holm-corrected over the same family;
- inconclusive: neither; then the sentence gives the difference and its interval, the
  smallest difference these seeds could detect (80% power, at the test's level, from the
  seed-to-seed spread) and the seeds per model that would decide it at that spread.

Which t-test: Welch's, unless the study file asks for the paired one (`test = "paired"`). A
study gives every model the same seeds, and seed s gives each of them the same data order,
augmentation draws and test images, so seed s of one model goes with seed s of another; the
paired test removes what the seed does to both, but it has n - 1 degrees of freedom instead of
about 2n - 2, so it pays only when the seeds are correlated enough: at the levels the verdicts
are tested at (3.04% / m after Holm) more so than at 5%. Measured on the six built-in studies
(benchmarks/quick_designs.py, 2-core Xeon, bf16), the median correlation between two models'
seeds was 0.20-0.72 depending on the design, and the paired test decided 10 of 33 comparisons
where Welch's decided 15 at the quick profile's size (6 seeds, 3,500 images; 10 against 8 at 5
seeds and 4,000 images): so Welch's is the default, and the paired test is for a study whose
pairing is known to be strong. Either way the choice is made before the data are seen, so both
keep their error rates. Models on different seeds (an A/A study's second arm, a `seed_offset`)
are compared with Welch's test whatever the study asks.

Seeds added after a look make a new look at the same pairs (`looks`: seeds per model at each
look, study.json). Each pair is then tested group-sequentially (cnnlab.report.sequential):
its sequential p-value, the smallest first-look level at which one of its looks crosses its
boundary, is Holm-adjusted over the family and compared with the first look's level
(`decide.looks_alpha(ALPHA, 1)`, 3.04%); the numbers shown are those of the look that decided it
(else the last), with the interval its boundary gives, so the interval and the verdict agree.
With one seed there is nothing to test. Costs (parameters, time, memory) are reported as
measured values, not ranked by a test.
"""

import dataclasses
from dataclasses import dataclass
from itertools import combinations

import numpy as np

from cnnlab.choices import DEFAULT_MARGIN_POINTS
from cnnlab.report import fmt, sequential
from cnnlab.report.busy import busy
from cnnlab.report.decide import Equivalence, SeedsNeeded, detectable_difference, looks_alpha, pooled_sd, seeds_needed
from cnnlab.report.decide import tost
from cnnlab.report.load import ModelResults, get_metric
from cnnlab.report.scipy_stats import sps
from cnnlab.report.stats import ALPHA, Difference, holm, holm_levels, paired, paired_se_df, summarize, welch
from cnnlab.report.stats import welch_se_df

ONE_SEED = "one seed only: no significance test; differences are not claims"
# The one default margin (cnnlab.choices, in points as study files give it), in the statistics' unit.
DEFAULT_MARGIN_FRACTION = DEFAULT_MARGIN_POINTS / 100
ROUGH_BELOW = 5  # seeds per model under which a planned number of seeds is called rough
VERDICTS = ("better", "equivalent", "inconclusive", "untested")


@dataclass
class Comparison:
    a: ModelResults  # the model with the higher mean of `metric`
    b: ModelResults
    diff: Difference  # the metric of a minus b, as fractions, at the look shown (`look`)
    p_holm: float | None  # the difference test's sequential p, Holm-adjusted over the family
    metric: str = "test_acc"
    equivalence: Equivalence | None = None  # TOST within ±margin, at the look shown
    p_equivalent_holm: float | None = None
    margin: float = DEFAULT_MARGIN_FRACTION  # fraction
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
        """"better" (a over b), "equivalent", "inconclusive" or "untested" (fewer than two seeds)."""
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


def by_test_accuracy(models: list[ModelResults]) -> list[ModelResults]:
    """Highest mean test accuracy first; models without a finished run last, in study order."""
    def key(m):
        mean = summarize(m.values("test_acc")).mean
        return (mean is None, -(mean or 0.0), m.index)
    return sorted(models, key=key)


def compare(models: list[ModelResults], metric: str = "test_acc",
            margin: float = DEFAULT_MARGIN_FRACTION,
            looks=(), pairing: bool = False) -> list[Comparison]:
    """Every pair of `models` that has values of `metric`, the higher mean test accuracy first."""
    ranked = [m for m in by_test_accuracy(models) if m.values(metric)]
    return decide_family(list(combinations(ranked, 2)), metric, margin, looks, pairing)


def compare_pairs(pairs: list[tuple[ModelResults, ModelResults]], metric: str = "test_acc",
                  margin: float = DEFAULT_MARGIN_FRACTION, looks=(), pairing: bool = False) -> list[Comparison]:
    """Planned comparisons: only `pairs`, Holm-corrected over them alone (a smaller family
    than every pair of a study), each ordered so that `a` has the higher mean of `metric`."""
    ordered = []
    for x, y in pairs:
        mx, my = summarize(x.values(metric)).mean, summarize(y.values(metric)).mean
        ordered.append((y, x) if mx is not None and my is not None and my > mx else (x, y))
    return decide_family(ordered, metric, margin, looks, pairing)


def paired_by_design(a: ModelResults, b: ModelResults) -> bool:
    """Whether the study gave both models the same seeds (seed s: the same data order,
    augmentation draws and test images for both)."""
    seeds = a.seeds()
    return bool(seeds) and seeds == b.seeds()


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


def _pair_looks(a: ModelResults, b: ModelResults, metric: str, looks, pair: bool) -> list[_Look]:
    """The pair's data at each look that adds to the one before (the last look: every seed).

    `looks`: seeds per model at each look (study.json); a model's seeds at look k are the first
    looks[k] of its planned seeds (a model that stopped adding seeds keeps those it has)."""
    values_a, values_b = a.seed_values(metric), b.seed_values(metric)
    seeds_a, seeds_b = a.seeds(), b.seeds()
    sizes = sorted(set(looks or ())) + [max(len(seeds_a), len(seeds_b))]
    out, seen = [], set()
    for n in sizes:
        if pair:
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
            se = (paired_se_df(x, y) if pair else welch_se_df(x, y))[0]
        out.append(_Look(x, y, d, se, float(len(x) - 1 if pair else len(x) + len(y) - 2), pair))
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


def decide_family(pairs: list[tuple[ModelResults, ModelResults]], metric: str, margin, looks=(),
           pairing: bool = False) -> list[Comparison]:
    """One family of comparisons: per pair the difference test and TOST over its looks (paired
    when the design pairs the seeds and `pairing` allows it, else Welch's), both Holm-adjusted over
    the pairs that could be tested, and for each undecided pair what more seeds would decide.
    `margin`: one for every pair, or one per pair (in the metric's units). `looks`: seeds per
    model at each look at these results (study.json's `looks`; empty: one look).

    Each pair's interval is the one its boundary gives at the level its Holm verdict used
    (`stats.holm_levels`), at the look shown, so the interval excludes zero exactly when the
    verdict is "better"; differences of fractions (accuracies) are kept within ±1, the most two
    fractions can differ by.
    """
    level = looks_alpha(ALPHA, 1)
    margins = list(margin) if isinstance(margin, (list, tuple)) else [margin] * len(pairs)
    designs = [pairing and paired_by_design(a, b) for a, b in pairs]
    data = [_pair_looks(a, b, metric, looks, pair) for (a, b), pair in zip(pairs, designs)]
    p_diff = [_difference_p(d) for d in data]
    p_equiv = [_equivalence_p(d, m) for d, m in zip(data, margins)]
    p_holm, p_equivalent = holm(p_diff), holm(p_equiv)
    tested = sum(p is not None for p in p_diff)
    diff_levels, equiv_levels = holm_levels(p_diff, level), holm_levels(p_equiv, level)
    fraction = get_metric(metric).unit == "fraction"
    out = []
    for i, (a, b) in enumerate(pairs):
        at, shown, confidence, e = _shown(data[i], margins[i], diff_levels[i] or level, equiv_levels[i] or level,
                                          p_holm[i] is not None and p_holm[i] < level,
                                          p_equivalent[i] is not None and p_equivalent[i] < level)
        d = _within(shown.diff, -1.0, 1.0) if fraction else shown.diff
        tested_looks = _tested(data[i])
        c = Comparison(a, b, d, p_holm[i], metric=metric, equivalence=e, p_equivalent_holm=p_equivalent[i],
                       margin=margins[i], level=level, looks=max(1, len(tested_looks)), family=max(tested, 1),
                       ci_confidence=confidence, paired=designs[i], look=at + 1, p_sequential=p_diff[i],
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


def _plan(c: Comparison, shown: _Look, margin: float, alpha_now: float, alpha_next: float):
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


def interval_text(c: Comparison) -> str:
    """"95% CI [+1.20, +3.40]" of the difference in points, at the confidence its verdict was tested
    at (lower than 95% after Holm's correction or a later look)."""
    d = c.diff
    return f"{fmt.confidence(c.ci_confidence)} CI [{100 * d.ci_low:+.2f}, {100 * d.ci_high:+.2f}]"


def _seed_counts(d: Difference) -> str:
    return f"n = {d.n_a} seeds each" if d.n_a == d.n_b else f"n = {d.n_a} and {d.n_b} seeds"


def looks_text(c: Comparison) -> str:
    """"3, 6, 12" seeds per model at each look, or "3, 6, 12/6" where the two models differ."""
    return ", ".join(str(a) if a == b else f"{a}/{b}" for a, b in c.look_seeds)


def points_text(x) -> str:
    """0.0123 -> "1.23 points"."""
    return fmt.points(x, signed=False).replace(" pts", " points")


def needed_text(c: Comparison) -> str:
    """What would decide an inconclusive comparison, in one clause."""
    detect = f"these seeds detect a difference of {points_text(c.detectable)} with 80% power" if c.detectable else ""
    if c.needed is None:
        more = ""
    elif c.needed.n is None:
        more = (f"even {c.needed.max_seeds:,} seeds per model would not decide it at this spread (the difference "
                f"is about the ±{points_text(c.margin)} margin)")
    else:
        goal = {"better": "show a difference", "equivalent": f"show equivalence within ±{points_text(c.margin)}"}
        more = f"about {c.needed.n} seeds per model would {goal[c.needed.verdict]} at this spread"
        fewest = min(c.diff.n_a, c.diff.n_b)
        if fewest < ROUGH_BELOW:
            more += f" (a rough figure: the spread comes from only {fewest} seeds per model)"
    return "; ".join(x for x in (detect, more) if x)


def sentence(c: Comparison, n_tests: int | None = None, what: str = "test accuracy") -> str:
    """The comparison's verdict in one sentence. `what`: the compared metric (a fraction,
    shown in percentage points). `n_tests` defaults to the size of its Holm family."""
    n_tests = c.family if n_tests is None else n_tests
    a, b, d = c.a.label, c.b.label, c.diff
    size = points_text(d.diff)
    if d.n_a < 2 or d.n_b < 2:
        return f"{a} vs {b}: {ONE_SEED} (measured difference {size} of {what})."
    if d.p is None:
        return (f"{a} vs {b}: {what} did not vary across seeds, so no test is possible and nothing is decided "
                f"(difference {size}, {_seed_counts(d)}; more seeds would show the spread).")
    stats = f"{interval_text(c)}, {fmt.p_clause(c.p_label, d.p)}"
    if c.looks > 1:
        stats += f" at look {c.look} of {c.looks}, {fmt.p_clause('sequential p', c.p_sequential)}"
    if n_tests > 1:
        stats += f", {fmt.p_clause('Holm-adjusted p', c.p_holm)} over {n_tests} comparisons"
    stats += f", {_seed_counts(d)}"
    if c.looks > 1:
        stats += f" (looks at {looks_text(c)} seeds, group-sequential boundaries)"
    if c.verdict == "better":
        small = f", less than the ±{points_text(c.margin)} margin (equivalent too)" if c.equivalent else ""
        return f"{fmt.possessive(a)} {what} is higher than {fmt.possessive(b)} by {size} ({stats}){small}."
    e = c.equivalence
    tost_text = (f"{fmt.confidence(1 - 2 * e.alpha)} CI [{100 * e.ci_low:+.2f}, {100 * e.ci_high:+.2f}], "
                 f"{fmt.p_clause('TOST p', e.p)}" if e and e.p is not None else "")
    if n_tests > 1 and e and e.p is not None:
        tost_text += f", {fmt.p_clause('Holm-adjusted', c.p_equivalent_holm)}"
    if c.verdict == "equivalent":
        return (f"{a} and {b} are within ±{points_text(c.margin)} of each other in {what}: {size} apart "
                f"({tost_text}, {_seed_counts(d)}).")
    more = needed_text(c)
    return (f"No significant difference in {what} between {a} and {b}, and no equivalence within "
            f"±{points_text(c.margin)}: inconclusive, {size} apart ({stats})" + (f"; {more}" if more else "") + ".")


def accuracy_findings(comparisons: list[Comparison]) -> list[str]:
    if not comparisons:
        return []
    out = []
    if all(c.diff.n_a < 2 and c.diff.n_b < 2 for c in comparisons):
        out.append(f"Every model ran with {ONE_SEED}.")
    out += [sentence(c, len(comparisons)) for c in comparisons]
    return out


def extremes(models: list[ModelResults], metric: str):
    """(model with the lowest mean, its mean, model with the highest, its mean) or None."""
    means = [(summarize(m.values(metric)).mean, m) for m in models if m.values(metric)]
    if len(means) < 2:
        return None
    lo = min(means, key=lambda t: t[0])
    hi = max(means, key=lambda t: t[0])
    return lo[1], lo[0], hi[1], hi[0]


def _range(models: list[ModelResults], metric: str, what: str, show) -> str | None:
    """"<what> ranges from <low> (model) to <high> (model)." or, when the shown values are
    equal, "<what> is <value> for every model." None with fewer than two measured models;
    for timings from a busy machine, why they are not compared (cnnlab.report.busy)."""
    ext = extremes(models, metric)
    if not ext:
        return None
    noisy = busy(models, metric)
    if noisy:
        return f"{what}: {noisy}."
    lo, lo_v, hi, hi_v = ext
    if show(lo_v) == show(hi_v):
        return f"{what} is {show(lo_v)} for every model."
    return f"{what} ranges from {show(lo_v)} ({lo.label}) to {show(hi_v)} ({hi.label})."


def cost_findings(models: list[ModelResults], device: str | None) -> list[str]:
    where = f" on {device}" if device else ""
    out = [_range(models, "params", "The parameter count", fmt.count),
           _range(models, "epoch_seconds", f"Time per epoch (mean over seeds{where})", fmt.seconds),
           _range(models, "latency_ms", "Inference latency at batch size 1", lambda v: f"{v:.2f} ms"),
           _range(models, "peak_bytes", "Peak training memory", fmt.size)]
    ext = extremes(models, "params")
    if ext and ext[1] > 0 and ext[3] / ext[1] >= 1.05:
        out.append(f"{ext[2].label} has {ext[3] / ext[1]:.1f}× the parameters of {ext[0].label}.")
    return [s for s in out if s]


def run_problems(models: list[ModelResults]) -> list[str]:
    out = []
    for m in models:
        for r in m.runs:
            if r.status != "done":
                why = f": {r.error}" if r.error else ""
                out.append(f"{m.label}, seed {r.seed}: {r.status}{why} (excluded from the statistics).")
            elif not r.trusted:
                out.append(f"{m.label}, seed {r.seed}: damaged records: {r.problems[0]} (excluded from the "
                           "statistics; 'cnnlab run' trains it again).")
    return out


COMPARISON_COLUMNS = ("a", "b", "metric", "test", "n_a", "n_b", "diff", "ci_low", "ci_high", "p", "p_sequential",
                      "p_holm", "p_equivalent", "p_equivalent_holm", "verdict", "margin", "detectable", "seeds_needed",
                      "looks", "look", "level", "ci_confidence")


def comparison_row(c: Comparison) -> dict:
    """One comparison as numbers (fractions for accuracies): a row of `StudyResult.tests` and
    of `cnnlab compare --csv`. `test`: "paired" or "welch"; p: that test's p at the look shown
    (`look` of `looks`), p_sequential: over its looks."""
    e = c.equivalence
    return {"a": c.a.label, "b": c.b.label, "metric": c.metric, "test": "paired" if c.paired else "welch",
            "n_a": c.diff.n_a, "n_b": c.diff.n_b, "diff": c.diff.diff, "ci_low": c.diff.ci_low,
            "ci_high": c.diff.ci_high, "p": c.diff.p, "p_sequential": c.p_sequential, "p_holm": c.p_holm,
            "p_equivalent": e.p if e else None, "p_equivalent_holm": c.p_equivalent_holm,
            "verdict": c.verdict, "margin": c.margin, "detectable": c.detectable,
            "seeds_needed": c.needed.n if c.needed else None, "looks": c.looks, "look": c.look, "level": c.level,
            "ci_confidence": c.ci_confidence}
