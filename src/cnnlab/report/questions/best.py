"""kind = "best": which of `models` is most accurate, every pair tested."""

from cnnlab.report import findings
from cnnlab.report.questions.base import QuestionKind, fewest_seeds, names, seeds_to_decide, tests_used


class Best(QuestionKind):
    name = "best"

    def parse(self, table, refs):
        return {"models": refs.labels("models", table["models"], 2)}

    def compare(self, question, models, stats):
        comparisons = findings.compare(models, **stats)
        return comparisons, self.claim(models, comparisons, question.get("what") or "model")

    @staticmethod
    def claim(models, comparisons, what: str) -> str:
        """The claim about the most accurate of `models`, as strong as the verdicts allow."""
        ranked = [m for m in findings.by_test_accuracy(models) if m.values("test_acc")]
        if len(ranked) < 2:
            return f"Fewer than two {what}s have finished runs: nothing to compare."
        top, rest = ranked[0], ranked[1:]
        if fewest_seeds(ranked) < 2:
            return (f"Every {what} ran with fewer than two seeds: no significance test, so no ranking is claimed "
                    f"(highest mean: {top.label}).")
        n = fewest_seeds(ranked)
        against = {(c.b if c.a is top else c.a).label: c for c in comparisons if top in (c.a, c.b)}
        better = [m for m in rest if against[m.label].verdict == "better" and against[m.label].a is top]
        equivalent = [m for m in rest if against[m.label].verdict == "equivalent"]
        open_ = [m for m in rest if m not in better and m not in equivalent]
        if not equivalent and not open_:
            return (f"{top.label} is the most accurate {what}: its test accuracy is significantly higher than that "
                    f"of {names(rest)} (Holm-adjusted {tests_used(comparisons)}, {n} seeds).")
        margin = findings.points_text(comparisons[0].margin)
        parts = []
        if better:
            parts.append(f"it is significantly better than {names(better)}")
        if equivalent:
            parts.append(f"it is within ±{margin} of {names(equivalent)} (equivalent by two one-sided tests)")
        more = seeds_to_decide([against[m.label] for m in open_])
        if open_:
            parts.append(f"there is no significant difference between it and {names(open_)} with {n} seeds, and no "
                         f"equivalence either: inconclusive{more}")
        if not better and not equivalent:
            return (f"No significant difference in test accuracy between {top.label} (highest mean) and "
                    f"{names(open_)} with {n} seeds: the ranking by mean is not established, and the seeds cannot "
                    f"show them equivalent within ±{margin} either, so the comparisons are inconclusive{more}.")
        return f"{top.label} has the highest mean test accuracy; " + "; ".join(parts) + "."
