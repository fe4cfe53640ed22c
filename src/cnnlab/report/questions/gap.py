"""kind = "gap": what a regulariser (in `b`) does to the size of the final train–test gap of `a`.

The size, |train − test|, because that is what "narrows" and "widens" claim: a regularised
model trained with augmentation and dropout can end with its test accuracy above the running
train accuracy (measured with them on), a negative gap that is not a narrower one.
"""

from cnnlab.report import findings, fmt
from cnnlab.report.questions.base import names
from cnnlab.report.questions.pair import Pair
from cnnlab.stats.summary import summarize


class Gap(Pair):
    name = "gap"
    metric = "gap_size"
    metric_words = "size of the train–test gap"

    def pair(self, question, models):
        pair = super().pair(question, models)
        return pair if pair and all(m.values("gap_size") for m in pair[0]) else []

    @staticmethod
    def claim(c, plain, regularised) -> str:
        pair = f"{regularised.label} vs {plain.label}"
        if c.verdict == "better":
            return (f"Regularisation significantly {'narrows' if c.b is regularised else 'widens'} the final "
                    f"train–test gap, |train − test| ({pair}).")
        if c.verdict == "equivalent":
            return (f"Regularisation leaves the size of the final train–test gap within "
                    f"±{findings.points_text(c.margin)} ({pair}: equivalent).")
        return (f"Regularisation makes no significant difference to the size of the final train–test gap ({pair}), "
                "and no equivalence is shown: inconclusive with these seeds.")

    def after_verdicts(self, question, models):
        shown = [m for m in models if m.values("gap")]
        lines = ["Final train − test accuracy (mean over seeds): " + ", ".join(
            f"{m.label} {fmt.points(summarize(m.values('gap')).mean)}" for m in shown) + "; test loss rose for 2+ "
            "epochs after its minimum (overfitting) in " + ", ".join(
                f"{int(sum(m.values('test_loss_rose')))} of {len(m.values('test_loss_rose'))} runs of {m.label}"
                for m in shown if m.values("test_loss_rose")) + "."]
        below = [m for m in shown if summarize(m.values("gap")).mean < 0]
        if below:
            lines.append(f"{names(below)} ended with test accuracy above train "
                         "accuracy: train accuracy is the running accuracy over each epoch's training batches, measured "
                         "with augmentation and dropout on where a model uses them, so a negative gap means those made "
                         "training harder than the test, not that the model generalises in reverse.")
        return lines
