"""kind = "ordering": `models` in the order claimed, lowest first; each neighbour pair is tested."""

from cnnlab.report import findings
from cnnlab.report.questions.base import QuestionKind, by_label


class Ordering(QuestionKind):
    name = "ordering"

    def parse(self, table, refs):
        return {"models": refs.labels("models", table["models"], 2)}

    def compare(self, question, models, stats):
        have = by_label(models)
        order = [have[x] for x in question["models"] if x in have]
        comparisons = findings.compare_pairs(list(zip(order, order[1:])), **stats)
        return comparisons, self.claim(order, comparisons) if len(order) > 1 else "Fewer than two models finished."

    @staticmethod
    def claim(order, comparisons) -> str:
        """Each neighbour step of the claimed order (lowest first) against its verdict."""
        chain = " < ".join(m.label for m in order)
        steps = []
        for lo, hi, c in zip(order, order[1:], comparisons):
            if c.verdict == "better":
                steps.append(f"{lo.label} < {hi.label}: holds" if c.a is hi else
                             f"{lo.label} < {hi.label}: reversed (significantly the other way)")
            elif c.verdict == "equivalent":
                steps.append(f"{lo.label} ≈ {hi.label}: equivalent within ±{findings.points_text(c.margin)}")
            else:
                steps.append(f"{lo.label} vs {hi.label}: {c.verdict}")
        held = sum(s.endswith("holds") for s in steps)
        head = (f"The ordering {chain} holds: every step is significant." if held == len(steps) else
                f"The ordering {chain} holds for {held} of {len(steps)} steps.")
        return head + " " + "; ".join(steps) + "."
