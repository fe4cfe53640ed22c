"""The study driver: validate everything, run every (model, seed), index them, write the report.

    OUT/index.sqlite                  one row per run, across studies
    OUT/runs/<run_key>/               one run (see cnnlab.store.rundir)
    OUT/studies/<name>/study.json     the resolved study, its run keys and a manifest
    OUT/studies/<name>/report.md|html

Nothing is written until the study, its dataset and every model have been checked, so a
mistake costs no training and leaves no half-made output directory. Runs go one after
another through `execute_run`, which touches only its own run directory; this driver is
the only writer of the index and of study.json.
"""

import platform
import sys
import time
from pathlib import Path

import torch

from cnnlab import __version__
from cnnlab.errors import UserError
from cnnlab.io import atomic_write_json
from cnnlab.store.index import open_index
from cnnlab.studies.execute import execute_run, load_run_data
from cnnlab.studies.loader import Study
from cnnlab.studies.plan import plan_runs, resolve_train
from cnnlab.train.device import cpu_model, device_name, resolve_device


def study_dir(out_dir, name: str) -> Path:
    return Path(out_dir) / "studies" / name


def check_models(study: Study, data):
    """Build every model once for this dataset's input shape: a model that cannot take
    these images (too small for its pooling, bad arguments) fails here, before training."""
    from cnnlab.models import create_model

    for i, model in enumerate(study.models):
        try:
            create_model(model.name, in_shape=data.in_shape, num_classes=data.num_classes, **model.kwargs)
        except (ValueError, TypeError) as e:
            raise UserError(f"{study.source}: key 'models[{i}]': model {model.name!r} cannot be built "
                            f"for {data.name} images {'x'.join(map(str, data.in_shape))}: {e}") from None


def run_study(study: Study, out_dir, device="auto", data_dir=None, download: bool = True,
              verbosity: str = "auto", inference_repeats: int = 30, on_start=None, on_run=None,
              report: bool = True) -> dict:
    """Run (or resume, or reuse) every run of `study` under `out_dir`; return study.json's content.

    `on_start(specs, data)` is called once everything is validated, before the first run;
    `on_run(i, n, summary)` after each run (the CLI prints a line for each).
    """
    started = time.time()
    device = resolve_device(device)
    data = load_run_data(study.dataset, study.subset, data_dir, download)
    check_models(study, data)
    specs = plan_runs(study, device, n_train=len(data.train_labels))
    if on_start:
        on_start(specs, data)
    on_device = data.to(device)  # once for the whole study, not once per run

    out_dir = Path(out_dir)
    directory = study_dir(out_dir, study.name)
    shared_train = resolve_train(study, {}, study.seeds[0], device, len(data.train_labels))
    shared_train.pop("seed")

    def write_study_json(summaries, finished):
        """Rewritten after every run, so `cnnlab report` works on a study still running."""
        runs = [{"run_key": spec.run_key, "model": spec.model, "label": spec.label, "seed": spec.seed,
                 "status": summaries[i]["status"] if i < len(summaries) else "pending"}
                for i, spec in enumerate(specs)]
        info = {**study.to_dict(), "train": shared_train, "runs": runs,
                "manifest": manifest(data, device, shared_train["precision"], started, summaries, finished)}
        atomic_write_json(directory / "study.json", info)
        return info

    summaries = []
    write_study_json(summaries, finished=False)
    with open_index(out_dir) as index:
        for i, spec in enumerate(specs, 1):
            summary = execute_run(spec, out_dir / "runs" / spec.run_key, device, data=on_device,
                                  verbosity=verbosity, inference_repeats=inference_repeats)
            summary["run_dir"] = f"runs/{spec.run_key}"  # relative: the output directory can move
            index.upsert(summary)
            summaries.append(summary)
            write_study_json(summaries, finished=False)
            if on_run:
                on_run(i, len(specs), summary)
    info = write_study_json(summaries, finished=True)
    if report:
        from cnnlab.report import render_report

        info["report"] = [str(p) for p in render_report(directory)]
    return info


def manifest(data, device, precision: str, started: float, summaries: list[dict], finished: bool) -> dict:
    """What the numbers depend on: software versions, hardware, data, and when it ran."""
    now = time.time()
    return {
        "cnnlab_version": __version__,
        "torch_version": torch.__version__,
        "python_version": platform.python_version(),
        "platform": platform.platform(),
        "device": device_name(device),
        "device_type": device.type,
        "cpu_model": cpu_model(),
        "threads": torch.get_num_threads(),
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
