"""kind = "gap": what a regulariser (in `b`) does to the final train–test gap of `a`."""

from cnnlab.report import findings, fmt
from cnnlab.report.questions.pair import Pair
from cnnlab.stats.summary import summarize


class Gap(Pair):
    name = "gap"
    metric = "gap"
    metric_words = "train–test gap"

    def pair(self, question, models):
        pair = super().pair(question, models)
        return pair if pair and all(m.values("gap") for m in pair[0]) else []

    @staticmethod
    def claim(c, plain, regularised) -> str:
        pair = f"{regularised.label} vs {plain.label}"
        if c.verdict == "better":
            return (f"Regularisation significantly {'narrows' if c.b is regularised else 'widens'} the final "
                    f"train–test gap ({pair}).")
        if c.verdict == "equivalent":
            return (f"Regularisation leaves the final train–test gap within ±{findings.points_text(c.margin)} "
                    f"({pair}: equivalent).")
        return (f"Regularisation makes no significant difference to the final train–test gap ({pair}), and no "
                "equivalence is shown: inconclusive with these seeds.")

    def after_verdicts(self, question, models):
        return ["Final train–test gap (mean over seeds): " + ", ".join(
            f"{m.label} {fmt.points(summarize(m.values('gap')).mean, signed=False)}" for m in models
            if m.values("gap")) + "."]
