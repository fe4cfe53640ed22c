"""The same study at several training sizes: do its verdicts hold as training grows?

A quick run decides comparisons on a few thousand images and epochs; the question is usually
about networks trained far longer. Every comparison of a study's questions is matched across
sizes (by question, pair and metric) and classed by how its verdict moves:

- agree: decided the same way at both sizes;
- opposite: "better" one way at one size and the other way at the other;
- conflicting: "better" at one size, "equivalent" at the other;
- undecided at the smaller size / at the larger size / at both.

A reference table (cnnlab.store.schema.reference) stands in for a larger size's runs
(`reference_results`), so a quick OUT can be set against results made on another machine.
"""

import dataclasses
from dataclasses import dataclass

from cnnlab.report.answers import answers
from cnnlab.report.findings import Comparison, metric_words
from cnnlab.report.load import ModelResults, StudyResults, metrics
from cnnlab.store.schema import Manifest, RunRecord, StudyRecord
from cnnlab.store.schema.reference import ReferenceRun

DECIDED = ("better", "equivalent")
TRANSFER = ("agree", "opposite", "conflicting", "undecided at the smaller size", "undecided at the larger size",
            "undecided at both")


def reference_results(info: StudyRecord, rows: list[ReferenceRun], directory) -> StudyResults:
    """The study described by `info` (its models, questions, claims) with the reference table's
    runs as its results: one look at the table's seeds, tested at the full level."""
    rows = [r for r in rows if r.study == info.name]
    table = metrics()
    models = [ModelResults(name=m.name, label=m.label, kwargs=dict(m.kwargs), index=i, metric_table=table)
              for i, m in enumerate(info.models)]
    by_label = {m.label: m for m in models}
    for r in rows:
        if r.label not in by_label:
            continue
        epoch = {"epoch": r.epochs, "test_acc": r.test_acc, "train_acc": r.train_acc, "test_loss": r.test_loss,
                 "train_loss": r.train_loss}
        by_label[r.label].runs.append(RunRecord(key=f"reference-{r.label}-{r.seed}", status="done",
                                                raw_config={"model": r.model, "seed": r.seed}, metrics=[epoch],
                                                analysis={"train_seconds": r.train_seconds}))
    seeds = max((len(m.runs) for m in models), default=0)
    first = rows[0] if rows else None
    manifest = Manifest(cpu_model=first.cpu if first else None, device=first.cpu if first else None,
                        test_size=first.test_images if first else None, precision=first.precision if first else None,
                        dataset=first.dataset if first else None, train_size=first.train_images if first else None)
    record = dataclasses.replace(info, looks=(seeds,) if seeds else (), plan_seeds=seeds or None,
                                 until_decided=None, profile=first.profile if first else info.profile,
                                 epochs=first.epochs if first else info.epochs, manifest=manifest, tuning=None)
    return StudyResults(dir=directory, runs_dir=directory, info=record, models=models)


@dataclass(frozen=True)
class Transfer:
    """One comparison at two sizes."""
    question: str
    a: str  # as the smaller size orders the pair
    b: str
    metric: str
    small: Comparison
    large: Comparison

    @property
    def kind(self) -> str:
        """One of TRANSFER."""
        small, large = self.small.verdict in DECIDED, self.large.verdict in DECIDED
        if not small and not large:
            return "undecided at both"
        if not small:
            return "undecided at the smaller size"
        if not large:
            return "undecided at the larger size"
        if self.small.verdict != self.large.verdict:
            return "conflicting"
        if self.small.verdict == "better" and self.small.a.label != self.large.a.label:
            return "opposite"
        return "agree"

    def verdict_text(self, c: Comparison) -> str:
        if c.verdict == "better":
            return f"{c.a.label} {'better' if c.metric == 'test_acc' else 'higher'}"
        return c.verdict


def comparisons_by_key(study: StudyResults) -> dict:
    """{(question, frozenset of the two labels, metric): Comparison} over the study's questions."""
    out = {}
    for answer in answers(study):
        for c in answer.comparisons:
            out.setdefault((answer.question, frozenset((c.a.label, c.b.label)), c.metric), c)
    return out


def transfers(small: StudyResults, large: StudyResults) -> list[Transfer]:
    """Every comparison of the study's questions found at both sizes, in the smaller size's order."""
    at_large = comparisons_by_key(large)
    out = []
    for key, c in comparisons_by_key(small).items():
        if key in at_large:
            out.append(Transfer(key[0], c.a.label, c.b.label, c.metric, c, at_large[key]))
    return out


def counts(found: list[Transfer]) -> dict[str, int]:
    return {kind: sum(t.kind == kind for t in found) for kind in TRANSFER}


def describe(t: Transfer) -> str:
    """One line: the comparison and its verdict at each size."""
    what = "" if t.metric == "test_acc" else f" ({metric_words(t.metric)})"
    return (f"{t.question}: {t.a} vs {t.b}{what}: {t.verdict_text(t.small)} at the smaller size, "
            f"{t.verdict_text(t.large)} at the larger: {t.kind}")
