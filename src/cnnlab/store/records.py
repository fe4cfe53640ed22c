"""The run record, defined once: what config.json, each metrics.jsonl row and analysis.json
hold. The trainer and the run executor write through these functions, the runner, the
index, the report and the test fixtures read through them.

    RunConfig        config.json: everything that decides a run's numbers (hashed into
                     its key), plus provenance that does not (version, git commit)
    metrics_row      one finished epoch
    check_metrics    a whole metrics.jsonl: epochs 1..n in order, every number finite
    check_analysis   analysis.json: the measurements a study asked for, in their shapes

A record that does not match raises `RecordError` with a one-line reason; callers decide
whether that means "retrain", "re-analyse" or "show as damaged".
"""

import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

from cnnlab.choices import DEFAULT_PROFILE, RESOLVED_PRECISIONS

SCHEMA_VERSION = 3  # 3: config.json and study.json name the profile and the test subset

CONFIG_FILE = "config.json"
METRICS_FILE = "metrics.jsonl"
ANALYSIS_FILE = "analysis.json"
CHECKPOINT_FILE = "checkpoint.pt"
ACTIVATIONS_FILE = "activations.npz"
STATUS_FILE = "status"
ERROR_FILE = "error.txt"
TRACEBACK_FILE = "traceback.txt"
SUITE_FILE = "suite.json"  # OUT/suite.json of `cnnlab run all` (cnnlab.studies.run_all)
TENSORBOARD_DIR = "tensorboard"  # event files of the run's live curves (cnnlab.train.tensorboard)

STATUSES = ("done", "failed", "diverged")
FINAL_STATUSES = ("done", "diverged")  # results: re-running would only repeat them

# Analyses that read only the training history: also stored for a diverged run.
HISTORY_ANALYSES = ("overfitting", "stability", "grad_flow")


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

    def identity(self) -> dict:
        return {"study": self.study, "profile": self.profile, "model": self.model,
                "model_kwargs": dict(self.model_kwargs), "seed": self.seed, "dataset": self.dataset,
                "subset": self.subset, "test_subset": self.test_subset, "train": dict(self.train),
                "analyses": list(self.analyses), "code": self.code, "runtime": dict(self.runtime)}

    @property
    def key(self) -> str:
        return stable_hash(self.identity())

    @property
    def name(self) -> str:
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
                         label=d.get("label", ""), profile=d["profile"], test_subset=d["test_subset"])
        except (KeyError, TypeError, ValueError) as e:
            raise RecordError(f"config.json lacks or mangles {e}") from None
        for name, kind in (("study", str), ("model", str), ("seed", int), ("dataset", str), ("code", str),
                           ("profile", str)):
            if not isinstance(getattr(config, name), kind):
                raise RecordError(f"config.json: {name} is not a {kind.__name__}")
        return config


# ---- metrics.jsonl -------------------------------------------------------------------

METRIC_KEYS = ("epoch", "train_loss", "train_acc", "test_loss", "test_acc", "epoch_seconds", "train_seconds",
               "images_per_second", "lr")


def _finite_number(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


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
        raise RecordError(f"metrics.jsonl has {len(rows)} epochs, the run has {epochs}")
    for i, row in enumerate(rows, start=1):
        if not isinstance(row, dict) or set(row) != set(METRIC_KEYS):
            raise RecordError(f"metrics.jsonl row {i} does not have the keys {', '.join(METRIC_KEYS)}")
        if row["epoch"] != i:
            raise RecordError(f"metrics.jsonl row {i} is epoch {row['epoch']!r}")
        bad = [k for k in METRIC_KEYS if not _finite_number(row[k])]
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


# The shape each stored measurement must have: the keys its reader relies on.
ANALYSIS_SHAPES = {
    "params": _is_dict_with("total", "trainable"),
    "macs": lambda v: isinstance(v, int) and v >= 0,
    "flops": lambda v: isinstance(v, int) and v >= 0,
    "train_seconds": lambda v: _finite_number(v) and v >= 0,
    "device": lambda v: isinstance(v, str),
    "precision": lambda v: v in RESOLVED_PRECISIONS,
    "diverged_epoch": lambda v: isinstance(v, int),
    "step_mode": lambda v: isinstance(v, str),
    "sharing": _is_dict_with("runs_per_device"),
    "overfitting": _is_dict_with("epochs", "gap", "final_gap", "best_epoch", "test_loss_rose"),
    "stability": _is_dict_with("steps", "loss_std_tail", "grad_spikes"),
    "grad_flow": _is_dict_with("names", "layer_names", "steps", "grad_norm", "first", "last"),
    "confusion": _is_dict_with("classes", "matrix", "per_class_accuracy", "accuracy", "count"),
    "receptive_field": _is_dict_with("in_shape", "layers", "output"),
    "erf": _is_dict_with("layer", "map", "side", "fraction"),
    "inference": _is_dict_with("device_name", "threads", "precision", "results"),
    "memory": _is_dict_with("peak_bytes", "method", "precision"),
    "activations": _is_dict_with("first_conv", "layers"),
    "activations_file": lambda v: v == ACTIVATIONS_FILE,
}
ALWAYS = ("params", "macs", "flops", "train_seconds", "device", "precision", "step_mode", "sharing")


def required_analyses(analyses, status: str, epochs_trained: int) -> list[str]:
    """The analysis.json keys a finished run of this status must have."""
    wanted = [a for a in analyses if status == "done" or a in HISTORY_ANALYSES]
    if "overfitting" in wanted and epochs_trained == 0:
        wanted.remove("overfitting")  # diverged in its first epoch: no history to analyse
    return list(ALWAYS) + wanted + (["diverged_epoch"] if status == "diverged" else [])


def check_analysis(analysis, analyses, status: str, epochs_trained: int) -> dict:
    """analysis.json of a finished run: every required measurement present and well-formed."""
    if not isinstance(analysis, dict):
        raise RecordError("analysis.json is not a JSON object")
    for key in required_analyses(analyses, status, epochs_trained):
        if key not in analysis:
            raise RecordError(f"analysis.json lacks {key!r}")
    for key, value in analysis.items():
        shape = ANALYSIS_SHAPES.get(key)
        if shape is None:
            raise RecordError(f"analysis.json has an unknown key {key!r}")
        if not shape(value):
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
        return float(value) if _finite_number(value) else None

    def curve(self, key: str) -> list[float | None]:
        return [float(r[key]) if _finite_number(r.get(key)) else None for r in self.metrics]

    def overfitting(self) -> dict | None:
        """The stored overfitting analysis, else the same function applied to the metrics."""
        if isinstance(self.analysis.get("overfitting"), dict):
            return self.analysis["overfitting"]
        if not self.metrics:
            return None
        from cnnlab.analysis.history import overfitting

        return overfitting(self.metrics)

    def summary(self) -> dict:
        """The run's key figures: one row of the index, and what `cnnlab run` prints."""
        config, raw = self.config, self.raw_config

        def get(name):
            return getattr(config, name) if config is not None else raw.get(name)

        params = self.analysis.get("params")
        run_time = get("runtime") if isinstance(get("runtime"), dict) else {}
        train = get("train") if isinstance(get("train"), dict) else {}
        train_seconds = self.analysis.get("train_seconds")
        if not _finite_number(train_seconds):
            times = [t for t in self.curve("train_seconds") if t is not None]
            train_seconds = sum(times) if times else None
        return {
            "run_key": self.key, "study": get("study"), "profile": get("profile"), "model": get("model"),
            "label": get("label") or get("model"), "seed": get("seed"), "dataset": get("dataset"),
            "status": self.status, "test_acc": self.final("test_acc"), "train_acc": self.final("train_acc"),
            "test_loss": self.final("test_loss"),
            "params": params.get("total") if isinstance(params, dict) else None,
            "macs": self.analysis.get("macs"), "train_seconds": train_seconds, "epochs": len(self.metrics),
            "code": get("code"), "device": run_time.get("device"), "threads": run_time.get("threads"),
            "precision": train.get("precision"), "error": self.error,
        }
