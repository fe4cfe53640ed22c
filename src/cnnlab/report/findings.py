"""Pairwise comparisons and the findings written from them.

The rule for every sentence: say only what the numbers support. A model is called more
accurate than another only when Welch's test rejects "no difference" at the 5% level
after Holm's correction for the number of pairs compared; otherwise the sentence says
there is no significant difference, and with one seed it says no test was possible.
Costs (parameters, time, memory) are reported as measured values, not ranked by a test.
"""

from dataclasses import dataclass
from itertools import combinations

from cnnlab.report import fmt
from cnnlab.report.load import ModelResults, grad_flow_view
from cnnlab.report.stats import ALPHA, Difference, holm, summarize, welch

ONE_SEED = "one seed only: no significance test; differences are not claims"


@dataclass
class Comparison:
    a: ModelResults  # the model with the higher mean (of test accuracy, unless compared on another metric)
    b: ModelResults
    diff: Difference  # the metric of a minus b, as fractions
    p_holm: float | None

    @property
    def significant(self) -> bool:
        return self.p_holm is not None and self.p_holm < ALPHA


def by_test_accuracy(models: list[ModelResults]) -> list[ModelResults]:
    """Highest mean test accuracy first; models without a finished run last, in study order."""
    def key(m):
        mean = summarize(m.values("test_acc")).mean
        return (mean is None, -(mean or 0.0), m.index)
    return sorted(models, key=key)


def compare(models: list[ModelResults], metric: str = "test_acc") -> list[Comparison]:
    ranked = [m for m in by_test_accuracy(models) if m.values(metric)]
    pairs = [(a, b, welch(a.values(metric), b.values(metric))) for a, b in combinations(ranked, 2)]
    adjusted = holm([d.p for _, _, d in pairs])
    return [Comparison(a, b, d, p) for (a, b, d), p in zip(pairs, adjusted)]


def compare_pairs(pairs: list[tuple[ModelResults, ModelResults]], metric: str = "test_acc") -> list[Comparison]:
    """Planned comparisons: only `pairs`, Holm-corrected over them alone (a smaller family
    than every pair of a study), each ordered so that `a` has the higher mean of `metric`."""
    ordered = []
    for x, y in pairs:
        mx, my = summarize(x.values(metric)).mean, summarize(y.values(metric)).mean
        ordered.append((y, x) if mx is not None and my is not None and my > mx else (x, y))
    diffs = [welch(a.values(metric), b.values(metric)) for a, b in ordered]
    adjusted = holm([d.p for d in diffs])
    return [Comparison(a, b, d, p) for (a, b), d, p in zip(ordered, diffs, adjusted)]


def _seed_counts(d: Difference) -> str:
    return f"n = {d.n_a} seeds each" if d.n_a == d.n_b else f"n = {d.n_a} and {d.n_b} seeds"


def sentence(c: Comparison, n_tests: int, what: str = "test accuracy") -> str:
    """`what`: the compared metric (a fraction, shown in percentage points)."""
    a, b, d = c.a.label, c.b.label, c.diff
    size = fmt.points(d.diff, signed=False).replace(" pts", " points")
    if d.n_a < 2 or d.n_b < 2:
        return f"{a} vs {b}: {ONE_SEED} (measured difference {size} of {what})."
    if d.p is None:
        return (f"{a} vs {b}: {what} did not vary across seeds, so no test is possible "
                f"(difference {size}, {_seed_counts(d)}).")
    stats = f"95% CI [{100 * d.ci_low:+.2f}, {100 * d.ci_high:+.2f}], {fmt.p_clause('Welch p', d.p)}"
    if n_tests > 1:
        stats += f", {fmt.p_clause('Holm-adjusted p', c.p_holm)} over {n_tests} comparisons"
    stats += f", {_seed_counts(d)}"
    if c.significant:
        return f"{fmt.possessive(a)} {what} is higher than {fmt.possessive(b)} by {size} ({stats})."
    return f"No significant difference in {what} between {a} and {b}: {size} apart ({stats})."


def accuracy_findings(comparisons: list[Comparison]) -> list[str]:
    if not comparisons:
        return []
    out = []
    if all(c.diff.n_a < 2 and c.diff.n_b < 2 for c in comparisons):
        out.append(f"Every model ran with {ONE_SEED}.")
    out += [sentence(c, len(comparisons)) for c in comparisons]
    return out


def _extremes(models: list[ModelResults], metric: str):
    """(model with the lowest mean, its mean, model with the highest, its mean) or None."""
    means = [(summarize(m.values(metric)).mean, m) for m in models if m.values(metric)]
    if len(means) < 2:
        return None
    lo = min(means, key=lambda t: t[0])
    hi = max(means, key=lambda t: t[0])
    return lo[1], lo[0], hi[1], hi[0]


def _range(models: list[ModelResults], metric: str, what: str, show) -> str | None:
    """"<what> ranges from <low> (model) to <high> (model)." or, when the shown values are
    equal, "<what> is <value> for every model." None with fewer than two measured models."""
    ext = _extremes(models, metric)
    if not ext:
        return None
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
    ext = _extremes(models, "params")
    if ext and ext[1] > 0 and ext[3] / ext[1] >= 1.05:
        out.append(f"{ext[2].label} has {ext[3] / ext[1]:.1f}× the parameters of {ext[0].label}.")
    return [s for s in out if s]


def overfitting_findings(models: list[ModelResults]) -> list[str]:
    ext = _extremes(models, "gap")
    if not ext:
        return []
    lo, lo_v, hi, hi_v = ext
    return [f"At the last epoch the train–test accuracy gap (mean over seeds) ranges from {100 * lo_v:.2f} "
            f"points ({lo.label}) to {100 * hi_v:.2f} points ({hi.label})."]


def gradient_findings(models: list[ModelResults]) -> list[str]:
    out = []
    for m in models:
        views = [grad_flow_view(r.analysis.get("grad_flow")) for r in m.done]
        views = [v for v in views if v]
        if not views:
            continue
        vanishing = sum(bool(v.get("vanishing")) for v in views)
        exploding = sum(bool(v.get("exploding")) for v in views)
        flags = []
        if vanishing:
            flags.append(f"vanishing gradients in {vanishing} of {len(views)} runs")
        if exploding:
            flags.append(f"exploding gradients in {exploding} of {len(views)} runs")
        if flags:
            out.append(f"{m.label}: " + " and ".join(flags) + " (thresholds in the Gradient flow section).")
    return out


def run_problems(models: list[ModelResults]) -> list[str]:
    out = []
    for m in models:
        for r in m.runs:
            if r.status != "done":
                why = f": {r.error}" if r.error else ""
                out.append(f"{m.label}, seed {r.seed}: {r.status}{why} (excluded from the statistics).")
            elif not r.trusted:
                out.append(f"{m.label}, seed {r.seed}: damaged records: {r.problems[0]} (excluded from the "
                           "statistics; `cnnlab run` trains it again).")
    return out
