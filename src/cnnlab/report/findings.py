"""Pairwise comparisons, each ending in a verdict, and the findings written from them.

The rule for every sentence: say only what the numbers support, and say what they decide.
Every compared pair gets one of three verdicts (cnnlab.report.decide):

- better: Welch's test rejects "no difference" after Holm's correction over the family of
  comparisons (the pairs of one question, or every pair of a study);
- equivalent: two one-sided tests (TOST) show the difference lies within ±margin (one
  accuracy point unless the study sets another), Holm-corrected over the same family;
- inconclusive: neither; then the sentence gives the difference and its interval, the
  smallest difference these seeds could detect (80% power, 5% level, from the pooled
  seed-to-seed spread) and the seeds per model that would decide it at that spread.

Both tests run at a level corrected for the looks taken at the study's results
(`decide.looks_alpha`): adding seeds after looking is a second look, and testing each look
at 5% would raise the false-positive rate. With one seed there is nothing to test.
Costs (parameters, time, memory) are reported as measured values, not ranked by a test.
"""

import dataclasses
from dataclasses import dataclass
from itertools import combinations

from cnnlab.choices import DEFAULT_MARGIN_POINTS
from cnnlab.report import fmt
from cnnlab.report.busy import busy
from cnnlab.report.decide import Equivalence, SeedsNeeded, detectable_difference, looks_alpha, pooled_sd, seeds_needed
from cnnlab.report.decide import tost
from cnnlab.report.load import ModelResults, get_metric
from cnnlab.report.stats import ALPHA, Difference, holm, holm_levels, summarize, welch

ONE_SEED = "one seed only: no significance test; differences are not claims"
DEFAULT_MARGIN = DEFAULT_MARGIN_POINTS / 100  # the same margin as a fraction, the unit of the statistics
ROUGH_BELOW = 5  # seeds per model under which a planned number of seeds is called rough
VERDICTS = ("better", "equivalent", "inconclusive", "untested")


@dataclass
class Comparison:
    a: ModelResults  # the model with the higher mean of `metric`
    b: ModelResults
    diff: Difference  # the metric of a minus b, as fractions (Welch)
    p_holm: float | None  # Welch p, Holm-adjusted over the family
    metric: str = "test_acc"
    equivalence: Equivalence | None = None  # TOST within ±margin
    p_equivalent_holm: float | None = None
    margin: float = DEFAULT_MARGIN  # fraction
    level: float = ALPHA  # both tests' level, corrected for the looks
    looks: int = 1
    family: int = 1  # comparisons in the Holm family (the pairs that could be tested)
    ci_confidence: float = 1 - ALPHA  # the difference interval's confidence: the level its Holm verdict used
    detectable: float | None = None  # smallest difference these seeds detect with 80% power
    needed: SeedsNeeded | None = None  # seeds per model that would decide it, at the observed spread

    @property
    def significant(self) -> bool:
        return self.p_holm is not None and self.p_holm < self.level

    @property
    def equivalent(self) -> bool:
        return bool(self.equivalence and self.equivalence.equivalent(self.p_equivalent_holm, self.level))

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


def by_test_accuracy(models: list[ModelResults]) -> list[ModelResults]:
    """Highest mean test accuracy first; models without a finished run last, in study order."""
    def key(m):
        mean = summarize(m.values("test_acc")).mean
        return (mean is None, -(mean or 0.0), m.index)
    return sorted(models, key=key)


def compare(models: list[ModelResults], metric: str = "test_acc", margin: float = DEFAULT_MARGIN,
            looks: int = 1) -> list[Comparison]:
    """Every pair of `models` that has values of `metric`, the higher mean test accuracy first."""
    ranked = [m for m in by_test_accuracy(models) if m.values(metric)]
    return decide(list(combinations(ranked, 2)), metric, margin, looks)


def compare_pairs(pairs: list[tuple[ModelResults, ModelResults]], metric: str = "test_acc",
                  margin: float = DEFAULT_MARGIN, looks: int = 1) -> list[Comparison]:
    """Planned comparisons: only `pairs`, Holm-corrected over them alone (a smaller family
    than every pair of a study), each ordered so that `a` has the higher mean of `metric`."""
    ordered = []
    for x, y in pairs:
        mx, my = summarize(x.values(metric)).mean, summarize(y.values(metric)).mean
        ordered.append((y, x) if mx is not None and my is not None and my > mx else (x, y))
    return decide(ordered, metric, margin, looks)


def decide(pairs: list[tuple[ModelResults, ModelResults]], metric: str, margin, looks: int) -> list[Comparison]:
    """One family of comparisons: Welch and TOST per pair, both Holm-adjusted over the pairs that
    could be tested, at the level for `looks` looks, and for each pair what more seeds would
    decide. `margin`: one for every pair, or one per pair (in the metric's units).

    Each pair's interval is printed at the level its Holm verdict used (`stats.holm_levels`), so
    the interval excludes zero exactly when the verdict is "better"; differences of fractions
    (accuracies) are kept within ±1, the most two fractions can differ by.
    """
    level = looks_alpha(ALPHA, looks)
    margins = list(margin) if isinstance(margin, (list, tuple)) else [margin] * len(pairs)
    values = [(a.values(metric), b.values(metric)) for a, b in pairs]
    equivalences = [tost(x, y, m, alpha=level) for (x, y), m in zip(values, margins)]
    p_welch = [welch(x, y).p for x, y in values]
    p_holm, p_equivalent = holm(p_welch), holm([e.p for e in equivalences])
    tested = sum(p is not None for p in p_welch)
    welch_levels, tost_levels = holm_levels(p_welch, level), holm_levels([e.p for e in equivalences], level)
    fraction = get_metric(metric).unit == "fraction"
    out = []
    for i, ((a, b), (x, y)) in enumerate(zip(pairs, values)):
        d = welch(x, y, confidence=1 - (welch_levels[i] or level))
        e = equivalences[i]
        if tost_levels[i] is not None and tost_levels[i] != level:
            e = tost(x, y, margins[i], alpha=tost_levels[i])
        if fraction:
            d = _within(d, -1.0, 1.0)
        c = Comparison(a, b, d, p_holm[i], metric=metric, equivalence=e, p_equivalent_holm=p_equivalent[i],
                       margin=margins[i], level=level, looks=looks, family=max(tested, 1),
                       ci_confidence=1 - (welch_levels[i] or level))
        sd = pooled_sd(x, y)
        if c.verdict == "inconclusive" and sd:
            # At level / m a p-value is rejected whatever the rest of the family is: a floor on the power.
            c.detectable = detectable_difference(sd, d.n_a, d.n_b, alpha=level / max(tested, 1))
            # The next look is tested at the level for one more look, shared by the whole family.
            c.needed = seeds_needed(d.diff, sd, margins[i], alpha=looks_alpha(ALPHA, looks + 1) / len(pairs))
        out.append(c)
    return out


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
    stats = f"{interval_text(c)}, {fmt.p_clause('Welch p', d.p)}"
    if n_tests > 1:
        stats += f", {fmt.p_clause('Holm-adjusted p', c.p_holm)} over {n_tests} comparisons"
    stats += f", {_seed_counts(d)}"
    if c.looks > 1:
        stats += f", tested at the {100 * c.level:.2g}% level for {c.looks} looks"
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


COMPARISON_COLUMNS = ("a", "b", "metric", "n_a", "n_b", "diff", "ci_low", "ci_high", "p", "p_holm", "p_equivalent",
                      "p_equivalent_holm", "verdict", "margin", "detectable", "seeds_needed", "looks", "level",
                      "ci_confidence")


def comparison_row(c: Comparison) -> dict:
    """One comparison as numbers (fractions for accuracies): a row of `StudyResult.tests` and
    of `cnnlab compare --csv`."""
    e = c.equivalence
    return {"a": c.a.label, "b": c.b.label, "metric": c.metric, "n_a": c.diff.n_a, "n_b": c.diff.n_b,
            "diff": c.diff.diff, "ci_low": c.diff.ci_low, "ci_high": c.diff.ci_high, "p": c.diff.p,
            "p_holm": c.p_holm, "p_equivalent": e.p if e else None, "p_equivalent_holm": c.p_equivalent_holm,
            "verdict": c.verdict, "margin": c.margin, "detectable": c.detectable,
            "seeds_needed": c.needed.n if c.needed else None, "looks": c.looks, "level": c.level,
            "ci_confidence": c.ci_confidence}
