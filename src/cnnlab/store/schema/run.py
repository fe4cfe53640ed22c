"""A run directory's files, OUT/runs/<key>/: config.json (RunConfig), metrics.jsonl (metrics_row,
check_metrics), analysis.json (check_analysis) and a run as read back (RunRecord)."""

import json
from dataclasses import dataclass, field
from pathlib import Path

from cnnlab.choices import DEFAULT_PROFILE, RESOLVED_PRECISIONS
from cnnlab.numeric import is_number
from cnnlab.plugins import find_analysis
from cnnlab.units import counted
from cnnlab.store.schema.common import ROLES, RecordError, SCHEMA_VERSION, stable_hash


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
    # A model from the user's own code: where a worker loads it from (`/abs/nets.py:TinyNet`,
    # `pkg.nets:TinyNet`). Not part of the key: the code itself is, through `code`.
    model_source: str | None = None

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
        own = {"model_source": self.model_source} if self.model_source else {}
        return {"schema": SCHEMA_VERSION, **self.identity(), "label": self.label, **own, **(provenance or {})}

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
                         role=d.get("role", "eval"), validation=d.get("validation"), setting=d.get("setting"),
                         model_source=d.get("model_source") if isinstance(d.get("model_source"), str) else None)
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
            "macro_auc": roc.get("macro_auc") if isinstance(roc := self.analysis.get("roc"), dict) else None,
            "model_source": get("model_source"),
            "code": get("code"), "analyses": ",".join(get("analyses") or ()), "device": run_time.get("device"),
            "threads": run_time.get("threads"), "precision": train.get("precision"), "error": self.error,
        }
