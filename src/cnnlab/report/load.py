"""Read a study's results from disk for the report: study.json, and every run it lists
through `cnnlab.store.rundir.RunDir.load`, the same reader the runner uses.

A run whose records are damaged, or that crashed or is missing, stays in the study with
its status and problems; only usable runs (done, records intact) enter the statistics.
Only a missing, unreadable or older-format study.json is an error, because then there is
nothing this version can report.

The `*_view` functions turn the stored analyses (the shapes `cnnlab.analysis` returns,
checked by `cnnlab.store.records.check_analysis`) into what the plots and tables use.
"""

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from cnnlab.errors import UserError
from cnnlab.store.records import SCHEMA_VERSION, RunRecord
from cnnlab.store.rundir import RunDir


def _number(x) -> float | None:
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return None
    return float(x) if math.isfinite(x) else None


@dataclass
class ModelResults:
    name: str
    label: str
    kwargs: dict
    index: int  # position in the study, fixes the model's colour in every plot
    runs: list[RunRecord] = field(default_factory=list)

    @property
    def done(self) -> list[RunRecord]:
        """The runs whose numbers may be reported: finished, records intact."""
        return [r for r in self.runs if r.usable]

    def values(self, metric: str) -> list[float]:
        """One value per usable run (seed) for a metric of `METRICS`, missing ones dropped."""
        out = [METRICS[metric](r) for r in self.done]
        return [v for v in out if v is not None]

    def first(self, metric: str) -> float | None:
        """For seed-independent measurements (parameter count, MACs)."""
        values = self.values(metric)
        return values[0] if values else None


@dataclass
class StudyResults:
    dir: Path
    runs_dir: Path
    info: dict  # study.json
    models: list[ModelResults]

    @property
    def title(self) -> str:
        return str(self.info.get("title") or self.info.get("name") or self.dir.name)

    @property
    def device(self) -> str | None:
        """The device the study ran on, as its manifest names it."""
        return self.manifest.get("device") or None

    @property
    def manifest(self) -> dict:
        m = self.info.get("manifest")
        return m if isinstance(m, dict) else {}

    @property
    def all_runs(self) -> list[RunRecord]:
        return [r for m in self.models for r in m.runs]


def load_activations(run: RunRecord) -> dict[str, np.ndarray] | None:
    """The arrays of a run's activations.npz, or None."""
    name = run.analysis.get("activations_file")
    if not name or run.dir is None:
        return None
    path = run.dir / str(name)
    if path.parent != run.dir or not path.is_file():  # never read outside the run dir
        return None
    try:
        with np.load(path, allow_pickle=False) as npz:
            return {k: npz[k] for k in npz.files}
    except (OSError, ValueError):
        return None


# ---- per-run measurements ----------------------------------------------------------

def _params(run: RunRecord):
    p = run.analysis.get("params")
    return _number(p.get("total")) if isinstance(p, dict) else None


def _train_seconds(run: RunRecord):
    return _number(run.analysis.get("train_seconds"))


def _epoch_seconds(run: RunRecord):
    # Median over epochs: the first epoch also pays for warm-up and would skew a mean.
    times = [t for t in run.curve("train_seconds") if t is not None]
    return float(np.median(times)) if times else None


def _inference(batch_size: int, key: str):
    def get(run: RunRecord):
        row = inference_view(run.analysis.get("inference")).get("batches", {}).get(batch_size)
        return _number(row.get(key)) if row else None
    return get


def _peak_bytes(run: RunRecord):
    m = run.analysis.get("memory")
    return _number(m.get("peak_bytes")) if isinstance(m, dict) else None


def _final_gap(run: RunRecord):
    over = run.overfitting()
    return _number(over["final_gap"]) if over else None


def _grad_first_layer(which: str):
    """Input-side weight layer's gradient norm at the first or last logged step."""
    def get(run: RunRecord):
        view = grad_flow_view(run.analysis.get("grad_flow"))
        values = view.get(which) if view else None
        return _number(values[0]) if values else None
    return get


def _features_rf(run: RunRecord):
    rows = receptive_field_view(run.analysis.get("receptive_field"))
    return _number(features_rf(rows)) if rows else None


def _erf_side(run: RunRecord):
    view = erf_view(run.analysis.get("erf"))
    return _number(view["side"]) if view else None


METRICS = {
    "train_acc": lambda r: r.final("train_acc"),
    "test_acc": lambda r: r.final("test_acc"),
    "train_loss": lambda r: r.final("train_loss"),
    "test_loss": lambda r: r.final("test_loss"),
    "best_test_acc": lambda r: max((v for v in r.curve("test_acc") if v is not None), default=None),
    "gap": _final_gap,
    "params": _params,
    "macs": lambda r: _number(r.analysis.get("macs")),
    "train_seconds": _train_seconds,
    "epoch_seconds": _epoch_seconds,
    "latency_ms": _inference(1, "median_ms"),
    "throughput": _inference(256, "images_per_second"),
    "peak_bytes": _peak_bytes,
    "grad_first_start": _grad_first_layer("first"),
    "grad_first_end": _grad_first_layer("last"),
    "features_rf": _features_rf,  # theoretical receptive field at the output of `features` (pixels)
    "erf_side": _erf_side,  # side of the centred square holding 95% of the effective receptive field
}


# ---- views of the stored analyses ----------------------------------------------------

def inference_view(inf) -> dict:
    """{"batches": {batch_size: row}, "device", "threads", "precision", "layout"} from `measure_inference`."""
    if not isinstance(inf, dict):
        return {}
    batches = {int(row["batch_size"]): row for row in inf.get("results") or []
               if isinstance(row, dict) and _number(row.get("batch_size")) is not None}
    return {"batches": batches, "device": inf.get("device_name") or inf.get("device"),
            "threads": inf.get("threads"), "precision": inf.get("precision"),
            "layout": "channels-last" if inf.get("channels_last") else None}


def _axis_value(v) -> int | None:
    """A receptive field is a per-axis list; summarise it by its largest axis."""
    nums = [_number(x) for x in v] if isinstance(v, (list, tuple)) else []
    return int(max(nums)) if nums and None not in nums else None


def _axis_text(v) -> str:
    if isinstance(v, (list, tuple)) and v:
        if len(set(v)) == 1:
            return f"{v[0]}×{v[0]}" if len(v) == 2 else str(v[0])
        return "×".join(str(x) for x in v)
    return "—" if v is None else str(v)


def receptive_field_view(rf) -> list[dict] | None:
    """Rows {"layer", "type", "out_shape", "rf" (largest axis, int), "rf_text", "jump_text"}
    from `analysis.receptive_field`'s {"layers": [...]}."""
    layers = rf.get("layers") if isinstance(rf, dict) else None
    if not isinstance(layers, list):
        return None
    rows = []
    for row in layers:
        if not isinstance(row, dict):
            continue
        shape = row.get("out_shape")
        rows.append({"layer": str(row.get("name", "?")), "type": str(row.get("type", "")),
                     "out_shape": "×".join(str(s) for s in shape) if isinstance(shape, list) else "",
                     "rf": _axis_value(row.get("rf")), "rf_text": _axis_text(row.get("rf")),
                     "jump_text": _axis_text(row.get("jump")) if row.get("jump") is not None else "mixed"})
    return rows or None


def features_rf(rows: list[dict]) -> int | None:
    """The theoretical field (largest axis) at the output of the model's `features`: the
    last layer inside it in execution order, where the effective field is measured too."""
    inside = [r for r in rows if (r["layer"] == "features" or r["layer"].startswith("features."))
              and r["rf"] is not None]
    return inside[-1]["rf"] if inside else None


def last_spatial_layer(rows: list[dict]) -> dict | None:
    """The last layer in execution order whose units still have positions (a jump): where the
    theoretical field stops growing by windows, before flatten or global pooling mixes
    positions. None for a net without one (a fully connected net)."""
    spatial = [r for r in rows if r["rf"] is not None and r["jump_text"] != "mixed" and not _global_pool(r)]
    return spatial[-1] if spatial else None


def _global_pool(row: dict) -> bool:
    """A pooling layer with a single output position. Records from before the tracer marked
    global pooling as mixing positions still give it a jump."""
    grid = row["out_shape"].split("×")[1:]
    return "pool" in row["type"].lower() and bool(grid) and all(g == "1" for g in grid)


def _stored_matrix(record, key: str) -> np.ndarray | None:
    """record[key] as a non-empty 2-D float array, or None when it is missing or malformed."""
    if not isinstance(record, dict) or not isinstance(record.get(key), list):
        return None
    try:
        matrix = np.array(record[key], dtype=float)
    except (TypeError, ValueError):
        return None
    return matrix if matrix.ndim == 2 and matrix.size else None


def erf_view(e) -> dict | None:
    """{"map" (H x W array summing to 1), "side", "center", "unit", "fraction"} from
    `analysis.effective_receptive_field`, or None when nothing was measured (no feature map)."""
    heat = _stored_matrix(e, "map")
    if heat is None:
        return None
    return {"map": heat, "side": _number(e.get("side")), "center": e.get("center"), "unit": e.get("unit"),
            "fraction": _number(e.get("fraction"))}


def _float_row(row) -> list[float]:
    return [math.nan if _number(v) is None else float(v) for v in (row or [])]


def grad_flow_view(gf) -> dict | None:
    """Per-layer gradient norms of the weight tensors (conv kernels, linear matrices) from
    the stored gradient-flow analysis (`grad_flow_summary` plus the recorder's history).

    Returns {"layers", "steps", "matrix" (steps x layers, NaN where unknown), "first",
    "last" (per-layer lists), "first_step", "last_step", "ratio_first", "ratio_last",
    "vanishing", "exploding"} or None if nothing was logged.
    """
    if not isinstance(gf, dict) or not gf.get("first"):
        return None
    names = gf.get("names") or []
    keep = [names.index(w) for w in gf.get("layer_names") or [] if w in names]
    if not keep:
        return None

    def pick(row):
        values = _float_row(row)
        return [values[j] if j < len(values) else math.nan for j in keep]

    history, steps = gf.get("grad_norm") or [], gf.get("steps") or []
    first, last = gf["first"], gf["last"]
    return {"layers": [names[j] for j in keep], "steps": steps,
            "matrix": np.array([pick(r) for r in history], dtype=float) if history else None,
            "first": pick(first["grad_norm"]), "last": pick(last["grad_norm"]),
            "first_step": first.get("step"), "last_step": last.get("step"),
            "ratio_first": _number(first.get("ratio_first_last")), "ratio_last": _number(last.get("ratio_first_last")),
            "vanishing": gf.get("vanishing"), "exploding": gf.get("exploding")}


def confusion_view(c) -> dict | None:
    matrix = _stored_matrix(c, "matrix")
    if matrix is None or matrix.shape[0] != matrix.shape[1]:
        return None
    classes = c.get("classes")
    if not isinstance(classes, list) or len(classes) != matrix.shape[0]:
        classes = [str(i) for i in range(matrix.shape[0])]
    return {"matrix": matrix, "classes": [str(x) for x in classes]}


# ---- loading -----------------------------------------------------------------------

def _load_run(runs_dir: Path, entry: dict) -> RunRecord:
    key = str(entry.get("run_key", ""))
    # A run key is a hex hash; anything else must not be turned into a path outside runs/.
    if not key or not all(ch.isalnum() or ch in "-_" for ch in key):
        run = RunRecord(key=key, status="missing", problems=["study.json names an invalid run key"])
    else:
        run = RunDir(runs_dir / key).load()
    if run.config is None:  # name it as study.json does, whatever its own files say
        run.raw_config = {**run.raw_config, "model": entry.get("model"), "seed": entry.get("seed")}
    return run


def _read_study_json(path: Path) -> dict:
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        info = None
    if not isinstance(info, dict):
        raise UserError(f"{path} is not a valid study file (corrupt or not a JSON object)")
    if info.get("schema") != SCHEMA_VERSION:
        raise UserError(f"{path} was written by an older cnnlab (results format {info.get('schema', 1)}, this "
                        f"version reads {SCHEMA_VERSION}); run the study again to re-create its results")
    return info


def load_results(study_dir, runs_dir=None) -> StudyResults:
    """Read `study_dir/study.json` and every run it lists (from `runs_dir`, by default
    `study_dir/../../runs`, the layout `cnnlab run` writes)."""
    study_dir = Path(study_dir)
    path = study_dir / "study.json"
    if not path.is_file():
        raise UserError(f"no study.json in {study_dir}; pass a directory written by `cnnlab run` "
                        "(OUT/studies/<study-name>)")
    info = _read_study_json(path)
    runs_dir = Path(runs_dir) if runs_dir is not None else study_dir.parent.parent / "runs"

    # Runs are grouped by label: labels are unique within a study, model names may repeat
    # (the same model with other kwargs or regularisation).
    models, by_label = [], {}
    for i, m in enumerate(info.get("models") or []):
        if not isinstance(m, dict) or "name" not in m:
            continue
        name = str(m["name"])
        model = ModelResults(name=name, label=str(m.get("label") or name), kwargs=m.get("kwargs") or {}, index=i)
        models.append(model)
        by_label[model.label] = model
    for entry in info.get("runs") or []:
        if not isinstance(entry, dict):
            continue
        run = _load_run(runs_dir, entry)
        label = str(entry.get("label") or run.model)
        if label not in by_label:  # a run of a model the study does not list: still show it
            by_label[label] = ModelResults(str(run.model), label, {}, len(models))
            models.append(by_label[label])
        by_label[label].runs.append(run)
    for model in models:
        model.runs.sort(key=lambda r: (not isinstance(r.seed, int), r.seed if isinstance(r.seed, int) else 0))
    return StudyResults(dir=study_dir, runs_dir=runs_dir, info=info, models=models)
