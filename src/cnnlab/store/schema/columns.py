"""The tables cnnlab writes: OUT/index.sqlite's columns and OUT/studies/<name>/results.csv's."""

from cnnlab.store.schema.run import METRIC_KEYS


# Column -> SQL type of OUT/index.sqlite's one table, `runs` (cnnlab.store.index); a row is
# RunRecord.summary() plus when and where. run_key is the primary key: upserting never duplicates.
INDEX_COLUMNS = {
    "run_key": "TEXT PRIMARY KEY",
    "study": "TEXT",
    "profile": "TEXT",  # quick or full (cnnlab.choices.PROFILES)
    "role": "TEXT",  # eval (a study's result) or tune (chose a model's settings on a validation split)
    "lr": "REAL",  # the run's learning rate and weight decay: a model's runs at shared and tuned settings differ here
    "weight_decay": "REAL",
    "model": "TEXT",
    "label": "TEXT",
    "seed": "INTEGER",
    "dataset": "TEXT",
    "status": "TEXT",
    "test_acc": "REAL",
    "train_acc": "REAL",
    "test_loss": "REAL",
    "params": "INTEGER",
    "macs": "INTEGER",
    "macro_auc": "REAL",  # the roc analysis's macro AUC, where the run measured it
    "train_seconds": "REAL",
    "epochs": "INTEGER",
    "code": "TEXT",  # fingerprint of the code that made the run (cnnlab.fingerprint)
    "analyses": "TEXT",  # the run's analyses, comma-separated: what besides RESULT_CODE its code covers
    "model_source": "TEXT",  # a user's model: the code its key covers too (cnnlab.models.user_code)
    "device": "TEXT",
    "threads": "INTEGER",
    "precision": "TEXT",
    "updated_at": "TEXT",
    "run_dir": "TEXT",
}


# OUT/studies/<name>/results.csv: one row per run and epoch (cnnlab.results.export).
RESULTS_RUN_COLUMNS = ("study", "profile", "model", "label", "seed", "run_key", "status", "usable")
RESULTS_COLUMNS = RESULTS_RUN_COLUMNS + METRIC_KEYS
