"""What every schema module shares: the format version, the file names, the run statuses, and the
helpers that check a JSON object's fields with one-line errors."""

import hashlib
import json
from pathlib import Path

from cnnlab.errors import UserError
from cnnlab.numeric import is_number


SCHEMA_VERSION = 3  # 3: config.json and study.json name the profile and the test subset


# In a run directory, OUT/runs/<run key>/
CONFIG_FILE = "config.json"
METRICS_FILE = "metrics.jsonl"
ANALYSIS_FILE = "analysis.json"
CHECKPOINT_FILE = "checkpoint.pt"
STATUS_FILE = "status"
ERROR_FILE = "error.txt"
TRACEBACK_FILE = "traceback.txt"
TENSORBOARD_DIR = "tensorboard"  # event files of the run's live curves (cnnlab.train.tensorboard)


# In an output directory
RUNS_DIR = "runs"
STUDIES_DIR = "studies"
INDEX_FILE = "index.sqlite"
SUITE_FILE = "suite.json"  # of `cnnlab run all` (cnnlab.studies.run_all)


# In a study directory, OUT/studies/<name>/
STUDY_FILE = "study.json"
RESULTS_CSV = "results.csv"
REPORT_STAMP = ".report-stamp"  # what its report was rendered from (cnnlab.studies.run_all)
STATUSES = ("done", "failed", "diverged")


# What a run is for: "eval" runs are a study's results (trained on the training set, scored on
# the test set); "tune" runs choose a model's settings (trained on part of the training set,
# scored on the rest: a validation split), and no result is ever read from them.
ROLES = ("eval", "tune")
FINAL_STATUSES = ("done", "diverged")  # results: re-running would only repeat them


class RecordError(ValueError):
    """A run's files do not match the schema (damaged, truncated, or from another format)."""


def stable_hash(obj) -> str:
    """Short hash of a JSON-serialisable object, independent of key order."""
    return hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest()[:16]


def _checked(path, obj, key: str, kinds, what: str, optional: bool = True):
    """obj[key] when it has one of `kinds` (None when absent and optional); else a one-line error."""
    value = obj.get(key)
    if value is None and optional:
        return None
    kinds = kinds if isinstance(kinds, tuple) else (kinds,)
    if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
        raise UserError(f"{path}: '{key}' must be {what}, got {type(value).__name__} {str(value)[:40]!r}; "
                        "the file is damaged: run the study again to re-create it")
    return value


def _list_of_objects(path, obj, key: str) -> list[dict]:
    items = _checked(path, obj, key, list, "a list") or []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise UserError(f"{path}: '{key}[{i}]' must be an object, got {type(item).__name__}; the file is "
                            "damaged: run the study again to re-create it")
    return items


def _read_json(path: Path, what: str):
    try:
        obj = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        obj = None
    if not isinstance(obj, dict):
        raise UserError(f"{path} is not {what} (missing, corrupt or not a JSON object)")
    return obj


def _is_int(x) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _numbers_only(d) -> dict:
    return {str(k): float(v) for k, v in d.items() if is_number(v)} if isinstance(d, dict) else {}


def _which_cnnlab(version) -> str:
    if isinstance(version, int) and not isinstance(version, bool):
        return "an older cnnlab" if version < SCHEMA_VERSION else "a newer cnnlab"
    return "another cnnlab"


def _field(path, where: str, obj: dict, key: str, kinds, what: str, optional: bool = True):
    return _checked(path, {f"{where}.{key}": obj.get(key)}, f"{where}.{key}", kinds, what, optional)
