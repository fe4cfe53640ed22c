"""A reference table read as a study's results: the runs of a larger size (made on another
machine, shipped with cnnlab) set against a study's questions as if they had run here."""

import dataclasses

from cnnlab.results import ModelResults, StudyResults, metrics
from cnnlab.store.schema import Manifest, RunRecord, StudyRecord
from cnnlab.store.schema.reference import ReferenceRun


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
