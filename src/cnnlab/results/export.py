"""A study's results as one tidy table, for pandas, R or a spreadsheet: one row per run and epoch.

    OUT/studies/<name>/results.csv   study, profile, model, label, seed, run_key, status, usable,
                                     then every metrics.jsonl column (epoch, train_loss, ...)

`usable` says whether the report counts the run (finished, records intact). A run that
never finished an epoch has no rows here; `cnnlab runs --csv` lists every run.
"""

from pathlib import Path

from cnnlab.io import atomic_write_csv
from cnnlab.results import StudyResults
from cnnlab.store.schema import METRIC_KEYS, RESULTS_COLUMNS, RESULTS_CSV


def epoch_rows(study: StudyResults) -> list[dict]:
    """One dict per (run, epoch) with RESULTS_COLUMNS, runs in study order (model, then seed)."""
    rows = []
    for model in study.models:
        for run in model.runs:
            head = {"study": study.info.name, "profile": study.info.profile, "model": model.name,
                    "label": model.label, "seed": run.seed, "run_key": run.key, "status": run.status,
                    "usable": run.usable}
            rows += [{**head, **{k: epoch.get(k) for k in METRIC_KEYS}} for epoch in run.metrics]
    return rows


def write_results_csv(study: StudyResults) -> Path:
    path = study.dir / RESULTS_CSV
    atomic_write_csv(path, epoch_rows(study), RESULTS_COLUMNS)
    return path
