"""kind = "pair": one planned comparison of `a` and `b`."""

from cnnlab.report import findings
from cnnlab.report.questions.base import QuestionKind, by_label


class Pair(QuestionKind):
    name = "pair"

    def parse(self, table, refs):
        a, b = refs.label("a", table["a"]), refs.label("b", table["b"])
        if a == b:
            refs.fail("b", "the two models of a pair must differ")
        return {"a": a, "b": b}

    def labels(self, question):
        return [question["a"], question["b"]]

    def pair(self, question, models) -> list:
        """[(a, b)] when both have finished runs, else []."""
        have = by_label(models)
        return [(have[question["a"]], have[question["b"]])] if len(models) == 2 else []

    def compare(self, question, models, stats):
        pair = self.pair(question, models)
        comparisons = findings.compare_pairs(pair, metric=self.metric, **stats)
        if not comparisons:
            return comparisons, "The two models do not both have finished runs: nothing to compare."
        return comparisons, self.claim(comparisons[0], *pair[0])

    @staticmethod
    def claim(c, a, b) -> str:
        """What the one comparison of `a` and `b` says."""
        return findings.sentence(c, 1)
