"""What every question kind shares: the `QuestionKind` interface, and the wording its claims
use for models, seeds and tests."""

from cnnlab.choices import QUESTION_NEEDS
from cnnlab.report import findings
from cnnlab.report.findings import Comparison
from cnnlab.results import ModelResults


class QuestionKind:
    """One kind of `[[questions]]` table: which fields it takes (`parse`), which models it is
    about (`labels`), what it tests and what it then claims (`compare`)."""

    name = ""
    metric = "test_acc"  # what its comparisons test
    metric_words = "test accuracy"  # how sentences name that

    @property
    def needs(self) -> tuple[str, ...]:
        """The keys naming models that a table of this kind must have (cnnlab.choices.QUESTION_NEEDS,
        which the study.json schema reads too)."""
        return QUESTION_NEEDS[self.name]

    def parse(self, table: dict, refs) -> dict:
        """This kind's own fields of a question table, model references turned into labels.
        `refs` resolves and fails with the file and key: refs.label(key, ref),
        refs.labels(key, refs, at_least), refs.fail(key, reason); keys are relative to the table."""
        raise NotImplementedError

    def labels(self, question: dict) -> list[str]:
        """The models the question is about, in its order."""
        return list(question["models"])

    def compare(self, question: dict, models: list[ModelResults], stats: dict) -> tuple[list[Comparison], str]:
        """The comparisons it tests (`stats`: margin, looks, pairing for findings.compare_pairs)
        among `models` (those of `labels` with finished runs) and the claim they allow."""
        raise NotImplementedError

    def claimed_pairs(self, question: dict) -> set | None:
        """The pairs (sets of two labels) whose claimed orderings it checks; None: every pair compared."""
        return None

    def after_verdicts(self, question: dict, models: list[ModelResults]) -> list[str]:
        """Sentences of its own, right after the accuracies and the verdicts."""
        return []

    def before_costs(self, question: dict, models: list[ModelResults], comparisons: list[Comparison],
                     cost_metrics) -> list[str]:
        """Sentences of its own about costs, before the measured costs."""
        return []


def names(models) -> str:
    return ", ".join(m.label for m in models)


def fewest_seeds(models: list[ModelResults]) -> int:
    return min((len(m.values("test_acc")) for m in models), default=0)


def tests_used(comparisons: list[Comparison]) -> str:
    """"paired t-tests", "Welch tests" or both, as the comparisons used them."""
    kinds = {c.paired for c in comparisons}
    return " and ".join(name for flag, name in ((True, "paired t-tests"), (False, "Welch tests")) if flag in kinds)


def seeds_to_decide(comparisons: list[Comparison]) -> str:
    """"; about N seeds per model would decide it" (or "from N to M ... them"), from the comparisons' plans."""
    seeds = sorted(c.needed.n for c in comparisons if c.needed is not None and c.needed.n is not None)
    if not seeds:
        return ""
    if seeds[0] == seeds[-1]:
        return f"; about {seeds[0]} seeds per model would decide {'it' if len(seeds) == 1 else 'them'}"
    return f"; from about {seeds[0]} to {seeds[-1]} seeds per model would decide them"


def by_label(models: list[ModelResults]) -> dict:
    return {m.label: m for m in models}


def margin_text(comparisons: list[Comparison]) -> str:
    return findings.points_text(comparisons[0].margin)
