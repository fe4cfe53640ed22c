"""One run, start to finish: `execute_run(spec, run_dir, device)` returns its summary.

It writes only inside its own run directory and reads nothing shared, so runs can go to
worker processes as they are; the study driver (runner.py) alone writes the index and
study.json from the summaries.

- A run whose directory says `done` (or `diverged`) for the same config is not repeated.
- An interrupted run resumes: the trainer reloads checkpoint.pt (its last complete epoch).
- A run that raises is marked `failed` with the reason in error.txt; it never stops the others.
"""

import json
import time
import traceback
from pathlib import Path

import torch

from cnnlab import __version__
from cnnlab.store.rundir import FINAL_STATUSES, RunDir
from cnnlab.studies.plan import RunSpec


def load_run_data(dataset: str, subset: int | None, data_dir=None, download: bool = True):
    from cnnlab.data import load_dataset

    data = load_dataset(dataset, data_dir=data_dir, download=download)
    return data.subset(subset) if subset else data


def execute_run(spec: RunSpec, run_dir, device="auto", data=None, data_dir=None, download: bool = True,
                verbosity: str = "none", inference_repeats: int = 30) -> dict:
    """Train and analyse one run unless it is already finished; return its summary.

    `data`: the run's dataset (subset applied) if the caller has it loaded; otherwise it is
    loaded from `spec.dataset`, `spec.subset` and `data_dir`.
    """
    run = RunDir(run_dir)
    if is_finished(spec, run):
        return summarize(spec, run, cached=True)
    run.clear_status()
    run.write_config({**spec.config(), "cnnlab_version": __version__})
    resumed_from = run.checkpoint_epoch()
    try:
        status = _train_and_analyse(spec, run, device, data, data_dir, download, verbosity, inference_repeats)
    except Exception as e:  # a bug or bad input in one run must not stop the study
        run.write_error(f"{type(e).__name__}: {e}", traceback.format_exc())
        status = "failed"
    run.set_status(status)
    return summarize(spec, run, cached=False, resumed_from=resumed_from)


def is_finished(spec: RunSpec, run: RunDir) -> bool:
    """Done (or diverged) earlier with exactly this config: nothing to do."""
    return run.status() in FINAL_STATUSES and _same_config(run.config(), spec)


def _same_config(stored: dict | None, spec: RunSpec) -> bool:
    if not isinstance(stored, dict):
        return False
    stored = {k: v for k, v in stored.items() if k != "cnnlab_version"}
    return stored == json.loads(json.dumps(spec.config()))  # compare as JSON would store it


def _train_and_analyse(spec, run, device, data, data_dir, download, verbosity, inference_repeats) -> str:
    from cnnlab.analysis.grad_flow import GradFlowRecorder
    from cnnlab.models import create_model
    from cnnlab.studies.analyse import run_analyses
    from cnnlab.train import TrainConfig, resolve_device, train

    device = resolve_device(device)
    if data is None:
        data = load_run_data(spec.dataset, spec.subset, data_dir, download)
    config = TrainConfig.from_dict(spec.train)
    torch.manual_seed(spec.seed)  # the same seed gives the same initial weights
    model = create_model(spec.model, in_shape=data.in_shape, num_classes=data.num_classes, **spec.model_kwargs)
    grad_flow = GradFlowRecorder(every=config.grad_flow_every) if "grad_flow" in spec.analyses else None
    history = train(model, data, config, out_dir=run.path, resume=True,
                    callbacks=[grad_flow] if grad_flow else [], device=device, verbosity=verbosity, label=spec.name)
    analysis = run_analyses(model, data, config, history, grad_flow, spec.analyses, device, run.path,
                            inference_repeats=inference_repeats)
    if history.status == "diverged":
        analysis["diverged_epoch"] = history.diverged_epoch
    run.write_analysis(analysis)
    return history.status


def summarize(spec: RunSpec, run: RunDir, cached: bool = False, resumed_from: int = 0) -> dict:
    """A run's key figures (the index row) plus how this invocation got them."""
    metrics = run.metrics()
    final = metrics[-1] if metrics else {}
    analysis = run.analysis()
    params = analysis.get("params")
    train_seconds = analysis.get("train_seconds")
    if train_seconds is None and metrics:
        train_seconds = sum(row.get("train_seconds", 0.0) for row in metrics)
    return {
        "run_key": spec.run_key, "study": spec.study, "model": spec.model, "label": spec.label,
        "seed": spec.seed, "dataset": spec.dataset, "status": run.status(),
        "test_acc": final.get("test_acc"), "train_acc": final.get("train_acc"), "test_loss": final.get("test_loss"),
        "params": params.get("total") if isinstance(params, dict) else params,
        "macs": analysis.get("macs"), "train_seconds": train_seconds, "epochs": len(metrics),
        "updated_at": _finished_at(run), "run_dir": str(Path(run.path)),
        "error": run.error(), "cached": cached, "resumed_from": resumed_from,
    }


def _finished_at(run: RunDir) -> str | None:
    """When the run's status was written (local time), so a cached run keeps its date."""
    try:
        return time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime((run.path / "status").stat().st_mtime))
    except OSError:
        return None
