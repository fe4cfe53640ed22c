"""Pairwise comparisons of a study's models, each ending in a verdict, and the sentences they support.

The rule for every sentence: say only what the numbers support, and say what they decide:
"better", "equivalent" within ±margin, or "inconclusive" with what would decide it. The
statistics are cnnlab.stats (the procedure: docs/statistics.md); this module picks each
family's pairs from a study's models and words the verdicts. Costs (parameters, time, memory)
are reported as measured values, not ranked by a test.
"""

from dataclasses import dataclass
from itertools import combinations

from cnnlab.choices import DEFAULT_MARGIN_POINTS
from cnnlab.report import fmt
from cnnlab.results.busy import busy
from cnnlab.results import ModelResults, StudyResults, get_metric
from cnnlab.stats.family import VERDICTS, Decision, Pair
from cnnlab.stats.family import decide_family as decide_pairs
from cnnlab.stats.summary import summarize
from cnnlab.stats.ttest import Difference

ONE_SEED = "one seed only: no significance test; differences are not claims"
# The one default margin (cnnlab.choices, in points as study files give it), in the statistics' unit.
DEFAULT_MARGIN_FRACTION = DEFAULT_MARGIN_POINTS / 100
ROUGH_BELOW = 5  # seeds per model under which a planned number of seeds is called rough


@dataclass(kw_only=True)
class Comparison(Decision):
    """A decided pair of a study's models: `a` the one ranked first (cnnlab.stats.family.Decision
    holds the numbers, a minus b)."""
    a: ModelResults
    b: ModelResults
    metric: str = "test_acc"


def by_test_accuracy(models: list[ModelResults]) -> list[ModelResults]:
    """Highest mean test accuracy first; models without a finished run last, in study order."""
    def key(m):
        mean = summarize(m.values("test_acc")).mean
        return (mean is None, -(mean or 0.0), m.index)
    return sorted(models, key=key)


def compare(models: list[ModelResults], metric: str = "test_acc", margin: float = DEFAULT_MARGIN_FRACTION,
            looks=(), pairing: bool = False, plan_seeds: int | None = None) -> list[Comparison]:
    """Every pair of `models` that has values of `metric`: one Holm family (`decide_family`)."""
    ranked = [m for m in by_test_accuracy(models) if m.values(metric)]
    return decide_family(list(combinations(ranked, 2)), metric, margin, looks, pairing, plan_seeds)


def compare_pairs(pairs: list[tuple[ModelResults, ModelResults]], metric: str = "test_acc",
                  margin: float = DEFAULT_MARGIN_FRACTION, looks=(), pairing: bool = False,
                  plan_seeds: int | None = None) -> list[Comparison]:
    """Planned comparisons: only `pairs`, Holm-corrected over them alone (a smaller family
    than every pair of a study)."""
    return decide_family(list(pairs), metric, margin, looks, pairing, plan_seeds)


def family_settings(study: StudyResults, margin_points: float | None = None) -> dict:
    """How a study's comparisons are decided, from its study.json: the margin (a question's own,
    else the study's), the looks, the plan, and whether its design pairs the seeds. Every
    verdict of a study (its report, its answers, `StudyResult.tests`, --until-decided) uses these."""
    info = study.info
    plan = info.plan_seeds
    if plan is None and info.looks and isinstance(info.until_decided, dict):
        plan = info.until_decided.get("max_seeds")  # results of a cnnlab that did not record the plan
    margin = info.margin if margin_points is None else margin_points
    return {"margin": margin / 100, "looks": info.looks, "pairing": info.test == "paired", "plan_seeds": plan}


def metric_words(metric: str) -> str:
    """How a sentence names a metric: its description ("train–test accuracy gap ...")."""
    return get_metric(metric).title


def paired_by_design(a: ModelResults, b: ModelResults, looks=()) -> bool:
    """Whether the study gave both models the same seeds at its first look (seed s: the same data
    order, augmentation draws and test images for both). Fixed by the first look: a pair tested
    paired stays paired when later looks give the two models different numbers of seeds."""
    seeds_a, seeds_b = a.seeds(), b.seeds()
    first = min(looks) if looks else max(len(seeds_a), len(seeds_b))
    return bool(seeds_a) and seeds_a[:first] == seeds_b[:first]


def decide_family(pairs: list[tuple[ModelResults, ModelResults]], metric: str, margin, looks=(),
                  pairing: bool = False, plan_seeds: int | None = None) -> list[Comparison]:
    """One family of comparisons of a study's models (cnnlab.stats.family.decide_family), each
    pair paired when the design pairs its seeds and `pairing` allows it, else Welch's.
    Differences of fractions (accuracies) are kept within ±1, the most two fractions can differ by.
    Each comparison names first the model its shown look (the one that decided it, else the
    last) finds higher, so "better" never names the model with the lower numbers."""
    data = [Pair(a.seed_values(metric), b.seed_values(metric), tuple(a.seeds()), tuple(b.seeds()),
                 pairing and paired_by_design(a, b, looks)) for a, b in pairs]
    bounds = (-1.0, 1.0) if get_metric(metric).unit == "fraction" else None
    out = []
    for (a, b), d in zip(pairs, decide_pairs(data, margin, looks, plan_seeds, bounds)):
        if d.diff.diff is not None and d.diff.diff < 0:
            a, b, d = b, a, d.reversed()
        out.append(Comparison(a=a, b=b, metric=metric, **d.numbers()))
    return out


BEYOND_PLAN = "no interval: this look is beyond the seeds the study planned for, so it cannot decide"


def interval_text(c: Comparison) -> str:
    """"95% CI [+1.20, +3.40]" of the difference in points, at the confidence its verdict was tested
    at (lower than 95% after Holm's correction or a later look)."""
    d = c.diff
    if c.ci_confidence is None or d.ci_low is None:
        return BEYOND_PLAN
    return f"{fmt.confidence(c.ci_confidence)} CI [{100 * d.ci_low:+.2f}, {100 * d.ci_high:+.2f}]"


def _seed_counts(d: Difference) -> str:
    return f"n = {d.n_a} seeds each" if d.n_a == d.n_b else f"n = {d.n_a} and {d.n_b} seeds"


def looks_text(c: Comparison) -> str:
    """"3, 6, 12" seeds per model at each look, or "3, 6, 12/6" where the two models differ."""
    return ", ".join(str(a) if a == b else f"{a}/{b}" for a, b in c.look_seeds)


def points_text(x) -> str:
    """0.0123 -> "1.23 points"."""
    return fmt.points(x, signed=False).replace(" pts", " points")


def detect_text(c: Comparison) -> str:
    """What these seeds can detect, bounded by what the metric can be (a fraction differs by at
    most 100 points)."""
    if not c.detectable:
        return ""
    if get_metric(c.metric).unit == "fraction" and c.detectable >= 1:
        return "these seeds vary too much to detect any difference an accuracy can have (100 points) with 80% power"
    return f"these seeds detect a difference of {points_text(c.detectable)} with 80% power (on average over the spread's uncertainty)"


def needed_text(c: Comparison) -> str:
    """What would decide an inconclusive comparison, in one clause."""
    more = ""
    fewest = min(c.diff.n_a, c.diff.n_b)
    if c.needed is not None and c.needed.n is None:
        more = (f"even {c.needed.max_seeds:,} seeds per model would not decide it at this spread (the difference "
                f"is about the ±{points_text(c.margin)} margin)")
    elif c.needed is not None:
        goal = {"better": "show a difference", "equivalent": f"show equivalence within ±{points_text(c.margin)}"}
        where = ("in a study planned for them from the start (this one has spent its level)" if c.needed.fresh
                 else "at this spread")
        more = f"about {c.needed.n} seeds per model would {goal[c.needed.verdict]} {where}"
        if fewest < ROUGH_BELOW:
            more += f" (a rough figure: the spread comes from only {fewest} seeds per model)"
    return "; ".join(x for x in (detect_text(c), more) if x)


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
    for timings from a busy machine, why they are not compared (cnnlab.results.busy)."""
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
    """One comparison of a study as numbers: a row of `StudyResult.tests`."""
    return decision_row(c, c.a.label, c.b.label, c.metric)


def decision_row(c: Decision, a: str, b: str, metric: str) -> dict:
    """One decided pair as numbers (fractions for accuracies): a row of `StudyResult.tests` and
    of `cnnlab compare --csv`. `test`: "paired" or "welch"; p: that test's p at the look shown
    (`look` of `looks`), p_sequential: over its looks."""
    e = c.equivalence
    return {"a": a, "b": b, "metric": metric, "test": "paired" if c.paired else "welch",
            "n_a": c.diff.n_a, "n_b": c.diff.n_b, "diff": c.diff.diff, "ci_low": c.diff.ci_low,
            "ci_high": c.diff.ci_high, "p": c.diff.p, "p_sequential": c.p_sequential, "p_holm": c.p_holm,
            "p_equivalent": e.p if e else None, "p_equivalent_holm": c.p_equivalent_holm,
            "verdict": c.verdict, "margin": c.margin, "detectable": c.detectable,
            "seeds_needed": c.needed.n if c.needed else None, "looks": c.looks, "look": c.look, "level": c.level,
            "ci_confidence": c.ci_confidence}
