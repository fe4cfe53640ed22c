"""kind = "pairs": one factor across pairs ([[a, b], ...]), e.g. each custom layer against its
standard analog; `cost_ratios = true` adds each pair's measured cost ratios."""

from cnnlab.report import findings
from cnnlab.results.busy import busy
from cnnlab.results import get_metric
from cnnlab.report.questions.base import QuestionKind, by_label, fewest_seeds
from cnnlab.stats.summary import summarize


class Pairs(QuestionKind):
    name = "pairs"

    def parse(self, table, refs):
        pairs = table["pairs"]
        if not isinstance(pairs, list) or not pairs:
            refs.fail("pairs", "expected a list of [a, b] pairs of model labels")
        out = [refs.labels(f"pairs[{j}]", p, 2) for j, p in enumerate(pairs)]
        if any(len(p) != 2 for p in out):
            refs.fail("pairs", "every pair has exactly two models")
        return {"pairs": out}

    def labels(self, question):
        return list(dict.fromkeys(x for pair in question["pairs"] for x in pair))

    def _finished(self, question, models) -> list[list[str]]:
        have = by_label(models)
        return [p for p in question["pairs"] if p[0] in have and p[1] in have]

    def compare(self, question, models, stats):
        have = by_label(models)
        pairs = [(have[a], have[b]) for a, b in self._finished(question, models)]
        comparisons = findings.compare_pairs(pairs, **stats)
        return comparisons, self.claim(comparisons, fewest_seeds(models), question.get("what") or "model")

    def claimed_pairs(self, question):
        return {frozenset(p) for p in question["pairs"]}

    @staticmethod
    def claim(comparisons, fewest: int, what: str) -> str:
        if not comparisons:
            return "No pair has finished runs on both sides: nothing to compare."
        better = [c for c in comparisons if c.verdict == "better"]
        equivalent = [c for c in comparisons if c.verdict == "equivalent"]
        rest = len(comparisons) - len(better) - len(equivalent)
        if not better and not equivalent:
            return (f"No {what} differs significantly from its counterpart in test accuracy ({len(comparisons)} "
                    f"planned comparisons, Holm-adjusted, {fewest} seeds), and none is shown equivalent: all "
                    f"{len(comparisons)} are inconclusive.")
        parts = []
        if better:
            parts.append(f"{len(better)} of {len(comparisons)} planned comparisons are significant after Holm's "
                         "correction: " + "; ".join(f"{c.a.label} is better than {c.b.label}" for c in better))
        if equivalent:
            parts.append(f"{len(equivalent)} are equivalent within ±{findings.points_text(comparisons[0].margin)}: "
                         + "; ".join(f"{c.a.label} and {c.b.label}" for c in equivalent))
        if rest:
            parts.append(f"{rest} {'is' if rest == 1 else 'are'} inconclusive")
        return ". ".join(p[:1].upper() + p[1:] for p in parts) + "."

    def before_costs(self, question, models, comparisons, cost_metrics):
        if not question.get("cost_ratios"):
            return []
        ratios = [_cost_ratios(c.a if c.a.label == p[0] else c.b, c.b if c.a.label == p[0] else c.a, cost_metrics)
                  for c, p in zip(comparisons, self._finished(question, models))]
        return ["Measured costs, " + "; ".join(r for r in ratios if r) + "."] if any(ratios) else []


def _cost_ratios(a, b, metrics) -> str:
    parts = []
    for name in metrics:
        metric = get_metric(name)
        x, y = summarize(a.values(name)).mean, summarize(b.values(name)).mean
        if x is None or y is None or busy([a, b], name):
            continue
        if metric.unit == "count":
            parts.append(f"{metric.title} {x - y:+,.0f}")
        elif y:
            parts.append(f"{metric.title} {x / y:.2f}×")
    return f"{a.label} vs {b.label}: " + ", ".join(parts) if parts else ""
