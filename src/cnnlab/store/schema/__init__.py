"""Every file cnnlab writes, defined once: writers, readers and test fixtures go through here,
one module per kind of file (common: names, versions and field checks; run: a run directory;
columns: index.sqlite and results.csv; manifest; tuning; study: study.json; suite: suite.json).
Import from the package: `from cnnlab.store.schema import StudyRecord`.

    OUT/runs/<key>/config.json    RunConfig: everything that decides a run's numbers (hashed
                                  into its key), plus provenance that does not
                  metrics.jsonl   metrics_row per finished epoch; check_metrics for a whole file
                  analysis.json   check_analysis: the core measurements and each analysis's
                                  own value, checked by that analysis (cnnlab.plugins)
                  status, error.txt, traceback.txt, checkpoint.pt, tensorboard/
    OUT/studies/<name>/study.json StudyRecord: the resolved study, its runs, its Manifest and, for a
                                  tuned study (OUT/studies/<name>-tuned), its TuningRecord
                  results.csv     RESULTS_COLUMNS, one row per run and epoch
    OUT/suite.json                SuiteRecord: `cnnlab run all`'s studies, settings, invocations
    OUT/index.sqlite              INDEX_COLUMNS, one row per run (cnnlab.store.index)

Each JSON file carries `schema` (SCHEMA_VERSION). Readers check it and the types of what
they rely on: a run's files that do not match raise `RecordError` with a one-line reason
(callers decide whether that means "retrain", "re-analyse" or "show as damaged"); a
study.json or suite.json that does not raises `UserError`, because then there is nothing
to report. A reader per version (`_STUDY_READERS`, `_SUITE_READERS`) turns an older file
into today's record where that is possible.
"""

from cnnlab.store.schema.common import (ANALYSIS_FILE, CHECKPOINT_FILE, CONFIG_FILE, ERROR_FILE, FINAL_STATUSES,
    INDEX_FILE, METRICS_FILE, REPORT_STAMP, RESULTS_CSV, ROLES, RUNS_DIR, SCHEMA_VERSION, STATUSES, STATUS_FILE,
    STUDIES_DIR, STUDY_FILE, SUITE_FILE, TENSORBOARD_DIR, TRACEBACK_FILE, RecordError, stable_hash)
from cnnlab.store.schema.run import (CORE_SHAPES, DIVERGED_EPOCH, METRIC_KEYS, RunConfig, RunRecord, check_analysis,
    check_metrics, metrics_row, metrics_text, parse_metrics, required_analyses, setting_text)
from cnnlab.store.schema.columns import INDEX_COLUMNS, RESULTS_COLUMNS, RESULTS_RUN_COLUMNS
from cnnlab.store.schema.manifest import Manifest
from cnnlab.store.schema.tuning import ModelTuning, TuningPoint, TuningRecord, TuningRun
from cnnlab.store.schema.study import RunEntry, StudyModel, StudyRecord, read_study, study_dirs
from cnnlab.store.schema.suite import HARDWARE_KEYS, Invocation, SuiteRecord, SuiteStudy, read_suite
