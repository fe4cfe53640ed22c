"""Every file cnnlab writes, defined once: writers, readers and test fixtures go through here.

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

import hashlib
import json
from dataclasses import dataclass, field, fields
from pathlib import Path

from cnnlab.choices import DEFAULT_PROFILE, QUESTION_KINDS, QUESTION_NEEDS, RESOLVED_PRECISIONS
from cnnlab.errors import UserError
from cnnlab.numeric import is_number, number
from cnnlab.plugins import find_analysis
from cnnlab.units import counted

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


# ---- config.json ----------------------------------------------------------------------

@dataclass(frozen=True)
class RunConfig:
    """One run: study, model, seed, data, training settings, analyses, and the code and
    runtime that produced it. `identity()` is what the run key hashes; `label` is how the
    study names the model and is not part of it."""
    study: str
    model: str
    model_kwargs: dict
    seed: int
    dataset: str
    subset: int | None
    train: dict  # TrainConfig.to_dict(), fully resolved ("auto" precision already decided)
    analyses: tuple[str, ...]
    code: str  # cnnlab.fingerprint.code_fingerprint() of the code that trains and measures
    runtime: dict  # {"device": "cpu" | "cuda", "threads": int (CPU) or None, "torch": version}
    label: str = ""
    profile: str = DEFAULT_PROFILE  # cnnlab.choices.PROFILES: quick and full runs never share a key
    test_subset: int | None = None  # evaluate on the first N test images only (None: all)
    role: str = "eval"  # ROLES
    validation: dict | None = None  # a tuning run's split of the training set: {"fraction": 0.1, "seed": 0}
    setting: dict | None = None  # a tuning run's searched values, e.g. {"lr": 0.001}

    def identity(self) -> dict:
        out = {"study": self.study, "profile": self.profile, "model": self.model,
               "model_kwargs": dict(self.model_kwargs), "seed": self.seed, "dataset": self.dataset,
               "subset": self.subset, "test_subset": self.test_subset, "train": dict(self.train),
               "analyses": list(self.analyses), "code": self.code, "runtime": dict(self.runtime)}
        if self.role != "eval":  # an evaluation run hashes exactly as before tuning runs existed
            out.update(role=self.role, validation=dict(self.validation or {}), setting=dict(self.setting or {}))
        return out

    @property
    def key(self) -> str:
        return stable_hash(self.identity())

    @property
    def name(self) -> str:
        if self.role == "tune":
            return f"{self.label or self.model} {setting_text(self.setting or {})} seed {self.seed}"
        return f"{self.label or self.model} seed {self.seed}"

    def to_json(self, provenance: dict | None = None) -> dict:
        """config.json's content: schema version, identity, label, and `provenance`
        (cnnlab version, git commit) which describes the run but does not key it."""
        return {"schema": SCHEMA_VERSION, **self.identity(), "label": self.label, **(provenance or {})}

    @classmethod
    def from_json(cls, d) -> "RunConfig":
        if not isinstance(d, dict):
            raise RecordError("config.json is not a JSON object")
        if d.get("schema") != SCHEMA_VERSION:
            raise RecordError(f"config.json has schema {d.get('schema', 1)!r}, this cnnlab writes {SCHEMA_VERSION} "
                              "(a run of an older cnnlab)")
        try:
            config = cls(study=d["study"], model=d["model"], model_kwargs=dict(d["model_kwargs"]), seed=d["seed"],
                         dataset=d["dataset"], subset=d["subset"], train=dict(d["train"]),
                         analyses=tuple(d["analyses"]), code=d["code"], runtime=dict(d["runtime"]),
                         label=d.get("label", ""), profile=d["profile"], test_subset=d["test_subset"],
                         role=d.get("role", "eval"), validation=d.get("validation"), setting=d.get("setting"))
        except (KeyError, TypeError, ValueError) as e:
            raise RecordError(f"config.json lacks or mangles {e}") from None
        for name, kind in (("study", str), ("model", str), ("seed", int), ("dataset", str), ("code", str),
                           ("profile", str)):
            if not isinstance(getattr(config, name), kind):
                raise RecordError(f"config.json: {name} is not a {kind.__name__}")
        if config.role not in ROLES:
            raise RecordError(f"config.json: role {config.role!r} is not one of {', '.join(ROLES)}")
        if config.role == "tune" and not (_is_dict_with("fraction", "seed")(config.validation)
                                          and isinstance(config.setting, dict)):
            raise RecordError("config.json: a tuning run needs its validation split and setting")
        return config


def setting_text(setting: dict) -> str:
    """{"lr": 0.001, "weight_decay": 0.05} -> "lr=0.001, weight_decay=0.05"."""
    return ", ".join(f"{k}={v:g}" if is_number(v) else f"{k}={v}" for k, v in setting.items())


# ---- metrics.jsonl -------------------------------------------------------------------

METRIC_KEYS = ("epoch", "train_loss", "train_acc", "test_loss", "test_acc", "epoch_seconds", "train_seconds",
               "images_per_second", "lr")


def metrics_row(**values) -> dict:
    """One epoch's row, exactly METRIC_KEYS; raises RecordError otherwise."""
    missing = [k for k in METRIC_KEYS if k not in values]
    extra = sorted(set(values) - set(METRIC_KEYS))
    if missing or extra:
        raise RecordError(f"metrics row: missing {missing}, unknown {extra}")
    return {k: values[k] for k in METRIC_KEYS}


def check_metrics(rows: list, epochs: int | None = None) -> list[dict]:
    """Rows of a metrics.jsonl: epochs 1..n in order (n = `epochs` when given), every value a
    finite number. Returns the rows; raises RecordError naming the first problem."""
    if epochs is not None and len(rows) != epochs:
        raise RecordError(f"metrics.jsonl has {counted(len(rows), 'epoch')}, the run has {epochs}")
    for i, row in enumerate(rows, start=1):
        if not isinstance(row, dict) or set(row) != set(METRIC_KEYS):
            raise RecordError(f"metrics.jsonl row {i} does not have the keys {', '.join(METRIC_KEYS)}")
        if row["epoch"] != i:
            raise RecordError(f"metrics.jsonl row {i} is epoch {row['epoch']!r}")
        bad = [k for k in METRIC_KEYS if not is_number(row[k])]
        if bad:
            raise RecordError(f"metrics.jsonl epoch {i}: {', '.join(bad)} not a finite number")
    return rows


def parse_metrics(text: str) -> tuple[list[dict], str | None]:
    """Rows of metrics.jsonl text and, if some line is unreadable (a torn write, garbage),
    a note saying which; the rows are those before it."""
    rows = []
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError:
            return rows, f"metrics.jsonl line {n} is not JSON"
        rows.append(row)
    return rows, None


def metrics_text(rows: list[dict]) -> str:
    return "".join(json.dumps(r, sort_keys=True) + "\n" for r in rows)


# ---- analysis.json -------------------------------------------------------------------

def _is_dict_with(*keys):
    return lambda v: isinstance(v, dict) and all(k in v for k in keys)


# What every finished run measures, whatever its study asks for. Each analysis a study
# asks for adds its own key, checked by that analysis (cnnlab.plugins.Analysis.check).
CORE_SHAPES = {
    "params": _is_dict_with("total", "trainable"),
    "macs": lambda v: isinstance(v, int) and v >= 0,
    "flops": lambda v: isinstance(v, int) and v >= 0,
    "train_seconds": lambda v: is_number(v) and v >= 0,
    "device": lambda v: isinstance(v, str),
    "precision": lambda v: v in RESOLVED_PRECISIONS,
    "step_mode": lambda v: isinstance(v, str),
    "sharing": _is_dict_with("runs_per_device"),
}
DIVERGED_EPOCH = "diverged_epoch"  # the epoch whose loss was not finite, in a diverged run's analysis.json


def required_analyses(analyses, status: str) -> list[str]:
    """The analysis.json keys a finished run of this status must have: a diverged run has
    only the analyses that read nothing but its training history."""
    wanted = [a for a in analyses if status == "done" or _measured_after_divergence(a)]
    return list(CORE_SHAPES) + wanted + ([DIVERGED_EPOCH] if status == "diverged" else [])


def _measured_after_divergence(name: str) -> bool:
    analysis = find_analysis(name)
    return analysis is not None and analysis.after_divergence


def check_analysis(analysis, analyses, status: str, run_dir=None) -> dict:
    """analysis.json of a finished run: every required measurement present and well-formed.
    An analysis's value may be None: there was nothing to measure (a run that diverged in its
    first epoch has no history). With `run_dir`, files an analysis wrote beside are checked too."""
    if not isinstance(analysis, dict):
        raise RecordError("analysis.json is not a JSON object")
    for key in required_analyses(analyses, status):
        if key not in analysis:
            raise RecordError(f"analysis.json lacks {key!r}")
    for key, value in analysis.items():
        if key in CORE_SHAPES:
            ok = CORE_SHAPES[key](value)
        elif key == DIVERGED_EPOCH:
            ok = isinstance(value, int) and not isinstance(value, bool)
        else:
            plugin = find_analysis(key)
            if key not in analyses:
                raise RecordError(f"analysis.json has an unknown key {key!r}")
            if plugin is None:  # its plug-in is not loaded now: nothing reads the value (the report says so)
                continue
            ok = value is None or plugin.check(value)
            if ok and value is not None and run_dir is not None and plugin.check_files is not None:
                problem = plugin.check_files(value, Path(run_dir))
                if problem:
                    raise RecordError(problem)
        if not ok:
            raise RecordError(f"analysis.json: {key!r} is malformed")
    return analysis


# ---- a run as read back --------------------------------------------------------------

@dataclass
class RunRecord:
    """Everything one run directory holds, read tolerantly: damage is noted in `problems`
    (and makes `trusted` False) instead of raising."""
    key: str
    status: str  # done | failed | diverged | running (no status yet) | missing (no directory)
    config: RunConfig | None = None  # None when config.json is missing, damaged or of an older schema
    raw_config: dict = field(default_factory=dict)
    metrics: list[dict] = field(default_factory=list)
    analysis: dict = field(default_factory=dict)
    error: str | None = None
    problems: list[str] = field(default_factory=list)
    dir: Path | None = None

    @property
    def trusted(self) -> bool:
        return not self.problems

    @property
    def usable(self) -> bool:
        """A finished run whose records check out: its numbers may be reported."""
        return self.status == "done" and self.trusted

    @property
    def model(self) -> str | None:
        return self.config.model if self.config is not None else self.raw_config.get("model")

    @property
    def seed(self) -> int | None:
        return self.config.seed if self.config is not None else self.raw_config.get("seed")

    def final(self, key: str):
        value = self.metrics[-1].get(key) if self.metrics else None
        return float(value) if is_number(value) else None

    def curve(self, key: str) -> list[float | None]:
        return [float(r[key]) if is_number(r.get(key)) else None for r in self.metrics]

    def summary(self) -> dict:
        """The run's key figures: one row of the index, and what `cnnlab run` prints."""
        config, raw = self.config, self.raw_config

        def get(name):
            return getattr(config, name) if config is not None else raw.get(name)

        params = self.analysis.get("params")
        run_time = get("runtime") if isinstance(get("runtime"), dict) else {}
        train = get("train") if isinstance(get("train"), dict) else {}
        train_seconds = self.analysis.get("train_seconds")
        if not is_number(train_seconds):
            times = [t for t in self.curve("train_seconds") if t is not None]
            train_seconds = sum(times) if times else None
        return {
            "run_key": self.key, "study": get("study"), "profile": get("profile"), "role": get("role") or "eval",
            "lr": train.get("lr"), "weight_decay": train.get("weight_decay"),
            "setting": get("setting"), "model": get("model"),
            "label": get("label") or get("model"), "seed": get("seed"), "dataset": get("dataset"),
            "status": self.status, "test_acc": self.final("test_acc"), "train_acc": self.final("train_acc"),
            "test_loss": self.final("test_loss"),
            "params": params.get("total") if isinstance(params, dict) else None,
            "macs": self.analysis.get("macs"), "train_seconds": train_seconds, "epochs": len(self.metrics),
            "code": get("code"), "analyses": ",".join(get("analyses") or ()), "device": run_time.get("device"),
            "threads": run_time.get("threads"), "precision": train.get("precision"), "error": self.error,
        }


# ---- index.sqlite, results.csv -------------------------------------------------------

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
    "train_seconds": "REAL",
    "epochs": "INTEGER",
    "code": "TEXT",  # fingerprint of the code that made the run (cnnlab.fingerprint)
    "analyses": "TEXT",  # the run's analyses, comma-separated: what besides RESULT_CODE its code covers
    "device": "TEXT",
    "threads": "INTEGER",
    "precision": "TEXT",
    "updated_at": "TEXT",
    "run_dir": "TEXT",
}

# OUT/studies/<name>/results.csv: one row per run and epoch (cnnlab.report.export).
RESULTS_RUN_COLUMNS = ("study", "profile", "model", "label", "seed", "run_key", "status", "usable")
RESULTS_COLUMNS = RESULTS_RUN_COLUMNS + METRIC_KEYS


# ---- study.json ----------------------------------------------------------------------

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


@dataclass(frozen=True)
class Manifest:
    """What a study's numbers depend on: code, software, hardware, data, and when it ran.
    Every field may be None (not known, or written by a cnnlab that did not record it)."""
    cnnlab_version: str | None = None
    code: str | None = None  # cnnlab.fingerprint.code_fingerprint()
    git: dict | None = None  # {"commit", "dirty"}
    torch_version: str | None = None
    python_version: str | None = None
    platform: str | None = None
    device: str | None = None  # its name, e.g. "NVIDIA H100 80GB HBM3" or the CPU model
    device_type: str | None = None  # cpu | cuda
    cpu_model: str | None = None
    threads: int | None = None  # CPU threads per run
    executor: str | None = None
    precision: str | None = None
    dataset: str | None = None
    dataset_source: str | None = None
    train_size: int | None = None
    test_size: int | None = None
    in_shape: list | None = None
    num_classes: int | None = None
    runs_trained: int | None = None
    runs_cached: int | None = None
    wall_clock_seconds: float | None = None
    started: str | None = None
    finished: str | None = None  # None while the study runs
    command: str | None = None

    def to_json(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_json(cls, d) -> "Manifest":
        """Tolerant: a value of the wrong type is read as unknown, since a manifest only describes."""
        if not isinstance(d, dict):
            return cls()
        kinds = {"git": dict, "in_shape": list, "threads": int, "train_size": int, "test_size": int,
                 "num_classes": int, "runs_trained": int, "runs_cached": int, "wall_clock_seconds": (int, float)}
        values = {}
        for f in fields(cls):
            value = d.get(f.name)
            kind = kinds.get(f.name, str)
            values[f.name] = value if isinstance(value, kind) and not isinstance(value, bool) else None
        return cls(**values)


@dataclass(frozen=True)
class RunEntry:
    """One run of a study as study.json lists it; `status` is "pending" until it has run."""
    run_key: str
    model: str
    label: str
    seed: int | None
    status: str


@dataclass(frozen=True)
class StudyModel:
    name: str
    label: str
    kwargs: dict = field(default_factory=dict)
    train: dict = field(default_factory=dict)  # its own regularisation settings


@dataclass(frozen=True)
class TuningRun:
    """One tuning run as study.json lists it: its final validation accuracy and loss."""
    run_key: str
    seed: int | None
    status: str  # done | diverged | failed | pending | missing
    accuracy: float | None = None  # final validation accuracy (a fraction)
    loss: float | None = None
    seconds: float | None = None  # its training time


@dataclass(frozen=True)
class TuningPoint:
    """One setting of one model's search, with its runs (one per tuning seed)."""
    setting: dict  # e.g. {"lr": 0.001}
    runs: tuple[TuningRun, ...] = ()
    mean: float | None = None  # mean validation accuracy over the seeds; None unless every seed is done
    loss: float | None = None  # mean validation loss, the same way


@dataclass(frozen=True)
class ModelTuning:
    """One model's search: every point of the grid, what was chosen, where it lies, what it cost."""
    label: str
    model: str
    points: tuple[TuningPoint, ...] = ()
    chosen: dict | None = None  # the setting its evaluation runs use; None: no point finished (shared setting)
    edge: dict = field(default_factory=dict)  # searched key -> "lowest" | "highest": the choice is at the grid's end
    runs: int = 0  # tuning runs (the budget, the same for every model)
    seconds: float = 0.0  # their summed training time

    def lead(self) -> tuple[float, dict] | None:
        """(how far the chosen setting's mean validation accuracy is ahead of the next best, that
        setting), or None without a choice and a runner-up."""
        chosen = next((p for p in self.points if self.chosen is not None and p.setting == self.chosen
                       and p.mean is not None), None)
        others = [p for p in self.points if p is not chosen and p.mean is not None]
        if chosen is None or not others:
            return None
        runner_up = max(others, key=lambda p: p.mean)
        return chosen.mean - runner_up.mean, runner_up.setting

    def weak_choice(self, validation_images: int | None) -> list[str]:
        """Why this model's choice is weak, in short phrases: at an end of the grid, or ahead of the
        next setting by less than one validation image (a coin toss between the two)."""
        out = [f"the {where} {key} on the grid" for key, where in self.edge.items()]
        lead = self.lead()
        if lead and validation_images and lead[0] < 1 / validation_images:
            out.append(f"ahead of {setting_text(lead[1])} by less than one of the {validation_images:,} "
                       "validation images")
        return out


@dataclass(frozen=True)
class TuningRecord:
    """How a tuned study chose each model's settings (study.json's "tuning"): the grid, the
    tuning seeds and epochs, the validation split, the rule, and per model the validation
    accuracy of every point, its choice and its budget. `shared`: the study directory of the
    same study at shared settings (OUT/studies/<shared>), compared with in the report."""
    grid: dict  # searched key -> its values, in order, e.g. {"lr": [1e-4, 1e-3, 1e-2]}
    seeds: tuple[int, ...]
    epochs: int
    validation: dict  # {"fraction", "seed", "train_size", "validation_size"}
    rule: str  # the selection rule, in words
    models: tuple[ModelTuning, ...] = ()
    shared: str | None = None

    def to_json(self) -> dict:
        def point(p):
            return {"setting": dict(p.setting), "mean": p.mean, "loss": p.loss,
                    "runs": [{f.name: getattr(r, f.name) for f in fields(TuningRun)} for r in p.runs]}

        return {"grid": {k: list(v) for k, v in self.grid.items()}, "seeds": list(self.seeds), "epochs": self.epochs,
                "validation": dict(self.validation), "rule": self.rule, "shared": self.shared,
                "models": [{"label": m.label, "model": m.model, "chosen": m.chosen, "edge": dict(m.edge),
                            "runs": m.runs, "seconds": m.seconds, "points": [point(p) for p in m.points]}
                           for m in self.models]}

    @classmethod
    def from_json(cls, path, d) -> "TuningRecord":
        """Read study.json's "tuning"; a value of the wrong type where a number is expected reads as
        unknown, a structure that is not what this version writes is a damaged file (UserError)."""
        if not isinstance(d, dict) or not isinstance(d.get("grid"), dict) or not isinstance(d.get("models"), list):
            raise UserError(f"{path}: 'tuning' must be an object with a grid and models; the file is damaged: "
                            "run the study again to re-create it")
        models = []
        for m in _list_of_objects(path, d, "models"):
            points = []
            for p in _list_of_objects(path, m, "points"):
                runs = tuple(TuningRun(run_key=str(r.get("run_key") or ""),
                                       seed=r.get("seed") if _is_int(r.get("seed")) else None,
                                       status=str(r.get("status") or "missing"), accuracy=number(r.get("accuracy")),
                                       loss=number(r.get("loss")), seconds=number(r.get("seconds")))
                             for r in _list_of_objects(path, p, "runs"))
                points.append(TuningPoint(setting=_numbers_only(p.get("setting")), runs=runs,
                                          mean=number(p.get("mean")), loss=number(p.get("loss"))))
            chosen = m.get("chosen")
            models.append(ModelTuning(
                label=str(m.get("label") or m.get("model") or ""), model=str(m.get("model") or ""),
                points=tuple(points), chosen=_numbers_only(chosen) if isinstance(chosen, dict) else None,
                edge={str(k): str(v) for k, v in (m.get("edge") or {}).items()} if isinstance(m.get("edge"), dict)
                else {}, runs=m["runs"] if _is_int(m.get("runs")) else 0, seconds=number(m.get("seconds")) or 0.0))
        grid = {str(k): [float(x) for x in v if is_number(x)] for k, v in d["grid"].items() if isinstance(v, list)}
        validation = d.get("validation") if isinstance(d.get("validation"), dict) else {}
        return cls(grid=grid, seeds=tuple(x for x in d.get("seeds") or () if _is_int(x)),
                   epochs=d["epochs"] if _is_int(d.get("epochs")) else 0, validation=dict(validation),
                   rule=str(d.get("rule") or ""), models=tuple(models),
                   shared=d["shared"] if isinstance(d.get("shared"), str) else None)


def _is_int(x) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _numbers_only(d) -> dict:
    return {str(k): float(v) for k, v in d.items() if is_number(v)} if isinstance(d, dict) else {}


@dataclass(frozen=True)
class StudyRecord:
    """OUT/studies/<name>/study.json: the study as it was run (profile and overrides applied),
    the training settings every model shares, its runs and the manifest. The runner rewrites
    it after every run, so a report can be rendered while a study is still running."""
    name: str
    title: str = ""
    description: str = ""
    reference: str = ""
    profile: str | None = None
    dataset: str | None = None
    epochs: int | None = None
    seeds: tuple[int, ...] = ()
    subset: int | None = None
    test_subset: int | None = None
    inference_repeats: int | None = None
    analyses: tuple[str, ...] = ()
    train: dict = field(default_factory=dict)  # the resolved TrainConfig shared by every model, without seed
    models: tuple[StudyModel, ...] = ()
    profiles: dict = field(default_factory=dict)
    source: str | None = None  # the study file
    margin: float = 1.0  # equivalence margin in accuracy points
    questions: tuple[dict, ...] = ()  # cnnlab.studies.questions, model references as labels
    claims: tuple[dict, ...] = ()  # numbers claimed elsewhere, accuracies as fractions
    claims_source: str = ""
    looks: tuple[int, ...] = ()  # seeds per model at each invocation that added seeds: how often results were seen
    runs: tuple[RunEntry, ...] = ()  # the evaluation runs: the study's results
    tuning: TuningRecord | None = None  # how each model's settings were chosen (None: shared settings)
    # --until-decided: {"max_seeds": N, "budget_seconds": S or None, "stopped": why, "spent_seconds": S}
    until_decided: dict | None = None
    manifest: Manifest = field(default_factory=Manifest)
    extra: dict = field(default_factory=dict)  # keys of the study this record does not type, as written

    def to_json(self) -> dict:
        out = {"schema": SCHEMA_VERSION, **self.extra}
        for f in fields(self):
            if f.name == "extra":
                continue
            value = getattr(self, f.name)
            if f.name in ("seeds", "analyses", "looks"):
                value = list(value)
            elif f.name in ("questions", "claims"):
                value = [dict(x) for x in value]
            elif f.name == "models":
                value = [{"name": m.name, "label": m.label, "kwargs": dict(m.kwargs), "train": dict(m.train)}
                         for m in value]
            elif f.name == "runs":
                value = [{"run_key": r.run_key, "model": r.model, "label": r.label, "seed": r.seed,
                          "status": r.status} for r in value]
            elif f.name in ("manifest", "tuning"):
                value = value.to_json() if value is not None else None
            out[f.name] = value
        return out

    @classmethod
    def from_study(cls, study: dict, train: dict, runs, manifest: Manifest, looks=(),
                   tuning: TuningRecord | None = None) -> "StudyRecord":
        """From `cnnlab.studies.loader.Study.to_dict()`; keys this record does not type go to `extra`."""
        typed = {f.name for f in fields(cls)}
        return cls._build(study, train=train, runs=tuple(runs), manifest=manifest, looks=tuple(looks), tuning=tuning,
                          extra={k: v for k, v in study.items() if k not in typed})

    @classmethod
    def _build(cls, d: dict, **given) -> "StudyRecord":
        models = tuple(StudyModel(name=str(m["name"]), label=str(m.get("label") or m["name"]),
                                  kwargs=m.get("kwargs") or {}, train=m.get("train") or {})
                       for m in d.get("models") or [] if isinstance(m, dict) and "name" in m)
        values = {"name": str(d.get("name") or ""), "title": str(d.get("title") or ""),
                  "description": str(d.get("description") or ""), "reference": str(d.get("reference") or ""),
                  "profile": d.get("profile"), "dataset": d.get("dataset"), "epochs": d.get("epochs"),
                  "seeds": tuple(d.get("seeds") or ()), "subset": d.get("subset"),
                  "test_subset": d.get("test_subset"), "inference_repeats": d.get("inference_repeats"),
                  "analyses": tuple(d.get("analyses") or ()), "train": dict(d.get("train") or {}),
                  "models": models, "profiles": dict(d.get("profiles") or {}), "source": d.get("source"),
                  "margin": float(d["margin"]) if is_number(d.get("margin")) and d["margin"] > 0 else 1.0,
                  "questions": tuple(q for q in d.get("questions") or () if isinstance(q, dict)),
                  "claims": tuple(c for c in d.get("claims") or () if isinstance(c, dict)),
                  "claims_source": str(d.get("claims_source") or ""),
                  "looks": tuple(n for n in d.get("looks") or () if isinstance(n, int) and not isinstance(n, bool)),
                  "until_decided": dict(d["until_decided"]) if isinstance(d.get("until_decided"), dict) else None}
        return cls(**{**values, **given})


def read_study(path) -> StudyRecord:
    """Read a study.json; UserError when it is missing, corrupt, of another format, or holds
    values of the wrong type."""
    path = Path(path)
    d = _read_json(path, "a valid study file")
    reader = _STUDY_READERS.get(d.get("schema"))
    if reader is None:
        raise UserError(f"{path} was written by {_which_cnnlab(d.get('schema', 1))} (results format "
                        f"{d.get('schema', 1)!r}, this version reads {SCHEMA_VERSION}); run the study again to "
                        "re-create its results")
    return reader(path, d)


def _which_cnnlab(version) -> str:
    if isinstance(version, int) and not isinstance(version, bool):
        return "an older cnnlab" if version < SCHEMA_VERSION else "a newer cnnlab"
    return "another cnnlab"


def _study_v3(path: Path, d: dict) -> StudyRecord:
    for key, kinds, what in (("name", str, "a string"), ("title", str, "a string"), ("profile", str, "a string"),
                             ("dataset", str, "a string"), ("epochs", int, "an integer"),
                             ("seeds", list, "a list"), ("analyses", list, "a list"), ("train", dict, "an object"),
                             ("profiles", dict, "an object"), ("reference", str, "a string"),
                             ("questions", list, "a list"), ("claims", list, "a list"), ("looks", list, "a list"),
                             ("until_decided", dict, "an object")):
        _checked(path, d, key, kinds, what)
    for m in _list_of_objects(path, d, "models"):
        _checked(path, m, "name", str, "a string", optional=False)
    for i, question in enumerate(_list_of_objects(path, d, "questions")):
        _check_question(path, f"questions[{i}]", question)
    for i, claim in enumerate(_list_of_objects(path, d, "claims")):
        for key in ("their_model", "model", "metric", "dataset", "note"):
            _field(path, f"claims[{i}]", claim, key, str, "a string")
        _field(path, f"claims[{i}]", claim, "value", (int, float), "a number", optional=False)
    runs = []
    for r in _list_of_objects(path, d, "runs"):
        key = r.get("run_key")
        runs.append(RunEntry(run_key=str(key) if key is not None else "", model=str(r.get("model") or ""),
                             label=str(r.get("label") or r.get("model") or ""),
                             seed=r.get("seed") if isinstance(r.get("seed"), int) else None,
                             status=str(r.get("status") or "missing")))
    typed = {f.name for f in fields(StudyRecord)} | {"schema"}
    tuning = TuningRecord.from_json(path, d["tuning"]) if d.get("tuning") is not None else None
    return StudyRecord._build(d, runs=tuple(runs), manifest=Manifest.from_json(d.get("manifest")), tuning=tuning,
                              extra={k: v for k, v in d.items() if k not in typed})


def _field(path, where: str, obj: dict, key: str, kinds, what: str, optional: bool = True):
    return _checked(path, {f"{where}.{key}": obj.get(key)}, f"{where}.{key}", kinds, what, optional)


def _check_question(path, where: str, q: dict):
    """A question as the study loader wrote it: a known kind, the model references it needs, and
    every field of the type the report reads (cnnlab.studies.questions)."""
    kind = _field(path, where, q, "kind", str, "a string", optional=False)
    if kind not in QUESTION_KINDS:
        raise UserError(f"{path}: '{where}.kind' is {kind[:40]!r}, not one of {', '.join(QUESTION_KINDS)}; the file is "
                        "damaged: run the study again to re-create it")
    for key in ("title", "asks", "what", "same_cost", "a", "b"):
        _field(path, where, q, key, str, "a string", optional=key not in QUESTION_NEEDS[kind])
    for key in ("models", "costs", "evidence", "pairs", "figures"):
        items = _field(path, where, q, key, list, "a list", optional=key not in QUESTION_NEEDS[kind]) or []
        for j, item in enumerate(items):
            if key == "pairs":
                ok = isinstance(item, list) and len(item) == 2 and all(isinstance(x, str) for x in item)
            elif key == "figures":
                ok = isinstance(item, dict) and isinstance(item.get("file"), str)
            else:
                ok = isinstance(item, str)
            if not ok:
                raise UserError(f"{path}: '{where}.{key}[{j}]' is malformed; the file is damaged: run the study "
                                "again to re-create it")
    _field(path, where, q, "margin", (int, float), "a number")


_STUDY_READERS = {3: _study_v3}


# ---- suite.json ----------------------------------------------------------------------

HARDWARE_KEYS = ("device", "device_type", "cpu_model", "threads", "executor", "precision", "torch_version",
                 "python_version", "platform", "cnnlab_version", "code", "git")  # Manifest fields the suite keeps


@dataclass
class Invocation:
    """One `cnnlab run all` with the suite's settings: its wall-clock and what it trained."""
    started: str
    finished: str | None = None
    wall_clock_seconds: float = 0.0
    runs_trained: int = 0
    runs_cached: int = 0
    runs_failed: int = 0
    command: str | None = None


@dataclass(frozen=True)
class SuiteStudy:
    name: str
    reference: str
    title: str
    folder: str = ""  # its directory under OUT/studies, when not its name (a tuned study: "<name>-tuned")

    @property
    def dir(self) -> str:
        return f"{STUDIES_DIR}/{self.folder or self.name}"


@dataclass
class SuiteRecord:
    """OUT/suite.json of `cnnlab run all`: the studies, the settings that size them (only
    invocations with the same settings count towards the wall-clock), the hardware of the
    last study run, and every invocation."""
    profile: str
    settings: dict
    studies: list[SuiteStudy]
    hardware: Manifest = field(default_factory=Manifest)  # its HARDWARE_KEYS only
    invocations: list[Invocation] = field(default_factory=list)
    title: str = ""  # of the suite report; "" for the built-in suite's own

    def to_json(self) -> dict:
        return {"schema": SCHEMA_VERSION, "title": self.title, "profile": self.profile, "settings": self.settings,
                "studies": [{"name": s.name, "reference": s.reference, "title": s.title, "dir": s.dir}
                            for s in self.studies],
                "hardware": {k: getattr(self.hardware, k) for k in HARDWARE_KEYS},
                "invocations": [{f.name: getattr(i, f.name) for f in fields(Invocation)} for i in self.invocations]}


def read_suite(path) -> SuiteRecord:
    """Read OUT/suite.json; UserError when it is missing, corrupt or of another format."""
    path = Path(path)
    d = _read_json(path, "a suite file of `cnnlab run all`")
    reader = _SUITE_READERS.get(d.get("schema"))
    if reader is None:
        raise UserError(f"{path} was written by {_which_cnnlab(d.get('schema'))} (format {d.get('schema')!r}, this "
                        f"version reads {SCHEMA_VERSION}); run `cnnlab run all` again")
    return reader(path, d)


def _suite_v3(path: Path, d: dict) -> SuiteRecord:
    studies = [SuiteStudy(name=str(s.get("name", "")), reference=str(s.get("reference") or ""),
                          title=str(s.get("title") or s.get("name", "")), folder=_folder(s))
               for s in _list_of_objects(path, d, "studies")]
    invocations = []
    for i in _list_of_objects(path, d, "invocations"):
        known = {f.name: i[f.name] for f in fields(Invocation) if i.get(f.name) is not None}
        invocations.append(Invocation(**{"started": "", **known}))
    return SuiteRecord(profile=str(_checked(path, d, "profile", str, "a string") or ""),
                       settings=_checked(path, d, "settings", dict, "an object") or {}, studies=studies,
                       hardware=Manifest.from_json(d.get("hardware")), invocations=invocations,
                       title=str(_checked(path, d, "title", str, "a string") or ""))


def _folder(entry: dict) -> str:
    """The study's directory name from suite.json's "dir" ("studies/<folder>"): a plain name, never a path."""
    head, _, folder = str(entry.get("dir") or "").partition("/")
    ok = head == STUDIES_DIR and folder and folder[0].isalnum() and all(c.isalnum() or c in "._-" for c in folder)
    return folder if ok and folder != entry.get("name") else ""


_SUITE_READERS = {3: _suite_v3}
