"""The study driver: validate everything, run every (model, seed), index them, write the report.

    OUT/index.sqlite                  one row per run, across studies
    OUT/runs/<run_key>/               one run (see cnnlab.store.rundir)
    OUT/studies/<name>/study.json     the resolved study, its run keys and a manifest
    OUT/studies/<name>/report.md|html

Nothing is written until the study, its dataset and every model have been checked, so a
mistake costs no training and leaves no half-made output directory. Runs go to an
executor, which hands back each run's summary; this driver is the only writer of the
index and of study.json.
"""

import os
import platform
import sys
import time
from pathlib import Path

import torch

from cnnlab import __version__
from cnnlab.errors import UserError, say
from cnnlab.fingerprint import code_fingerprint, git_provenance
from cnnlab.io import atomic_write_json, remove_temp_files
from cnnlab.store.index import RUNS_DIR, finished_at, open_index
from cnnlab.store.records import SCHEMA_VERSION
from cnnlab.store.rundir import RunDir
from cnnlab.studies.execute import blocked_reason, load_run_data, reuse_problem
from cnnlab.studies.executors import default_threads, default_workers, make_executor, make_job, runs_per_device
from cnnlab.studies.loader import Study
from cnnlab.studies.plan import plan_runs, resolve_train
from cnnlab.train.device import cpu_model, device_name, resolve_device


def study_dir(out_dir, name: str) -> Path:
    return Path(out_dir) / "studies" / name


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


def check_run_options(executor: str, workers: int | None, cpus_per_run: int | None):
    """The options of `cnnlab run` that are not part of a study, for the command line and
    the Python API alike (--inference-repeats is a study setting: `Study.with_overrides`)."""
    for flag, value, hi in (("--workers", workers, MAX_WORKERS), ("--cpus-per-run", cpus_per_run, MAX_CPUS_PER_RUN)):
        if value is None:
            continue  # not given: the default
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= hi:
            raise UserError(f"{flag} must be an integer in [1, {hi:,}], got {value!r}")
    if executor == "ray" and workers is not None and workers > 1:
        raise UserError("--workers is for --executor local; Ray schedules as many runs as the cluster has room for")


def check_out_dir(out_dir, study_name: str):
    """The output directory can be created and written, and what the run will write into
    it is not blocked by a file of the same name."""
    text = str(out_dir)
    if not text.strip():
        raise UserError("--out is empty; give a directory (e.g. --out runs, or --out . for this one)")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise UserError(f"--out {text!r} is not valid UTF-8; choose a name of UTF-8 characters") from None
    out = Path(out_dir)
    for path in (out, out / RUNS_DIR, out / "studies", study_dir(out, study_name)):
        if path.exists() and not path.is_dir():
            raise UserError(f"--out {out}: {path} exists and is not a directory")
    existing = next(p for p in (out, *out.absolute().parents) if p.exists())
    if not existing.is_dir():
        raise UserError(f"--out {out}: {existing} is a file, not a directory")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise UserError(f"--out {out}: {existing} is not writable")


def run_study(study: Study, out_dir, device="auto", data_dir=None, download: bool = True,
              verbosity: str = "auto", inference_repeats: int | None = None, on_start=None, on_run=None,
              report: bool = True, executor: str = "local", workers: int | None = None, ray_address=None,
              cpus_per_run: int | None = None, on_message=say) -> dict:
    """Run (or resume, or reuse) every run of `study` under `out_dir`; return study.json's content.

    `executor`/`workers`/`ray_address` choose where runs execute (see executors.py); without
    `workers`, runs go one at a time on the CPU and several share each GPU
    (`executors.default_workers`). `cpus_per_run` fixes each run's CPU threads (default: the
    cores shared among workers); `inference_repeats` (default: the study's own) sets the
    timed passes of inference timing.
    `on_start(specs, data)` is called once everything is validated, before the first run;
    `on_run(i, n, summary)` after each run, in the order runs finish; `on_message(text)`
    hears why a finished run is run again (damaged records).
    """
    started = time.time()
    check_run_options(executor, workers, cpus_per_run)
    if inference_repeats is not None:
        study = study.with_overrides(inference_repeats=inference_repeats)
    check_out_dir(out_dir, study.name)
    device = resolve_device(device)
    data = load_run_data(study.dataset, study.subset, study.test_subset, data_dir, download)
    check_models(study, data)
    if workers is None:
        workers = default_workers(executor, device, data, study.run_count)
    threads = cpus_per_run or default_threads(executor, workers)
    specs = plan_runs(study, device, n_train=len(data.train_labels), threads=threads)
    sharing = runs_per_device(executor, workers, device)
    in_process = executor == "local" and workers == 1
    executor_label = "ray" if executor == "ray" else (f"local, {workers} workers" if workers > 1 else "local")
    # Validated, and the executor is reachable, before anything is written.
    runner = make_executor(executor, workers, ray_address, threads, device,
                           data=data.to(device) if in_process else None, verbosity=verbosity)
    if on_start:
        on_start(specs, data)

    out_dir = Path(out_dir)
    directory = study_dir(out_dir, study.name)
    shared_train = resolve_train(study, {}, study.seeds[0], device, len(data.train_labels))
    shared_train.pop("seed")

    def write_study_json(summaries, finished):
        """Rewritten after every run, so `cnnlab report` works on a study still running."""
        status = {summary["run_key"]: summary["status"] for summary in summaries}
        runs = [{"run_key": spec.key, "model": spec.model, "label": spec.label, "seed": spec.seed,
                 "status": status.get(spec.key, "pending")} for spec in specs]
        info = {"schema": SCHEMA_VERSION, **study.to_dict(), "train": shared_train, "runs": runs,
                "manifest": study_manifest(data, device, shared_train["precision"], started, summaries, finished,
                                           threads=threads, executor=executor_label)}
        atomic_write_json(directory / "study.json", info)
        return info

    summaries = []
    remove_temp_files(directory)  # of writes a kill interrupted; the real files are whole
    with open_index(out_dir, on_message=on_message) as index:
        write_study_json(summaries, finished=False)

        def record(summary):
            run_path = out_dir / RUNS_DIR / summary["run_key"]
            summary["run_dir"] = f"{RUNS_DIR}/{summary['run_key']}"  # relative: the output directory can move
            summary["updated_at"] = finished_at(run_path)
            index.upsert(summary)
            summaries.append(summary)
            write_study_json(summaries, finished=False)
            if on_run:
                on_run(len(summaries), len(specs), summary)

        jobs = []
        for spec in specs:
            run = RunDir(out_dir / RUNS_DIR / spec.key)
            record_on_disk = run.load()
            problem = reuse_problem(spec, record_on_disk)
            if problem is None:
                record({**record_on_disk.summary(), "label": spec.label, "cached": True, "resumed_from": 0})
                continue
            blocked = blocked_reason(run)
            if problem or blocked:
                on_message(f"{spec.name} ({spec.key}): {blocked or problem + '; running it again'}")
            jobs.append(make_job(spec, run.path, device, data_dir, download, study.inference_repeats, threads,
                                 sharing))
        for summary in runner.run(jobs):
            record(summary)
    info = write_study_json(summaries, finished=True)
    if report:
        from cnnlab.report import render_report

        info["report"] = [str(p) for p in render_report(directory)]
    return info


def study_manifest(data, device, precision: str, started: float, summaries: list[dict], finished: bool,
                   threads: int | None = None, executor: str = "local") -> dict:
    """What the numbers depend on: code, software versions, hardware, data, and when it ran."""
    now = time.time()
    return {
        "cnnlab_version": __version__,
        "code": code_fingerprint(),
        "git": git_provenance(),
        "torch_version": torch.__version__,
        "python_version": platform.python_version(),
        "platform": platform.platform(),
        "device": device_name(device),
        "device_type": device.type,
        "cpu_model": cpu_model(),
        "threads": threads or torch.get_num_threads(),  # per run
        "executor": executor,
        "precision": precision,
        "dataset": data.name,
        "dataset_source": data.source,
        "train_size": len(data.train_labels),
        "test_size": len(data.test_labels),
        "in_shape": list(data.in_shape),
        "num_classes": data.num_classes,
        "runs_trained": sum(not s["cached"] for s in summaries),
        "runs_cached": sum(bool(s["cached"]) for s in summaries),
        "wall_clock_seconds": now - started,
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(started)),
        "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(now)) if finished else None,
        "command": " ".join(["cnnlab", *sys.argv[1:]]) if sys.argv and "cnnlab" in sys.argv[0] else None,
    }
