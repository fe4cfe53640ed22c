"""Read a study's results from disk for the report: study.json (`cnnlab.store.schema.read_study`)
and every run it lists through `cnnlab.store.rundir.RunDir.load`, the same reader the runner uses.

A run whose records are damaged, or that crashed or is missing, stays in the study with
its status and problems; only usable runs (done, records intact) enter the statistics.
Only a missing, unreadable or older-format study.json is an error, because then there is
nothing this version can report.

A tuned study (OUT/studies/<name>-tuned) also loads the same study at shared settings from
beside it (`StudyResults.shared`) when there is one of the same size: its answers then say
which verdicts hold at tuned settings.

Numbers per run are *metrics*, read by name: the core ones below (accuracies, losses,
parameters, times) and those each analysis declares (cnnlab.plugins.Metric).
"""

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from cnnlab.errors import UserError, say
from cnnlab.numeric import number
from cnnlab.plugins import PLUGINS_ENV, Metric, analyses, failed_plugins_hint, find_analysis
from cnnlab.store.rundir import RunDir
from cnnlab.store.schema import RUNS_DIR, STUDY_FILE, Manifest, RunEntry, RunRecord, StudyRecord, read_study


@dataclass
class ModelResults:
    name: str
    label: str
    kwargs: dict
    index: int  # position in the study, fixes the model's colour in every plot
    runs: list[RunRecord] = field(default_factory=list)
    metric_table: dict | None = field(default=None, repr=False, compare=False)  # the study's, built once by load

    @property
    def done(self) -> list[RunRecord]:
        """The runs whose numbers may be reported: finished, records intact."""
        return [r for r in self.runs if r.usable]

    def values(self, metric: str) -> list[float]:
        """One value per usable run (seed) of a metric (see `metric`), missing ones dropped."""
        read = get_metric(metric, self.metric_table).read
        out = [read(r) for r in self.done]
        return [v for v in out if v is not None]

    def seeds(self) -> list[int]:
        """The seeds the study gave this model, in order, whether their runs finished or not."""
        return sorted({r.seed for r in self.runs if isinstance(r.seed, int)})

    def seed_values(self, metric: str) -> dict[int, float]:
        """{seed: value} of a metric over the usable runs, missing and non-finite values dropped."""
        read = get_metric(metric).read
        out = {}
        for r in self.done:
            value = read(r)
            if value is not None and isinstance(r.seed, int) and math.isfinite(value):
                out[r.seed] = float(value)
        return out

    def first(self, metric: str) -> float | None:
        """For seed-independent measurements (parameter count, MACs)."""
        values = self.values(metric)
        return values[0] if values else None


@dataclass
class StudyResults:
    dir: Path
    runs_dir: Path
    info: StudyRecord  # study.json
    models: list[ModelResults]
    shared: "StudyResults | None" = None  # a tuned study's counterpart at shared settings, when comparable
    shared_note: str | None = None  # why a tuned study has no `shared` (not run, or of another size)
    # What has been computed from these results (its answers, every pair's verdict), kept so that the
    # report, the notebook API and --until-decided each compute the same verdicts once.
    computed: dict = field(default_factory=dict, repr=False, compare=False)

    def once(self, key: str, compute):
        """`compute()`'s value, computed the first time `key` is asked for."""
        if key not in self.computed:
            self.computed[key] = compute()
        return self.computed[key]

    @property
    def title(self) -> str:
        return self.info.title or self.info.name or self.dir.name

    @property
    def device(self) -> str | None:
        """The device the study ran on, as its manifest names it."""
        return self.manifest.device or None

    @property
    def manifest(self) -> Manifest:
        return self.info.manifest

    @property
    def test_images(self) -> int | None:
        """How many test images each run was scored on (None when the manifest does not say)."""
        size = self.manifest.test_size
        return size if isinstance(size, int) and size > 0 else None

    @property
    def all_runs(self) -> list[RunRecord]:
        return [r for m in self.models for r in m.runs]


# ---- metrics ---------------------------------------------------------------------------

def _epoch_seconds(run: RunRecord):
    # Median over epochs: the first epoch also pays for warm-up and would skew a mean.
    times = [t for t in run.curve("train_seconds") if t is not None]
    return float(np.median(times)) if times else None


def _train_seconds(run: RunRecord):
    return number(run.analysis.get("train_seconds"))


def _params(run: RunRecord):
    p = run.analysis.get("params")
    return number(p.get("total")) if isinstance(p, dict) else None


CORE_METRICS = (
    Metric("train_acc", "train accuracy", lambda r: r.final("train_acc"), "fraction"),
    Metric("test_acc", "test accuracy", lambda r: r.final("test_acc"), "fraction"),
    Metric("train_loss", "train loss", lambda r: r.final("train_loss")),
    Metric("test_loss", "test loss", lambda r: r.final("test_loss")),
    Metric("best_test_acc", "best test accuracy over epochs",
           lambda r: max((v for v in r.curve("test_acc") if v is not None), default=None), "fraction"),
    Metric("params", "parameters", _params, "count"),
    Metric("macs", "multiply-accumulates per image", lambda r: number(r.analysis.get("macs")), "count"),
    Metric("train_seconds", "total training time", _train_seconds, "seconds"),
    Metric("epoch_seconds", "training time per epoch (median over epochs)", _epoch_seconds, "seconds"),
)


def metrics() -> dict[str, Metric]:
    """Every metric by name: the core ones, then each registered analysis's."""
    out = {m.name: m for m in CORE_METRICS}
    for analysis in analyses():
        out.update({m.name: m for m in analysis.metrics})
    return out


def get_metric(name: str, table: dict | None = None) -> Metric:
    """The metric `name`, from `table` (a study's, built once by `metrics()`) or the registry now."""
    table = metrics() if table is None else table
    found = table.get(name)
    if found is None:
        raise KeyError(f"unknown metric {name!r}; valid: {', '.join(table)}")
    return found


def stored_matrix(record, key: str) -> np.ndarray | None:
    """record[key] as a non-empty 2-D float array, or None when it is missing or malformed."""
    if not isinstance(record, dict) or not isinstance(record.get(key), list):
        return None
    try:
        matrix = np.array(record[key], dtype=float)
    except (TypeError, ValueError):
        return None
    return matrix if matrix.ndim == 2 and matrix.size else None


# ---- loading -----------------------------------------------------------------------

def _load_run(runs_dir: Path, entry: RunEntry) -> RunRecord:
    key = entry.run_key
    # A run key is a hex hash; anything else must not be turned into a path outside runs/.
    if not key or not all(ch.isalnum() or ch in "-_" for ch in key):
        run = RunRecord(key=key, status="missing", problems=["study.json names an invalid run key"])
    else:
        run = RunDir(runs_dir / key).load()
    if run.config is None:  # name it as study.json does, whatever its own files say
        run.raw_config = {**run.raw_config, "model": entry.model or None, "seed": entry.seed}
    return run


def _listing_problems(entry: RunEntry, run: RunRecord, info: StudyRecord) -> list[str]:
    """Where study.json's listing of a run disagrees with the run itself or with the study's own
    models (a damaged or hand-edited study.json would otherwise credit one model's runs to another)."""
    config, out = run.config, []
    names = {m.label: m.name for m in info.models}
    if entry.label in names and entry.model and names[entry.label] != entry.model:
        out.append(f"study.json lists a run of {entry.model!r} under the label {entry.label!r}, which is "
                   f"{names[entry.label]!r}'s")
    if config is None:
        return out
    if entry.model and config.model != entry.model:
        out.append(f"study.json lists it as a run of {entry.model!r}; its config.json says {config.model!r}")
    if isinstance(entry.seed, int) and config.seed != entry.seed:
        out.append(f"study.json lists it as seed {entry.seed}; its config.json says seed {config.seed}")
    # Trained by this study as another of its models (a label renamed since is no such case).
    if config.study == info.name and config.label in names and entry.label and config.label != entry.label:
        out.append(f"study.json lists it as {entry.label!r}; this study trained it as {config.label!r}")
    return out


_WARNED: set[tuple[str, str]] = set()  # (study dir, analysis) already said in this process


def load_results(study_dir, runs_dir=None) -> StudyResults:
    """Read `study_dir/study.json` and every run it lists (from `runs_dir`, by default
    `study_dir/../../runs`, the layout `cnnlab run` writes)."""
    study_dir = Path(study_dir)
    path = study_dir / STUDY_FILE
    if not path.is_file():
        raise UserError(f"no {STUDY_FILE} in {study_dir}; pass a directory written by `cnnlab run` "
                        "(OUT/studies/<study-name>)")
    info = read_study(path)
    runs_dir = Path(runs_dir) if runs_dir is not None else study_dir.parent.parent / RUNS_DIR
    for name in info.analyses:
        if find_analysis(name) is None and (str(study_dir), name) not in _WARNED:
            _WARNED.add((str(study_dir), name))
            say(f"warning: {study_dir.name} measured the analysis {name!r}, which no loaded plug-in registers"
                f"{failed_plugins_hint()}; its numbers and report section are left out (load its plug-in module "
                f"with {PLUGINS_ENV} to show them)")

    # Runs are grouped by label: labels are unique within a study, model names may repeat
    # (the same model with other kwargs or regularisation).
    models, by_label, table = [], {}, metrics()  # the metric table, built once per study
    for i, m in enumerate(info.models):
        model = ModelResults(name=m.name, label=m.label, kwargs=dict(m.kwargs), index=i, metric_table=table)
        models.append(model)
        by_label[model.label] = model
    seen = set()
    for entry in info.runs:
        if entry.run_key in seen:  # listed twice (a damaged study.json): one run counts once
            continue
        seen.add(entry.run_key)
        run = _load_run(runs_dir, entry)
        label = entry.label or str(run.model)
        run.problems += _listing_problems(entry, run, info)
        if label not in by_label:  # a run of a model the study does not list: still show it
            by_label[label] = ModelResults(str(run.model), label, {}, len(models), metric_table=table)
            models.append(by_label[label])
        by_label[label].runs.append(run)
    for model in models:
        model.runs.sort(key=lambda r: (not isinstance(r.seed, int), r.seed if isinstance(r.seed, int) else 0))
    study = StudyResults(dir=study_dir, runs_dir=runs_dir, info=info, models=models)
    if info.tuning is not None:
        study.shared, study.shared_note = _shared_results(study, runs_dir)
    return study


def _shared_results(study: StudyResults, runs_dir: Path) -> tuple[StudyResults | None, str | None]:
    """The same study at shared settings, beside a tuned one: comparable when it is of the same
    profile, dataset and epochs and has finished runs of the same models."""
    name = study.info.tuning.shared or ""
    if not name or not all(ch.isalnum() or ch in "._-" for ch in name) or name.startswith("."):
        return None, "study.json names no study at shared settings"
    where = study.dir.parent / name
    if not (where / STUDY_FILE).is_file():
        return None, f"no results of {name} at shared settings in {where}"
    try:
        shared = load_results(where, runs_dir)
    except UserError as e:
        return None, str(e)
    info, mine = shared.info, study.info
    differ = [what for what, a, b in (("profile", info.profile, mine.profile), ("dataset", info.dataset, mine.dataset),
                                      ("epochs", info.epochs, mine.epochs), ("subset", info.subset, mine.subset))
              if a != b]
    if differ or info.tuning is not None:
        why = ", ".join(f"{w} {getattr(info, w)!r} vs {getattr(mine, w)!r}" for w in differ) or "it is tuned too"
        return None, f"the results at shared settings in {where} are of another size ({why})"
    return shared, None
