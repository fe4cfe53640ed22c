"""The measurements taken after a run has trained, stored in its analysis.json.

Always: parameter count, forward MACs/FLOPs per image, total training time, device,
precision, how the steps ran and how many runs shared the device. Then each analysis the
study asks for (cnnlab.plugins), stored under its name as its `measure` returns it. A
diverged model's outputs are not numbers, so only the analyses that read the training
history (`after_divergence`) are measured for it.

Every measurement that runs the model gets the run's own precision (autocast dtype and
memory layout) and input pipeline through `RunContext`: the confusion matrix is computed
by the same `evaluate` that measured test accuracy, so the two agree exactly.
"""

from dataclasses import dataclass, field
from pathlib import Path

from cnnlab.data.core import ImageData
from cnnlab.plugins import get_analysis
from cnnlab.store.schema import DIVERGED_EPOCH, check_analysis


@dataclass
class RunContext:
    """What an analysis's `measure` gets: the trained model and everything about its run."""
    model: object  # torch.nn.Module, trained, on `device`
    data: ImageData  # the run's data (subset applied), on `device`
    config: object  # the run's TrainConfig
    history: object  # the trainer's History (epochs, per-step logs, status)
    device: object  # torch.device
    precision: object  # cnnlab.train.Precision: autocast dtype and memory layout
    inputs: object  # cnnlab.train.Inputs: uint8 images -> model inputs, as in training
    run_dir: Path
    inference_repeats: int = 30
    recorders: dict = field(default_factory=dict)  # analysis name -> its training callback


def training_recorders(analyses, config) -> dict:
    """The callbacks that record while the run trains, one per analysis that has one."""
    out = {}
    for name in analyses:
        make = get_analysis(name).recorder
        if make is not None:
            out[name] = make(config)
    return out


def analysis_train_settings(analyses, config, total_steps: int) -> dict:
    """Training settings the analyses need (e.g. how often gradient flow is logged); they are
    part of the run's config, so of its key."""
    changes = {}
    for name in analyses:
        settings = get_analysis(name).train_settings
        if settings is not None:
            changes.update(settings(config, total_steps))
    return changes


def run_analyses(model, data: ImageData, config, history, recorders: dict, analyses, device, run_dir,
                 inference_repeats: int = 30, sharing: int | None = 1) -> dict:
    """`config`: the run's TrainConfig; `history`: the trainer's History; `recorders`: the
    callbacks of `training_recorders`, as used in training; `sharing`: how many runs could
    use the device at once. Returns analysis.json's content, checked against the schema."""
    from cnnlab.models.cost import count_flops, param_counts
    from cnnlab.train.inputs import Inputs
    from cnnlab.train.precision import resolve_precision

    precision = resolve_precision(config.precision, device)
    flops = count_flops(model, data.in_shape)
    out = {
        "params": param_counts(model),
        "macs": flops["macs"],
        "flops": flops["flops"],
        "train_seconds": sum(row["train_seconds"] for row in history.epochs),
        "device": history.device,
        "precision": precision.name,
        "step_mode": history.step_mode,
        # Times (epochs, latency) measured while other runs shared the device are not
        # comparable with times measured alone: the report says which were.
        "sharing": {"runs_per_device": sharing},
    }
    if history.status == "diverged":
        out[DIVERGED_EPOCH] = history.diverged_epoch
    run = RunContext(model=model, data=data, config=config, history=history, device=device, precision=precision,
                     inputs=Inputs(data, precision, device, config), run_dir=Path(run_dir),
                     inference_repeats=inference_repeats, recorders=recorders)
    for name in analyses:
        analysis = get_analysis(name)
        if history.status == "done" or analysis.after_divergence:
            out[name] = analysis.measure(run)
    return check_analysis(out, analyses, history.status)
