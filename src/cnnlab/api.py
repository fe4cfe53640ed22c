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
    tuned = cnnlab.run("mnist-fc-vs-cnn", profile="quick", tune=True)   # each model at its own best lr
    tuned.tuning, tuned.figure("tuning")         # the search: one row per tuning run; its plot

`run` and `train_model` take the options of `cnnlab run` and `cnnlab train` and go the same
way (cnnlab.studies.options, then `cnnlab.studies.runner.run_study`): the same checks, run
policy, run keys, cache, resume, run directories, TensorBoard files and report, so a study
run from the command line is reused here and the other way round. Mistakes raise
`cnnlab.errors.UserError` from the function called, one line that names the argument as
written in Python (`epochs=`). (`train_model`, not `train`: `cnnlab.train` is the training
package.)
"""

import dataclasses
import difflib
import functools
import inspect
import time
from functools import cached_property
from html import escape
from pathlib import Path

from cnnlab import settings
from cnnlab.choices import DEFAULT_MARGIN_POINTS
from cnnlab.errors import UserError
from cnnlab.models import create_model
from cnnlab.store.trained import load_model

__all__ = ["StudyResult", "create_model", "load", "load_model", "run", "train_model"]

# The report's summary table, as numbers: mean and sample std over seeds (cnnlab.stats.summary),
# then the columns each analysis adds (cnnlab.plugins.Column).
class StudyResult:
    """A study's results as read from OUT/studies/<name> (a snapshot: `cnnlab.load` again
    to see runs that finished since). Fractions stay fractions (0.97, not 97 %), times are
    seconds, memory is bytes."""

    def __init__(self, study_dir):
        from cnnlab.results import load_results

        self.dir = Path(study_dir)
        self.results = load_results(self.dir)  # cnnlab.results.StudyResults: what the report reads

    def __repr__(self):
        runs = self.results.all_runs
        return (f"StudyResult({str(self.dir)!r}: {len(self.results.models)} models, "
                f"{sum(r.usable for r in runs)} of {len(runs)} runs done)")

    @property
    def name(self) -> str:
        return self.results.info.name or self.dir.name

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

        from cnnlab.store.schema import INDEX_COLUMNS

        rows = [{**run.summary(), "label": model.label, "usable": run.usable,
                 "run_dir": str(run.dir) if run.dir else None}
                for model in self.results.models for run in model.runs]
        columns = [c for c in INDEX_COLUMNS if c not in ("updated_at", "run_dir")] + ["usable", "run_dir"]
        return pd.DataFrame(rows, columns=columns)

    @property
    def epochs(self):
        """One row per run and epoch: the content of results.csv (results/export.py)."""
        import pandas as pd

        from cnnlab.results.export import epoch_rows
        from cnnlab.store.schema import RESULTS_COLUMNS

        return pd.DataFrame(epoch_rows(self.results), columns=list(RESULTS_COLUMNS))

    @property
    def summary(self):
        """One row per model (index: its label), ordered like the report's summary table and
        computed the same way (cnnlab.results.metrics, stats.summary.summarize): mean and std over
        the finished seeds, the 95% CI of the test accuracy, and seeds done of runs."""
        import pandas as pd

        from cnnlab.report.summary import summary_rows

        rows = [{k: v for k, v in row.items() if not k.endswith("_summary")} for row in summary_rows(self.results)]
        table = pd.DataFrame(rows).set_index("model")
        counts = ["params", "macs", "seeds_done", "runs"]
        table[counts] = table[counts].astype("Int64")  # whole numbers; <NA> when not measured
        measured = table.columns.drop(["name", *counts])
        table[measured] = table[measured].astype(float)  # NaN when not measured
        return table

    @property
    def tests(self):
        """One row per comparison the report makes: each question's (column `question`), then
        every pair of the study ("every pair"). Columns: report.findings.COMPARISON_COLUMNS
        (a, b, metric, diff and its 95% CI, Welch p and Holm p, equivalence p, verdict, margin,
        detectable difference, seeds needed, ...), differences as fractions."""
        import pandas as pd

        from cnnlab.report.answers import answers
        from cnnlab.report.build import study_pairs
        from cnnlab.report.findings import COMPARISON_COLUMNS, comparison_row

        rows = [{"question": a.question, **comparison_row(c)} for a in answers(self.results) for c in a.comparisons]
        rows += [{"question": "every pair", **comparison_row(c)} for c in study_pairs(self.results)]
        return pd.DataFrame(rows, columns=["question", *COMPARISON_COLUMNS])

    @property
    def tuning(self):
        """A tuned study's search (`cnnlab.run(..., tune=True)`), one row per tuning run: the model
        (label), the searched values (lr, and weight_decay when searched), the tuning seed, status,
        final validation accuracy and loss, training seconds, whether it is the model's chosen
        setting, and its run key. Empty for a study run at shared settings."""
        import pandas as pd

        record = self.results.info.tuning
        keys = list(record.grid) if record else ["lr"]
        rows = [{"model": m.label, **p.setting, "seed": r.seed, "status": r.status, "val_acc": r.accuracy,
                 "val_loss": r.loss, "train_seconds": r.seconds, "chosen": p.setting == m.chosen, "run_key": r.run_key}
                for m in (record.models if record else ()) for p in m.points for r in p.runs]
        return pd.DataFrame(rows, columns=["model", *keys, "seed", "status", "val_acc", "val_loss", "train_seconds",
                                           "chosen", "run_key"])

    def compare(self, other: "StudyResult", metrics=("test_acc", "train_acc"), margin: float = DEFAULT_MARGIN_POINTS,
                names: tuple[str, str] = ("A", "B")):
        """The same models here (A) and in `other` (B), per model and metric, with the report's
        statistics and verdicts (`cnnlab compare`): a DataFrame, one row per (model, metric).
        `margin`: accuracy points for accuracies, else percent of A's mean. Warns when the two
        were not made the same way (epochs, images, settings)."""
        import warnings

        import pandas as pd

        from cnnlab.report.compare import compare_results, differences_text, setup_differences

        differences = setup_differences(self.results, other.results)
        if differences:
            warnings.warn(differences_text(differences, names), stacklevel=2)
        rows = compare_results(self.results, other.results, metrics, margin, names, lambda name: f"{name}=")
        return pd.DataFrame(rows)

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
        from cnnlab.document.html import section_html

        runs = self.results.all_runs
        where = f"report: {self.report_path}" if self.report_path else f"results: {self.dir}"
        head = (f"<h3>{escape(self.title)}</h3><p>{sum(r.usable for r in runs)} of {len(runs)} runs done · "
                f"{escape(where)}</p>")
        sections = [build.summary_section(self.results), build.learning_curves_section(self.results, plots.DPI)]
        return head + "\n".join(section_html(s) for s in sections)


def check_layer(layer, *inputs, reference=None, repeats: int = 20):
    """Check a layer's hand-written backward pass, like `cnnlab check-layer`: `layer` an
    autograd.Function subclass, an nn.Module (class or instance) or a function of tensors,
    `inputs` example tensors (checked in float64), `reference` a layer of the same inputs to time
    against. Returns a LayerCheck (`passed`, per-input `errors`, `autograd`, `times`) and prints
    its report."""
    from cnnlab.console import layer_check_lines
    from cnnlab.models.check_layer import check_layer as check

    result = check(layer, *inputs, reference=reference, repeats=repeats)
    print("\n".join(layer_check_lines(result)))
    return result


def load(study_dir) -> StudyResult:
    """The results of a study run before: `cnnlab.load("runs/studies/cifar-depth")`, or an output
    directory holding one study (`cnnlab.load("runs/mine")`), as `cnnlab report` takes them."""
    from cnnlab.store.schema import study_dirs

    found = study_dirs(study_dir)
    if len(found) > 1:
        raise UserError(f"{study_dir} holds {len(found)} studies; load one of them: "
                        + ", ".join(repr(str(p)) for p in found))
    return StudyResult(found[0])


def _boundary(scope: str | None = None):
    """A mistake ends at the API: the UserError is raised again from here, without the calls
    inside cnnlab behind it (a notebook shows three lines, not fifty), and a keyword the
    function does not take is a UserError that lists the ones it does. `scope`: the training
    settings (cnnlab.settings) the function's **keywords take."""
    def wrap(function):
        signature = inspect.signature(function)
        own = [name for name, p in signature.parameters.items() if p.kind is not p.VAR_KEYWORD]
        accepts = own + [name for name in (settings.names_in(scope) if scope else ()) if name not in own]

        @functools.wraps(function)
        def call(*args, **kwargs):
            unknown = [k for k in kwargs if k not in accepts]
            if unknown:
                raise UserError(_unknown_keyword(function.__name__, unknown[0], accepts)) from None
            try:
                signature.bind(*args, **kwargs)
            except TypeError as e:
                raise UserError(f"cnnlab.{function.__name__}(): {e}") from None
            try:
                return function(*args, **kwargs)
            except UserError as mistake:
                raise UserError(*mistake.args) from None

        return call

    return wrap


def _unknown_keyword(function: str, name: str, valid) -> str:
    close = difflib.get_close_matches(name, valid, n=1)
    hint = f" (did you mean {close[0]}=?)" if close else ""
    return f"cnnlab.{function}() takes no argument {name}={hint}; valid: {', '.join(valid)}"


def _progress(progress) -> tuple[str, bool | None]:
    """`progress`: True (a bar where someone watches, else lines), "lines", or False (silent)
    -> the runs' verbosity, and whether RunProgress shows lines only (None: no RunProgress)."""
    if progress not in (True, False, "lines"):
        raise UserError(f"expected True, False or 'lines', got {progress!r} (progress=)")
    return {True: ("auto", False), "lines": ("lines", True), False: ("none", None)}[progress]


@_boundary(settings.RUN_COMMAND)
def run(study, out="runs", *, profile: str = "full", epochs=None, seeds=None, dataset=None, subset=None,
        test_subset=None, inference_repeats: int | None = None, analyses=None, stand_in: dict | None = None,
        tune: bool = False, until_decided: bool = False, max_seeds: int | None = None, budget=None, sizes=None,
        device="auto",
        data_dir=None, download: bool = True, executor: str = "local", workers: int | None = None,
        ray_address=None, cpus_per_run=None, report: bool = True, progress=True, **train_settings) -> StudyResult:
    """Run a study like `cnnlab run` and return its results.

    `study`: a built-in study's name (`cnnlab studies`), the path of a .toml study file, a dict
    with a study file's content (whose models' names may be classes or factories of your own),
    or a loaded `cnnlab.studies.Study`. `profile`: "full" (the study's own settings) or "quick"
    (its [profiles.quick] table). `epochs`, `seeds` (a count, or a list of seeds), `dataset`,
    `subset`, `test_subset`, `inference_repeats`, `analyses` (a list of names) and `stand_in`
    ({"mnist": "mnist-small"}: replace one dataset) override the profile, and so do the training
    settings `cnnlab run` takes (`precision`, `grad_clip`, `cuda_graphs`: cnnlab.settings) over
    the study's [train] table. `tune=True` (--tune) first searches each model's settings on a validation split and
    compares the models at their own best ones (results in OUT/studies/<name>-tuned).
    `until_decided=True` (--until-decided) then adds seeds where comparisons are still open, up to
    `max_seeds` per model and within `budget` ("30m", "2h" or seconds) for the whole call.
    `sizes=[1000, 3500, 10000]` (--sizes) runs the study at each training subset, each into
    OUT/studies/<name>@<n>, and returns the largest (its report sets the verdicts of every size
    side by side); the rest
    are `cnnlab run`'s options (`download=False` is --offline, `progress`
    True, "lines" or False). Finished runs are reused and interrupted ones resumed, as on the
    command line, and workers and threads per run follow the same policy, so the two share runs.
    """
    from cnnlab.studies.loader import Study, load_study
    from cnnlab.studies.option_names import PYTHON
    from cnnlab.studies.options import RunOptions, StudyOptions, sized_study
    from cnnlab.studies.until_decided import planned, until_decided_options

    started = time.time()
    until = until_decided_options(until_decided, max_seeds, budget, PYTHON, tune=tune)
    verbosity, quiet = _progress(progress)
    size = StudyOptions(profile=profile, epochs=epochs, seeds=seeds, dataset=dataset, subset=subset,
                        test_subset=test_subset, inference_repeats=inference_repeats, analyses=analyses,
                        stand_in=stand_in, tune=tune, train=train_settings or None)
    options = RunOptions(device=device, data_dir=data_dir, download=download, executor=executor, workers=workers,
                         ray_address=ray_address, cpus_per_run=cpus_per_run, report=report, verbosity=verbosity)
    loaded = study if isinstance(study, Study) else _study_from_dict(study) if isinstance(study, dict) else \
        load_study(study)
    flags = size.run_flags()
    command = None
    if not isinstance(study, (Study, dict)) and flags is not None:  # the same study on the command line
        import shlex

        words = ["cnnlab", "run", str(study), *flags, "--out", str(out)]
        if until is not None:
            words += ["--until-decided", "--max-seeds", str(until.max_seeds)]
            words += ["--budget", f"{until.budget_seconds:g}s"] if until.budget_seconds is not None else []
        words += ["--data-dir", str(data_dir)] if data_dir is not None else []
        words += [] if download else ["--offline"]
        command = shlex.join(words)
    from cnnlab.studies.runner import EQUIVALENT_COMMAND

    token = EQUIVALENT_COMMAND.set(command)
    try:
        sized = planned(sized_study(loaded, size, PYTHON), until, PYTHON)
        if sizes is None:
            return _run_study(sized, out, options, quiet, until, started)
        from cnnlab.studies.options import at_sizes

        if until is not None or subset is not None:
            raise UserError(f"sizes= sets the training subset of each run: it does not combine with "
                            f"{'until_decided=' if until is not None else 'subset='}")
        grown = at_sizes(sized, sizes, PYTHON)
        quiet_options = dataclasses.replace(options, report=False)
        for smaller in grown[:-1]:
            _run_study(smaller, out, quiet_options, quiet)
        result = _run_study(grown[-1], out, quiet_options, quiet)
        if options.report:
            from cnnlab.report import render_report
            from cnnlab.studies.runner import study_dir

            for each in grown:
                render_report(study_dir(out, each.folder))
        return result
    finally:
        EQUIVALENT_COMMAND.reset(token)


@_boundary(settings.TRAIN_COMMAND)
def train_model(model, dataset: str = "mnist-small", *, epochs: int = 5, seed: int = 0, out="runs",
                subset=None, test_subset=None, inference_repeats: int | None = None, analyses=None, device="auto",
                data_dir=None, download: bool = True, executor: str = "local", workers: int | None = None,
                ray_address=None, cpus_per_run=None, report: bool = True, progress=True,
                **train_settings) -> StudyResult:
    """Train one model on one dataset, like `cnnlab train`: a one-run study.

    `model`: a registered name, your own as "nets.py:TinyNet", or a class or factory itself (a
    class is built as Cls(in_shape=..., num_classes=..., **kwargs) when it takes those, else
    Cls(**kwargs); its runs are keyed by its source file, or by its compiled code when it has none).
    `train_settings` are the training settings `cnnlab train` takes (batch_size, lr, optimizer,
    schedule, weight_decay, grad_clip, precision, ...: cnnlab.settings, `cnnlab settings`);
    `analyses` default to the cheap ones `cnnlab train` runs (plus grad_flow with
    grad_flow_every); the rest are as in `run`.
    """
    from cnnlab.studies.loader import single_run_study
    from cnnlab.studies.option_names import PYTHON
    from cnnlab.studies.options import RunOptions, StudyOptions, sized_study

    verbosity, quiet = _progress(progress)
    size = StudyOptions(epochs=epochs, subset=subset, test_subset=test_subset, inference_repeats=inference_repeats,
                        analyses=analyses)
    options = RunOptions(device=device, data_dir=data_dir, download=download, executor=executor, workers=workers,
                         ray_address=ray_address, cpus_per_run=cpus_per_run, report=report, verbosity=verbosity)
    if not isinstance(model, str):  # a class or factory of your own, handed over directly
        from cnnlab.models.user_code import register_object

        model, _ = register_object(model)
    study = single_run_study(model, dataset, seed, train_settings, PYTHON)
    return _run_study(sized_study(study, size, PYTHON), out, options, quiet)


def _study_from_dict(raw: dict):
    """A study given as a dict with a study file's content; a model's `name` may be a class or
    factory of your own (cnnlab.models.user_code.register_object), a relative file.py:Name is
    relative to the current folder."""
    from cnnlab.models.user_code import register_object
    from cnnlab.studies.loader import parse_study

    models = raw.get("models")
    if isinstance(models, list):
        models = [{**m, "name": register_object(m["name"])[0]} if isinstance(m, dict) and "name" in m
                  and not isinstance(m["name"], str) else m for m in models]
        raw = {**raw, "models": models}
    return parse_study(raw, str(Path.cwd() / f"{raw.get('name', 'study')}.toml"))


def _run_study(study, out, options, quiet: bool | None, until=None, started: float | None = None) -> StudyResult:
    """Run a sized study as the command line does; a RunProgress shows its runs unless `quiet` is None.
    `until`: --until-decided's limits, counted from `started`."""
    from cnnlab.console import RunProgress
    from cnnlab.studies.option_names import PYTHON
    from cnnlab.studies.runner import run_study, study_dir

    bar = RunProgress(quiet=quiet) if quiet is not None else None
    callbacks = dict(on_run=bar.run_done if bar else None,
                     on_start=(lambda specs, data: bar.start(specs)) if bar else None)
    started = time.time() if started is None else started
    try:
        info = run_study(study, out, options, names=PYTHON, **callbacks)
        if until is not None:
            from cnnlab.report import render_report
            from cnnlab.studies.until_decided import Look, keep_deciding

            directory = study_dir(out, study.folder)
            keep_deciding([Look(study, directory, info, time.time() - started)],
                          lambda grown: run_study(grown, out, options, names=PYTHON, **callbacks), until, started,
                          on_message=bar.message if bar else (lambda line: None),
                          render=render_report if options.report else None)
    finally:
        if bar:
            bar.close()
    return StudyResult(study_dir(out, study.folder))
