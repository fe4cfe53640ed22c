"""The study driver: validate everything, run every (model, seed), index them, write the report.

    OUT/index.sqlite                  one row per run, across studies
    OUT/runs/<run_key>/               one run (see cnnlab.store.rundir)
    OUT/studies/<name>/study.json     the resolved study, its run keys and a manifest
    OUT/studies/<name>/report.md|html
    OUT/studies/<name>-tuned/         the same study with --tune (study.json also holds its tuning)

`run_study` goes in steps, each a function of its own:

    plan_study      check the options, output directory, dataset and every model, and decide
                    the runs, their keys and how they execute (cnnlab.studies.policy): a
                    `StudyPlan`. Nothing is written, so a mistake costs no training and
                    leaves no half-made output directory.
    start_executor  the executor, reachable (a Ray cluster answers) before anything is written
    run_tuning      with --tune only: every tuning run (trained on a validation split of the
                    training images, scored on the split), each model's best setting chosen,
                    and the evaluation runs planned at those settings (cnnlab.studies.tune_runs)
    split_reused      the one reuse decision: finished runs are served, the others become jobs
    execute         every run's summary, reused ones first, then as the executor's runs finish
    record          index a run and rewrite study.json (whose content `study_json` alone builds)

Runs go to an executor, which hands back each run's summary; this driver is the only writer
of the index and of study.json. `cnnlab run all` (run_all.py) plans every study first, then
runs each plan through the same steps (`run_plan`).
"""

import contextvars
import dataclasses
import os
import platform
import sys
import time
from pathlib import Path

import torch

from cnnlab.version import __version__
from cnnlab.choices import EXECUTORS
from cnnlab.errors import UserError, say
from cnnlab.fingerprint import code_fingerprint, git_provenance
from cnnlab.io import atomic_write_json, remove_temp_files
from cnnlab.store.index import finished_at, open_index
from cnnlab.store.rundir import RunDir
from cnnlab.store.schema import (RUNS_DIR, STUDIES_DIR, STUDY_FILE, Manifest, RunConfig, RunEntry, StudyRecord,
                                 TuningRecord, read_study)
from cnnlab.studies.run_one import blocked_reason, load_run_data, reused_summary
from cnnlab.studies.executors import make_executor, make_job
from cnnlab.studies.loader import Study
from cnnlab.studies.option_names import CLI, Names
from cnnlab.studies.options import RunOptions
from cnnlab.studies.plan import plan_runs, resolve_train
from cnnlab.studies.policy import Parallelism, parallelism_for
from cnnlab.studies.tune_spec import TuneSpec
from cnnlab.studies.tune_runs import plan_tuning, select, tuned_study, validation_data
from cnnlab.train.device import cpu_model, device_name, resolve_device


def study_dir(out_dir, name: str) -> Path:
    return Path(out_dir) / STUDIES_DIR / name


# Bounds of the run options, far above real use: a typo fails here, not as a fork bomb,
# a thread count that overflows, or an inference timing that never ends.
MAX_WORKERS = 256
MAX_CPUS_PER_RUN = 1024


def check_models(study: Study, data):
    """Build every model for this dataset's input shape and pass one image through it (on
    the meta device: no memory, no time): a model that cannot take these images (too small
    for its pooling, bad arguments) fails here, before anything is written."""
    from cnnlab.models import check_model

    for i, model in enumerate(study.models):
        try:
            check_model(model.name, data.in_shape, data.num_classes, **model.kwargs)
        except ValueError as e:
            raise UserError(f"{study.source}: key 'models[{i}]': model {model.name!r} cannot be built "
                            f"for {data.name} images {'x'.join(map(str, data.in_shape))}: {e}") from None


def check_run_options(options: RunOptions, names: Names = CLI):
    """The options of a run that are not part of a study, whoever gives them (the study's
    size is checked by `Study.with_overrides`)."""
    if options.executor not in EXECUTORS:
        raise UserError(names.explain("executor", f"unknown executor {options.executor!r}; valid: "
                                                  f"{', '.join(EXECUTORS)}"))
    for option, hi in (("workers", MAX_WORKERS), ("cpus_per_run", MAX_CPUS_PER_RUN)):
        value = getattr(options, option)
        if value is None:
            continue  # not given: the policy's
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= hi:
            raise UserError(names.explain(option, f"must be an integer in [1, {hi:,}], got {value!r}"))
    if options.executor == "ray" and options.workers is not None and options.workers > 1:
        raise UserError(names.explain("workers", f"is for {names.given('executor', 'local')}; Ray schedules as "
                                                 "many runs as the cluster has room for"))


def check_subsets(study, data, names: Names = CLI):
    """A subset larger than the dataset would train on all of it under another run key: say so."""
    for option, wanted, have, what in (("subset", study.subset, len(data.train_labels), "training"),
                                       ("test_subset", study.test_subset, len(data.test_labels), "test")):
        if wanted is not None and wanted > have:  # from a flag, a keyword or the study file: named for all three
            raise UserError(f"{option} {wanted:,} asks for {wanted:,} {what} images, but {study.dataset} has {have:,} "
                            f"({names(option)} or the study's {option}); give at most {have:,}, or leave it out for "
                            "all of them")


def check_out_dir(out_dir, study_name: str, names: Names = CLI):
    """The output directory can be created and written, and what the run will write into
    it is not blocked by a file of the same name."""
    text = str(out_dir)
    if not text.strip():
        raise UserError(names.explain("out", f"is empty; give a directory (e.g. {names.given('out', 'runs')}, or "
                                             f"{names.given('out', '.')} for this one)"))
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise UserError(names.explain("out", f"{text!r} is not valid UTF-8; choose a name of UTF-8 "
                                             "characters")) from None
    out = Path(out_dir)
    for path in (out, out / RUNS_DIR, out / STUDIES_DIR, study_dir(out, study_name)):
        if path.exists() and not path.is_dir():
            raise UserError(names.explain("out", f"{path} exists and is not a directory", value=out))
    existing = next(p for p in (out, *out.absolute().parents) if p.exists())
    if not existing.is_dir():
        raise UserError(names.explain("out", f"{existing} is a file, not a directory", value=out))
    if not os.access(existing, os.W_OK | os.X_OK):
        raise UserError(names.explain("out", f"{existing} is not writable", value=out))


@dataclasses.dataclass
class StudyPlan:
    """A study checked and decided: everything needed to run it, nothing written yet."""

    study: Study
    out_dir: Path
    options: RunOptions
    device: torch.device
    data: object  # the run's dataset (cnnlab.data.ImageData), subsets applied
    specs: list[RunConfig]  # one per (model, seed), in study order (a tuned study's: after run_tuning)
    parallel: Parallelism  # runs at once, threads each, runs sharing a device
    shared_train: dict  # the resolved training settings every run shares (study.json's "train")
    started: float  # when the study started, for its wall-clock
    looks: tuple[int, ...] = ()  # seeds per model at each look at the study's results (seed_looks)
    plan_seeds: int | None = None  # the most seeds per model its verdicts plan for, fixed at the first look
    search: TuneSpec | None = None  # with --tune: the search every model gets
    tuning_runs: list[RunConfig] = dataclasses.field(default_factory=list)  # its tuning runs, in study order
    tuning_data: object = None  # what they train and are scored on: the validation split of `data`
    tuning_record: TuningRecord | None = None  # what the search chose (run_tuning)
    tuning_summaries: list[dict] = dataclasses.field(default_factory=list)  # of the tuning runs

    @property
    def directory(self) -> Path:
        return study_dir(self.out_dir, self.study.folder)

    @property
    def executor_label(self) -> str:
        if self.options.executor == "ray":
            return "ray"
        return f"local, {self.parallel.workers} workers" if self.parallel.workers > 1 else "local"


def plan_study(study: Study, out_dir, options: RunOptions = RunOptions(), names: Names = CLI,
               data=None) -> StudyPlan:
    """Check everything that can be checked before writing (options, output directory,
    device, dataset, every model) and decide the runs: their configs and keys, workers and
    threads per run (cnnlab.studies.policy). `data`: the study's dataset if the caller
    loaded it already (subsets applied). Writes nothing."""
    started = time.time()
    check_run_options(options, names)
    check_out_dir(out_dir, study.folder, names)
    device = resolve_device(options.device)
    if data is None:
        data = load_run_data(study.dataset, study.subset, study.test_subset, options.data_dir, options.download)
    check_subsets(study, data, names)
    check_models(study, data)
    tune = study.search if study.tuned else None
    parallel = parallelism_for(study.profile, device, options.executor, options.workers, options.cpus_per_run, data,
                      study.run_count + study.tune_run_count)
    specs = plan_runs(study, device, n_train=len(data.train_labels), threads=parallel.threads)
    shared_train = resolve_train(study, {}, study.seeds[0], device, len(data.train_labels))
    shared_train.pop("seed")
    looks, plan_seeds = seed_looks(study_dir(out_dir, study.folder) / STUDY_FILE, study, shared_train)
    plan = StudyPlan(study=study, out_dir=Path(out_dir), options=options, device=device, data=data, specs=specs,
                     parallel=parallel, shared_train=shared_train, started=started, looks=looks,
                     plan_seeds=plan_seeds)
    if tune is None:
        return plan
    tune_data = validation_data(data, tune)
    tune_specs = plan_tuning(study, tune, device, n_train=len(tune_data.train_labels), threads=parallel.threads)
    # The evaluation runs wait for the choice of each model's setting (run_tuning).
    return dataclasses.replace(plan, specs=[], search=tune, tuning_runs=tune_specs, tuning_data=tune_data)


def start_executor(plan: StudyPlan, data=None):
    """The executor for the plan's runs (`data`: theirs, when not the plan's: a tuning run's
    validation split); a Ray cluster is joined here, so one that does not answer fails the
    study before anything is written."""
    in_process = plan.options.executor == "local" and plan.parallel.workers == 1
    data = plan.data if data is None else data
    return make_executor(plan.options.executor, plan.parallel.workers, plan.options.ray_address,
                         plan.parallel.threads, plan.device, data=data.to(plan.device) if in_process else None,
                         verbosity=plan.options.verbosity)


def split_reused(plan: StudyPlan, on_message=say, specs=None) -> tuple[list[dict], list[dict]]:
    """The one reuse decision (cnnlab.studies.run_one.reused_summary) for every run of the
    plan (or `specs`): the summaries of runs already finished, and a job for each of the
    others (a finished run whose records are damaged is run again, and `on_message` hears why)."""
    reused, jobs = [], []
    for spec in plan.specs if specs is None else specs:
        run = RunDir(plan.out_dir / RUNS_DIR / spec.key)
        blocked = blocked_reason(run)
        if blocked:  # the run fails without training; say why once, here
            on_message(f"{spec.name} ({spec.key}): {blocked}")
        else:
            summary = reused_summary(spec, run, on_message)
            if summary is not None:
                reused.append(summary)
                continue
        jobs.append(make_job(spec, run.path, plan.device, plan.options.data_dir, plan.options.download,
                             plan.study.inference_repeats, plan.parallel.threads, plan.parallel.sharing))
    return reused, jobs


def execute(plan: StudyPlan, executor, on_message=say, specs=None):
    """Every run's summary (of the plan's runs, or `specs`): the reused ones first, then each
    executed run's as it finishes."""
    reused, jobs = split_reused(plan, on_message, specs)
    yield from reused
    yield from executor.run(jobs)


def run_tuning(plan: StudyPlan, on_start=None, on_run=None, on_message=say) -> StudyPlan:
    """The search of a tuned study (cnnlab.studies.tune_runs): every tuning run trained or reused on
    the validation split and indexed, each model's setting chosen from them; returns the plan of
    the evaluation runs, each model at its chosen setting. Only `plan.tuning_data` is handed to
    the runs and the choice reads only their summaries: the test images are never read here.
    `on_start(specs, data)` and `on_run(i, n, summary)` hear of the tuning runs as of any."""
    executor = start_executor(plan, plan.tuning_data)
    if on_start:
        on_start(plan.tuning_runs, plan.tuning_data)
    summaries = []
    with open_index(plan.out_dir, on_message=on_message) as index:
        for summary in execute(plan, executor, on_message, specs=plan.tuning_runs):
            index_run(plan, index, summary)
            summaries.append(summary)
            if on_run:
                on_run(len(summaries), len(plan.tuning_runs), summary)
    record = select(plan.study, plan.search, plan.tuning_runs, summaries, train_size=len(plan.tuning_data.train_labels),
                    validation_size=len(plan.tuning_data.test_labels))
    study = tuned_study(plan.study, record)
    specs = plan_runs(study, plan.device, n_train=len(plan.data.train_labels), threads=plan.parallel.threads)
    return dataclasses.replace(plan, study=study, specs=specs, tuning_record=record, tuning_summaries=summaries)


def study_json(plan: StudyPlan, summaries: list[dict], finished: bool) -> dict:
    """study.json's content: the resolved study, every run's key and status so far, and the
    manifest of this invocation."""
    status = {summary["run_key"]: summary["status"] for summary in summaries}
    runs = [RunEntry(run_key=spec.key, model=spec.model, label=spec.label, seed=spec.seed,
                     status=status.get(spec.key, "pending")) for spec in plan.specs]
    manifest = study_manifest(plan.data, plan.device, plan.shared_train["precision"], plan.started,
                              [*plan.tuning_summaries, *summaries], finished, threads=plan.parallel.threads,
                              executor=plan.executor_label, code=plan.specs[0].code)
    return StudyRecord.from_study(plan.study.to_dict(), plan.shared_train, runs, manifest, plan.looks,
                                  tuning=plan.tuning_record, plan_seeds=plan.plan_seeds).to_json()


def write_study_json(plan: StudyPlan, summaries: list[dict], finished: bool) -> dict:
    info = study_json(plan, summaries, finished)
    atomic_write_json(plan.directory / STUDY_FILE, info)
    return info


def index_run(plan: StudyPlan, index, summary: dict):
    """One finished run into OUT/index.sqlite."""
    summary["run_dir"] = f"{RUNS_DIR}/{summary['run_key']}"  # relative: the output directory can move
    summary["updated_at"] = finished_at(plan.out_dir / RUNS_DIR / summary["run_key"])
    index.upsert(summary)


def record(plan: StudyPlan, index, summaries: list[dict], summary: dict) -> dict:
    """Index one finished run and rewrite study.json with it, so that `cnnlab report` works
    on a study still running; returns study.json's content."""
    index_run(plan, index, summary)
    summaries.append(summary)
    return write_study_json(plan, summaries, finished=False)


def run_plan(plan: StudyPlan, on_start=None, on_run=None, on_message=say) -> dict:
    """Run (or resume, or reuse) every run of a plan, a tuned study's search first; return
    study.json's content (with "report": its paths, when the plan's options ask for the report)."""
    if plan.search is not None and plan.tuning_record is None:
        plan = run_tuning(plan, on_start, on_run, on_message)
    executor = start_executor(plan)
    if on_start:
        on_start(plan.specs, plan.data)
    summaries = []
    remove_temp_files(plan.directory)  # of writes a kill interrupted; the real files are whole
    with open_index(plan.out_dir, on_message=on_message) as index:
        write_study_json(plan, summaries, finished=False)
        for summary in execute(plan, executor, on_message):
            record(plan, index, summaries, summary)
            if on_run:
                on_run(len(summaries), len(plan.specs), summary)
    info = write_study_json(plan, summaries, finished=True)
    if plan.options.report:
        from cnnlab.report import render_report

        info["report"] = [str(p) for p in render_report(plan.directory)]
    return info


def run_study(study: Study, out_dir, options: RunOptions | None = None, *, names: Names = CLI, on_start=None,
              on_run=None, on_message=say, **fields) -> dict:
    """Run (or resume, or reuse) every run of `study` under `out_dir`; return study.json's content.

    `options` (or its fields as keywords: device, data_dir, download, executor, workers,
    ray_address, cpus_per_run, report, verbosity; cnnlab.studies.options.RunOptions) say
    where and how runs execute; what they leave open, the policy fills in
    (cnnlab.studies.policy). `names` words errors for the caller (option_names.CLI or PYTHON).
    `on_start(specs, data)` is called once everything is validated, before the first run;
    `on_run(i, n, summary)` after each run, in the order runs finish; `on_message(text)`
    hears why a finished run is run again (damaged records).
    """
    options = RunOptions(**fields) if options is None else dataclasses.replace(options, **fields)
    return run_plan(plan_study(study, out_dir, options, names), on_start, on_run, on_message)


# The `cnnlab run` command equal to a Python call (`cnnlab.run`), set for the call's duration.
EQUIVALENT_COMMAND: contextvars.ContextVar[str | None] = contextvars.ContextVar("cnnlab_command", default=None)


def invocation_command() -> str | None:
    """The command line of this invocation when it is `cnnlab`; for a Python call, the `cnnlab run`
    command that sizes the study the same way (EQUIVALENT_COMMAND), when there is one."""
    if sys.argv and "cnnlab" in sys.argv[0]:
        return " ".join(["cnnlab", *sys.argv[1:]])
    return EQUIVALENT_COMMAND.get()


def seed_looks(path: Path, study: Study, shared_train: dict) -> tuple[tuple[int, ...], int]:
    """Seeds per model at each look at this study's results, and the seeds its verdicts plan for:
    the earlier study.json's looks and plan when it is the same study (the same settings, its
    models all still there: a model added later does not make the earlier looks at the others
    unseen), plus this look if seeds were added. The plan is fixed at the first look: the study's
    `plan_seeds` (--until-decided's max), else the seeds of that look (cnnlab.stats.sequential)."""
    seeds = max(len(model.seeds(study.seeds)) for model in study.models)  # --until-decided: per model
    fresh = ((seeds,), study.plan_seeds or seeds)
    try:
        old = read_study(path)
    except UserError:
        return fresh
    same = (old.profile, old.dataset, old.epochs, old.subset, old.test_subset, old.train, list(old.analyses)) == (
        study.profile, study.dataset, study.epochs, study.subset, study.test_subset, shared_train,
        list(study.analyses))
    kept = {(m.name, m.label) for m in old.models} <= {(m.name, m.label) for m in study.models}
    if not same or not kept or not old.looks:
        return fresh
    return (old.looks if seeds <= old.looks[-1] else (*old.looks, seeds)), old.plan_seeds or old.looks[0]


def study_manifest(data, device, precision: str, started: float, summaries: list[dict], finished: bool,
                   threads: int | None = None, executor: str = "local", code: str | None = None) -> Manifest:
    """What the numbers depend on: code, software versions, hardware, data, and when it ran."""
    now = time.time()
    return Manifest(
        cnnlab_version=__version__,
        code=code or code_fingerprint(),
        git=git_provenance(),
        torch_version=torch.__version__,
        python_version=platform.python_version(),
        platform=platform.platform(),
        device=device_name(device),
        device_type=device.type,
        cpu_model=cpu_model(),
        threads=threads or torch.get_num_threads(),  # per run
        executor=executor,
        precision=precision,
        dataset=data.name,
        dataset_source=data.source,
        train_size=len(data.train_labels),
        test_size=len(data.test_labels),
        in_shape=list(data.in_shape),
        num_classes=data.num_classes,
        runs_trained=sum(not s["cached"] for s in summaries),
        runs_cached=sum(bool(s["cached"]) for s in summaries),
        wall_clock_seconds=now - started,
        started=time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(started)),
        finished=time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(now)) if finished else None,
        command=invocation_command(),
    )
