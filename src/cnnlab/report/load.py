"""Read a study's results from disk into plain Python objects the report can use.

Everything is read defensively: a run that crashed, a missing analysis or an unknown
key leaves a None (the report then says "not measured") instead of an exception. Only a
missing or unreadable study.json is an error, because then there is nothing to report.

The inner formats of analysis.json are whatever `cnnlab.analysis` returns; the
`*_view` functions below turn them (and the older shapes in the results contract) into
one simple form each, so the plotting and table code never guesses.
"""

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from cnnlab.errors import UserError

DONE = "done"


def _read_json(path: Path):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _read_jsonl(path: Path) -> list[dict]:
    rows = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return rows
    for line in lines:
        try:
            row = json.loads(line)
        except ValueError:  # a torn last line from a killed writer: ignore it
            continue
        if isinstance(row, dict):
            rows.append(row)
    return rows


def _number(x) -> float | None:
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return None
    return float(x) if math.isfinite(x) else None


@dataclass
class Run:
    run_key: str
    model: str
    seed: int
    status: str  # done | failed | diverged | running (no status file) | missing (no directory)
    dir: Path
    config: dict = field(default_factory=dict)
    epochs: list[dict] = field(default_factory=list)  # metrics.jsonl rows, by epoch
    analysis: dict = field(default_factory=dict)
    error: str | None = None

    def curve(self, key: str) -> list[float | None]:
        return [_number(row.get(key)) for row in self.epochs]

    def final(self, key: str) -> float | None:
        return _number(self.epochs[-1].get(key)) if self.epochs else None

    def activations(self) -> dict[str, np.ndarray] | None:
        name = self.analysis.get("activations_file") or "activations.npz"
        path = self.dir / str(name)
        if path.parent != self.dir or not path.is_file():  # never read outside the run dir
            return None
        try:
            with np.load(path, allow_pickle=False) as npz:
                return {k: npz[k] for k in npz.files}
        except (OSError, ValueError):
            return None


@dataclass
class Model:
    name: str
    label: str
    kwargs: dict
    index: int  # position in the study, fixes the model's colour in every plot
    runs: list[Run] = field(default_factory=list)

    @property
    def done(self) -> list[Run]:
        return [r for r in self.runs if r.status == DONE]

    def values(self, metric: str) -> list[float]:
        """One value per finished run (seed) for a metric of `METRICS`, missing ones dropped."""
        out = [METRICS[metric](r) for r in self.done]
        return [v for v in out if v is not None]

    def first(self, metric: str) -> float | None:
        """For seed-independent measurements (parameter count, MACs)."""
        values = self.values(metric)
        return values[0] if values else None


@dataclass
class Study:
    dir: Path
    runs_dir: Path
    info: dict  # study.json
    models: list[Model]

    @property
    def title(self) -> str:
        return str(self.info.get("title") or self.info.get("name") or self.dir.name)

    @property
    def manifest(self) -> dict:
        m = self.info.get("manifest")
        return m if isinstance(m, dict) else {}

    @property
    def all_runs(self) -> list[Run]:
        return [r for m in self.models for r in m.runs]


# ---- per-run measurements ----------------------------------------------------------

def _params(run: Run):
    p = run.analysis.get("params")
    return _number(p.get("total")) if isinstance(p, dict) else _number(p)


def _macs(run: Run):
    a = run.analysis
    if _number(a.get("macs")) is not None:
        return _number(a["macs"])
    flops = a.get("flops")  # either a number or the dict of analysis.count_flops
    if isinstance(flops, dict):
        return _number(flops.get("macs"))
    return _number(flops) / 2 if _number(flops) is not None else None


def _train_seconds(run: Run):
    if _number(run.analysis.get("train_seconds")) is not None:
        return _number(run.analysis["train_seconds"])
    times = [t for t in run.curve("train_seconds") if t is not None]
    return sum(times) if times else None


def _epoch_seconds(run: Run):
    # Median over epochs: the first epoch also pays for warm-up and would skew a mean.
    times = [t for t in run.curve("train_seconds") if t is not None]
    return float(np.median(times)) if times else None


def _inference(batch_size: int, key: str):
    def get(run: Run):
        row = inference_view(run.analysis.get("inference")).get("batches", {}).get(batch_size)
        return _number(row.get(key)) if row else None
    return get


def _peak_bytes(run: Run):
    m = run.analysis.get("memory")
    return _number(m.get("peak_bytes")) if isinstance(m, dict) else None


def _final_gap(run: Run):
    train, test = run.final("train_acc"), run.final("test_acc")
    return train - test if train is not None and test is not None else None


def _grad_first_layer(which: str):
    """Input-side weight layer's gradient norm at the first or last logged step."""
    def get(run: Run):
        view = grad_flow_view(run.analysis.get("grad_flow"))
        values = view.get(which) if view else None
        return _number(values[0]) if values else None
    return get


METRICS = {
    "train_acc": lambda r: r.final("train_acc"),
    "test_acc": lambda r: r.final("test_acc"),
    "train_loss": lambda r: r.final("train_loss"),
    "test_loss": lambda r: r.final("test_loss"),
    "best_test_acc": lambda r: max((v for v in r.curve("test_acc") if v is not None), default=None),
    "gap": _final_gap,
    "params": _params,
    "macs": _macs,
    "train_seconds": _train_seconds,
    "epoch_seconds": _epoch_seconds,
    "latency_ms": _inference(1, "median_ms"),
    "throughput": _inference(256, "images_per_second"),
    "peak_bytes": _peak_bytes,
    "grad_first_start": _grad_first_layer("first"),
    "grad_first_end": _grad_first_layer("last"),
}


# ---- normalising the analysis formats -----------------------------------------------

def inference_view(inf) -> dict:
    """{"batches": {batch_size: {"median_ms", "iqr_ms", "images_per_second"}}, "device", "threads",
    "precision"} from either `measure_inference`'s {"results": [...]} or {"1": {...}, "256": {...}}."""
    if not isinstance(inf, dict):
        return {}
    batches = {}
    for row in inf.get("results") or []:
        if isinstance(row, dict) and _number(row.get("batch_size")) is not None:
            batches[int(row["batch_size"])] = row
    for key, row in inf.items():
        if str(key).isdigit() and isinstance(row, dict):
            batches[int(key)] = row
    return {"batches": batches, "device": inf.get("device_name") or inf.get("device"),
            "threads": inf.get("threads"), "precision": inf.get("precision")}


def _axis_value(v) -> int | None:
    """A receptive field or jump is a number or a per-axis list; summarise it by its largest axis."""
    if isinstance(v, (list, tuple)):
        nums = [_number(x) for x in v]
        return int(max(nums)) if nums and None not in nums else None
    n = _number(v)
    return int(n) if n is not None else None


def _axis_text(v) -> str:
    if isinstance(v, (list, tuple)) and v:
        if len(set(v)) == 1:
            return f"{v[0]}×{v[0]}" if len(v) == 2 else str(v[0])
        return "×".join(str(x) for x in v)
    return "—" if v is None else str(v)


def receptive_field_view(rf) -> list[dict] | None:
    """Rows {"layer", "type", "out_shape", "rf" (largest axis, int), "rf_text", "jump_text"} from
    `analysis.receptive_field`'s {"layers": [...]} or a plain list of {"layer", "rf", "jump"}."""
    layers = rf.get("layers") if isinstance(rf, dict) else rf
    if not isinstance(layers, list):
        return None
    rows = []
    for row in layers:
        if not isinstance(row, dict):
            continue
        shape = row.get("out_shape")
        rows.append({"layer": str(row.get("name", row.get("layer", "?"))), "type": str(row.get("type", "")),
                     "out_shape": "×".join(str(s) for s in shape) if isinstance(shape, list) else "",
                     "rf": _axis_value(row.get("rf")), "rf_text": _axis_text(row.get("rf")),
                     "jump_text": _axis_text(row.get("jump")) if row.get("jump") is not None else "mixed"})
    return rows or None


def _float_row(row) -> list[float]:
    return [math.nan if _number(v) is None else float(v) for v in (row or [])]


def grad_flow_view(gf) -> dict | None:
    """Per-layer gradient norms for the weight tensors (conv kernels, linear matrices).

    Accepts `grad_flow_summary(...)` (optionally merged with the recorder's "steps" and
    "grad_norm" history) or the contract's {"layers", "steps", "grad_norm", ...}. Returns
    {"layers", "steps", "matrix" (steps x layers, NaN where unknown, or None),
     "first", "last" (per-layer lists), "first_step", "last_step", "ratio_first",
     "ratio_last", "vanishing", "exploding"} or None if nothing usable is there.
    """
    if not isinstance(gf, dict):
        return None
    names = gf.get("names") or gf.get("layers") or []
    weights = gf.get("layer_names")
    if not weights and isinstance(gf.get("shapes"), list):
        weights = [n for n, s in zip(names, gf["shapes"]) if isinstance(s, list) and len(s) >= 2]
    weights = weights or names
    keep = [names.index(w) for w in weights if w in names]
    if not keep:
        return None

    def pick(row):
        values = _float_row(row)
        return [values[j] if j < len(values) else math.nan for j in keep]

    history, steps = gf.get("grad_norm"), gf.get("steps")
    matrix = None
    if isinstance(history, list) and history and isinstance(history[0], list):
        matrix = np.array([pick(r) for r in history], dtype=float)
        if not isinstance(steps, list) or len(steps) != len(history):
            steps = list(range(len(history)))
    first, last = gf.get("first"), gf.get("last")
    out = {"layers": [names[j] for j in keep], "steps": steps if matrix is not None else None, "matrix": matrix,
           "first": None, "last": None, "first_step": None, "last_step": None,
           "ratio_first": None, "ratio_last": None,
           "vanishing": gf.get("vanishing"), "exploding": gf.get("exploding")}
    for which, point, i in (("first", first, 0), ("last", last, -1)):
        if isinstance(point, dict) and isinstance(point.get("grad_norm"), list):
            out[which] = pick(point["grad_norm"])
            out[f"{which}_step"] = point.get("step")
            out[f"ratio_{which}"] = _number(point.get("ratio_first_last"))
        elif matrix is not None:
            out[which] = list(matrix[i])
            out[f"{which}_step"] = steps[i]
    if out["ratio_last"] is None:
        out["ratio_last"] = _number(gf.get("ratio_first_last"))
    if out["first"] is None and matrix is None:
        return None
    return out


def confusion_view(c) -> dict | None:
    if not isinstance(c, dict) or not isinstance(c.get("matrix"), list):
        return None
    try:
        matrix = np.array(c["matrix"], dtype=float)
    except (TypeError, ValueError):
        return None
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1] or matrix.shape[0] == 0:
        return None
    classes = c.get("classes")
    if not isinstance(classes, list) or len(classes) != matrix.shape[0]:
        classes = [str(i) for i in range(matrix.shape[0])]
    return {"matrix": matrix, "classes": [str(x) for x in classes]}


# ---- loading -----------------------------------------------------------------------

def _load_run(runs_dir: Path, entry: dict) -> Run:
    key = str(entry.get("run_key", ""))
    run = Run(run_key=key, model=str(entry.get("model", "")), seed=entry.get("seed"),
              status="missing", dir=runs_dir / key)
    # A run key is a hex hash; anything else must not be turned into a path outside runs/.
    if not key or not all(ch.isalnum() or ch in "-_" for ch in key) or not run.dir.is_dir():
        return run
    try:
        run.status = (run.dir / "status").read_text(encoding="utf-8").strip() or "running"
    except OSError:
        run.status = "running"
    run.config = _read_json(run.dir / "config.json") or {}
    run.epochs = sorted(_read_jsonl(run.dir / "metrics.jsonl"), key=lambda r: _number(r.get("epoch")) or 0)
    analysis = _read_json(run.dir / "analysis.json")
    run.analysis = analysis if isinstance(analysis, dict) else {}
    try:
        run.error = (run.dir / "error.txt").read_text(encoding="utf-8").strip() or None
    except OSError:
        pass
    return run


def load_study(study_dir, runs_dir=None) -> Study:
    """Read `study_dir/study.json` and every run it lists (from `runs_dir`, by default
    `study_dir/../../runs`, the layout `cnnlab run` writes)."""
    study_dir = Path(study_dir)
    path = study_dir / "study.json"
    if not path.is_file():
        raise UserError(f"no study.json in {study_dir}; pass a directory written by `cnnlab run` "
                        "(OUT/studies/<study-name>)")
    info = _read_json(path)
    if not isinstance(info, dict):
        raise UserError(f"{path} is not a valid study file (corrupt or not a JSON object)")
    runs_dir = Path(runs_dir) if runs_dir is not None else study_dir.parent.parent / "runs"

    # Runs are grouped by label: labels are unique within a study, model names may repeat
    # (the same model with other kwargs or regularisation).
    models, by_label = [], {}
    for i, m in enumerate(info.get("models") or []):
        if isinstance(m, str):
            m = {"name": m}
        if not isinstance(m, dict) or "name" not in m:
            continue
        name = str(m["name"])
        model = Model(name=name, label=str(m.get("label") or name), kwargs=m.get("kwargs") or {}, index=i)
        models.append(model)
        by_label[model.label] = model
    for entry in info.get("runs") or []:
        if not isinstance(entry, dict):
            continue
        run = _load_run(runs_dir, entry)
        label = str(entry.get("label") or run.model)
        if label not in by_label:  # a run of a model the study does not list: still show it
            by_label[label] = Model(run.model, label, {}, len(models))
            models.append(by_label[label])
        by_label[label].runs.append(run)
    for model in models:
        model.runs.sort(key=lambda r: (r.seed is None, r.seed if isinstance(r.seed, int) else 0))
    return Study(dir=study_dir, runs_dir=runs_dir, info=info, models=models)
