"""The Python API, for notebooks and scripts: four functions and the result they return.

    import cnnlab
    result = cnnlab.run("mnist-fc-vs-cnn", dataset="mnist-small", epochs=3, seeds=2)
    result                       # in Jupyter: the summary table and the learning curves
    result.summary               # pandas DataFrame, one row per model: the report's numbers
    result.runs, result.epochs   # one row per run; one row per run and epoch
    result.figure("learning_curves").savefig("curves.pdf")
    result.model("Simple CNN", seed=0)  # the trained model (torch.nn.Module, eval mode)
    cnnlab.load("runs/studies/mnist-fc-vs-cnn")    # the same, from results on disk
    cnnlab.load_model("runs/runs/<run key>")       # one run's trained model

`run` and `train_model` go through `cnnlab.studies.runner.run_study`, like `cnnlab run` and
`cnnlab train`: the same checks, cache, resume, run directories, TensorBoard files and
report. Mistakes raise `cnnlab.errors.UserError` with the one-line message the command line
prints. (`train_model`, not `train`: `cnnlab.train` is the training package.)
"""

from functools import cached_property
from html import escape
from pathlib import Path

from cnnlab.models import create_model
from cnnlab.store.trained import load_model

__all__ = ["StudyResult", "create_model", "load", "load_model", "run", "train_model"]

# The report's summary table, as numbers: mean and sample std over seeds (report/stats.py).
SUMMARY_METRICS = ("train_acc", "test_acc", "test_loss", "train_seconds", "epoch_seconds", "latency_ms",
                   "throughput", "peak_bytes")


class StudyResult:
    """A study's results as read from OUT/studies/<name> (a snapshot: `cnnlab.load` again
    to see runs that finished since). Fractions stay fractions (0.97, not 97 %), times are
    seconds, memory is bytes."""

    def __init__(self, study_dir):
        from cnnlab.report.load import load_results

        self.dir = Path(study_dir)
        self.results = load_results(self.dir)  # report.load.StudyResults: what the report reads

    def __repr__(self):
        runs = self.results.all_runs
        return (f"StudyResult({str(self.dir)!r}: {len(self.results.models)} models, "
                f"{sum(r.usable for r in runs)} of {len(runs)} runs done)")

    @property
    def name(self) -> str:
        return str(self.results.info.get("name") or self.dir.name)

    @property
    def title(self) -> str:
        return self.results.title

    @property
    def report_path(self) -> Path | None:
        """report.html, or None when the report has not been rendered (`cnnlab report DIR`)."""
        path = self.dir / "report.html"
        return path if path.is_file() else None

    # ---- tables ---------------------------------------------------------------------
    @property
    def runs(self):
        """One row per run, in study order: the index row of `cnnlab runs` (run_key, model,
        label, seed, status, final accuracies, params, ...), `usable` (counted by the report)
        and the run's directory."""
        import pandas as pd

        from cnnlab.store.index import COLUMNS

        rows = [{**run.summary(), "label": model.label, "usable": run.usable,
                 "run_dir": str(run.dir) if run.dir else None}
                for model in self.results.models for run in model.runs]
        columns = [c for c in COLUMNS if c not in ("updated_at", "run_dir")] + ["usable", "run_dir"]
        return pd.DataFrame(rows, columns=columns)

    @property
    def epochs(self):
        """One row per run and epoch: the content of results.csv (report/export.py)."""
        import pandas as pd

        from cnnlab.report.export import EPOCH_COLUMNS, epoch_rows

        return pd.DataFrame(epoch_rows(self.results), columns=list(EPOCH_COLUMNS))

    @property
    def summary(self):
        """One row per model (index: its label), ordered like the report's summary table and
        computed the same way (report.load.METRICS, report.stats.summarize): mean and std over
        the finished seeds, the 95% CI of the test accuracy, and seeds done of runs."""
        import pandas as pd

        from cnnlab.report.findings import by_test_accuracy
        from cnnlab.report.stats import summarize

        rows = []
        for model in by_test_accuracy(self.results.models):
            row = {"model": model.label, "name": model.name, "params": model.first("params"),
                   "macs": model.first("macs")}
            for metric in SUMMARY_METRICS:
                stats = summarize(model.values(metric))
                row[metric], row[f"{metric}_std"] = stats.mean, stats.std
                if metric == "test_acc":
                    row["test_acc_ci_low"], row["test_acc_ci_high"] = stats.ci_low, stats.ci_high
            row["seeds_done"], row["runs"] = len(model.done), len(model.runs)
            rows.append(row)
        table = pd.DataFrame(rows).set_index("model")
        counts = ["params", "macs", "seeds_done", "runs"]
        table[counts] = table[counts].astype("Int64")  # whole numbers; <NA> when not measured
        measured = table.columns.drop(["name", *counts])
        table[measured] = table[measured].astype(float)  # NaN when not measured
        return table

    # ---- trained models -------------------------------------------------------------
    def model(self, label: str, seed: int = 0, device="cpu"):
        """The trained model of one run (`label`: a model's label, or its name when no two
        models share it), with the weights of its last epoch, on `device`, in eval mode."""
        from cnnlab.errors import UserError

        models = self.results.models
        matches = ([m for m in models if m.label == label]
                   or [m for m in models if m.name == label and sum(n.name == label for n in models) == 1])
        if not matches:
            raise UserError(f"no model {label!r} in this study; labels: {', '.join(m.label for m in models)}")
        runs = [r for r in matches[0].runs if r.seed == seed]
        if not runs:
            seeds = ", ".join(str(r.seed) for r in matches[0].runs)
            raise UserError(f"no run of {label!r} with seed {seed!r} in this study; seeds: {seeds or '(none)'}")
        if runs[0].dir is None:
            raise UserError(f"the run of {label!r} with seed {seed!r} is missing: {', '.join(runs[0].problems)}")
        return load_model(runs[0].dir, device=device)

    # ---- figures --------------------------------------------------------------------
    @cached_property
    def _document(self):
        from cnnlab.report.build import build_document

        return build_document(self.results)

    def figures(self) -> dict:
        """Every plot of the report as a matplotlib Figure, by name ("learning_curves",
        "accuracy_vs_cost", "confusion_matrices", ...: the report's plots/*.png)."""
        return {image.name.removesuffix(".png"): image.figure for image in self._document.images}

    def figure(self, name: str):
        """One plot of the report as a matplotlib Figure (see `figures` for the names)."""
        figures = self.figures()
        if name not in figures:
            from cnnlab.errors import UserError

            raise UserError(f"no figure {name!r} in this study's report; figures: {', '.join(figures) or '(none)'}")
        return figures[name]

    def _repr_html_(self) -> str:
        """Jupyter's view: the report's summary table and learning curves."""
        from cnnlab.report import build, plots
        from cnnlab.report.html import section_html

        runs = self.results.all_runs
        where = f"report: {self.report_path}" if self.report_path else f"results: {self.dir}"
        head = (f"<h3>{escape(self.title)}</h3><p>{sum(r.usable for r in runs)} of {len(runs)} runs done · "
                f"{escape(where)}</p>")
        sections = [build.summary_section(self.results), build.learning_curves_section(self.results, plots.DPI)]
        return head + "\n".join(section_html(s) for s in sections)


def load(study_dir) -> StudyResult:
    """The results of a study run before: `cnnlab.load("runs/studies/cifar-depth")`."""
    return StudyResult(study_dir)


def run(study, out="runs", *, profile: str = "full", epochs=None, seeds=None, dataset=None, subset=None,
        precision=None, device="auto", data_dir=None, download: bool = True, executor: str = "local",
        workers: int | None = None, ray_address=None, cpus_per_run=None, inference_repeats: int | None = None,
        report: bool = True, progress: bool = True) -> StudyResult:
    """Run a study like `cnnlab run` and return its results.

    `study`: a built-in study's name (`cnnlab studies`), the path of a .toml study file, or a
    loaded `cnnlab.studies.Study`. `profile`: "full" (the study's own settings) or "quick"
    (its [profiles.quick] table). `epochs`, `seeds` (a count, or a list of seeds), `dataset`,
    `subset` and `precision` override the profile; the rest are `cnnlab run`'s options.
    Finished runs are reused and interrupted ones resumed, as on the command line.
    """
    from cnnlab.studies.loader import Study, load_study

    loaded = study if isinstance(study, Study) else load_study(study)
    loaded = loaded.with_profile(profile).with_overrides(epochs=epochs, seeds=seeds, dataset=dataset, subset=subset,
                                                         precision=precision)
    return _run_study(loaded, out, progress, device=device, data_dir=data_dir, download=download,
                      executor=executor, workers=workers, ray_address=ray_address, cpus_per_run=cpus_per_run,
                      inference_repeats=inference_repeats, report=report)


def train_model(model: str, dataset: str = "mnist-small", *, epochs: int = 5, seed: int = 0, out="runs",
                subset=None, analyses=None, device="auto", data_dir=None, download: bool = True,
                report: bool = True, progress: bool = True, **train_options) -> StudyResult:
    """Train one model on one dataset, like `cnnlab train`: a one-run study.

    `train_options` are TrainConfig fields (batch_size, lr, optimizer, schedule, weight_decay,
    augment, precision, grad_flow_every, ...); `analyses` default to the cheap ones `cnnlab
    train` runs (plus grad_flow with grad_flow_every).
    """
    from cnnlab.studies.loader import single_run_study

    study = single_run_study(model, dataset, seed, epochs, train_options, analyses, subset=subset)
    return _run_study(study, out, progress, device=device, data_dir=data_dir, download=download, report=report)


def _run_study(study, out, progress: bool, **options) -> StudyResult:
    from cnnlab.studies.cli import RunProgress
    from cnnlab.studies.runner import run_study, study_dir

    bar = RunProgress(quiet=False) if progress else None
    try:
        run_study(study, out, verbosity="auto" if progress else "none",
                  on_start=(lambda specs, data: bar.start(len(specs))) if bar else None,
                  on_run=bar.run_done if bar else None, **options)
    finally:
        if bar:
            bar.close()
    return StudyResult(study_dir(out, study.name))
