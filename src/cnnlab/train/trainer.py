"""The training loop: data stays on the device as uint8, batches are index slices of a
per-epoch permutation, and augmentation and normalisation run on whole batches.

Every epoch draws its shuffling, augmentation and dropout randomness from generators
seeded by (seed, epoch), so a run resumed from a checkpoint replays exactly the epochs
that an uninterrupted run would.

The steps of an epoch run in `cnnlab.train.step_runner.StepRunner`: eagerly on the CPU, replayed
from a CUDA graph on a GPU.

Crash consistency: an epoch is committed by one atomic rename of checkpoint.pt, which
holds the model, the optimizer and every metrics row so far. metrics.jsonl is written
from it right after; a kill between the two leaves a checkpoint one epoch ahead, and the
resume rewrites metrics.jsonl from the checkpoint before it does anything else.
"""

import math
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn as nn

from cnnlab.data.core import ImageData
from cnnlab.io import atomic_torch_save, load_checkpoint, remove_temp_files
from cnnlab.store.schema import CHECKPOINT_FILE, METRICS_FILE, metrics_row, metrics_text, stable_hash
from cnnlab.store.rundir import RunDir
from cnnlab.train.config import TrainConfig
from cnnlab.train.device import resolve_device, synchronize
from cnnlab.train.inputs import Inputs
from cnnlab.train.optim import make_optimizer, make_scheduler
from cnnlab.train.precision import resolve_precision
from cnnlab.train.progress import Progress
from cnnlab.train.passes import evaluate
from cnnlab.train.step_runner import StepRunner, lr_schedule


@dataclass
class History:
    epochs: list[dict] = field(default_factory=list)  # one metrics row per finished epoch
    status: str = "running"  # "done" or "diverged"
    diverged_epoch: int | None = None
    device: str = ""
    precision: str = ""
    steps: dict = field(default_factory=lambda: {"loss": [], "grad_norm": []})  # when config.log_steps
    resumed_from: int = 0  # the epoch a checkpoint brought back (0: trained from the start)
    step_mode: str = "eager"  # "cuda-graph", "eager", or "eager (why capture failed)"

    @property
    def final(self) -> dict:
        return self.epochs[-1] if self.epochs else {}


def _epoch_generator(seed: int, epoch: int, device) -> torch.Generator:
    gen = torch.Generator(device=device)
    gen.manual_seed(seed * 1_000_003 + epoch)
    return gen


def train(model: nn.Module, data: ImageData, config: TrainConfig, out_dir=None, resume: bool = False,
          callbacks=(), device="auto", verbosity: str = "auto", label: str = "") -> History:
    """Train `model` on `data`; with `out_dir`, commit a checkpoint and metrics.jsonl per epoch.

    verbosity: "bar" (progress bar), "lines" (one log line per epoch), "none", or "auto"
    (a bar on a terminal, lines otherwise).
    """
    device = resolve_device(device)
    precision = resolve_precision(config.precision, device)
    out_dir = Path(out_dir) if out_dir else None
    model = precision.apply_to_model(model.to(device))
    data = data.to(device)
    inputs = Inputs(data, precision, device, config)
    steps_per_epoch = math.ceil(len(data.train_labels) / config.batch_size)
    use_graph = config.cuda_graphs and device.type == "cuda"  # graphs are a CUDA feature
    optimizer = make_optimizer(model, config, capturable=use_graph)
    history = History(device=str(device), precision=precision.name)
    progress = Progress(verbosity, total_epochs=config.epochs, steps_per_epoch=steps_per_epoch, label=label)
    config_hash = stable_hash(config.to_dict())

    start_epoch = 1
    if out_dir:
        remove_temp_files(out_dir)
    if resume and out_dir and (out_dir / CHECKPOINT_FILE).exists():
        start_epoch = _resume(out_dir, config_hash, model, optimizer, callbacks, history, progress, device)
    if out_dir and start_epoch == 1:
        RunDir(out_dir).write_metrics([])  # a fresh start: no rows from an earlier attempt survive

    rates = lr_schedule(make_scheduler, config, steps_per_epoch * config.epochs)
    runner = StepRunner(model, optimizer, data, inputs, config, rates, steps_per_epoch, callbacks,
                        use_graph=use_graph, on_message=progress.message)
    for cb in callbacks:
        cb.on_train_start(model, config)
    model.train()
    try:  # an interrupted run takes its epoch bar off the terminal too
        for epoch in range(start_epoch, config.epochs + 1):
            row = _train_one_epoch(runner, model, data, inputs, config, epoch, rates, history, progress)
            if row is None:
                history.status, history.diverged_epoch = "diverged", epoch
                progress.message(f"{label or 'run'} diverged: non-finite loss in epoch {epoch}")
                break
            history.epochs.append(row)
            for cb in callbacks:
                cb.on_epoch_end(model, epoch, row)
            progress.epoch_done(row)
            if out_dir:
                _commit_epoch(out_dir, epoch, config_hash, model, optimizer, callbacks, history, data)
        else:
            history.status = "done"
    finally:
        progress.close()
    history.step_mode = runner.mode
    return history


def _commit_epoch(out_dir, epoch, config_hash, model, optimizer, callbacks, history, data):
    atomic_torch_save({
        "epoch": epoch, "config_hash": config_hash, "model": model.state_dict(), "optimizer": optimizer.state_dict(),
        # what create_model needs besides config.json to rebuild the model (cnnlab.store.trained.load_model)
        "data": {"in_shape": list(data.in_shape), "num_classes": data.num_classes},
        "history": {"epochs": history.epochs, "steps": history.steps},
        "callbacks": [cb.state_dict() for cb in callbacks],
    }, out_dir / CHECKPOINT_FILE)
    RunDir(out_dir).write_metrics(history.epochs)


def _set_aside(path: Path, why: str, progress: Progress):
    aside = path.with_name(path.name + ".unusable")
    shutil.move(path, aside)
    progress.message(f"{path} {why}; moved to {aside.name} and training starts over")


def _resume(out_dir, config_hash, model, optimizer, callbacks, history, progress, device) -> int:
    """Restore the last committed epoch; returns the epoch to continue with. A checkpoint
    that cannot be used (damaged, or made with other settings) is set aside, never trusted."""
    path = out_dir / CHECKPOINT_FILE
    try:
        ckpt = load_checkpoint(path, map_location=device)
        if not isinstance(ckpt, dict) or ckpt.get("config_hash") != config_hash:
            _set_aside(path, "was made with other training settings", progress)
            return 1
        initial = {k: v.clone() for k, v in model.state_dict().items()}
        try:
            model.load_state_dict(ckpt["model"])
            optimizer.load_state_dict(ckpt["optimizer"])
            for cb, state in zip(callbacks, ckpt["callbacks"]):
                cb.load_state_dict(state)
            rows = [metrics_row(**row) for row in ckpt["history"]["epochs"]]
            epoch = int(ckpt["epoch"])
            if len(rows) != epoch:
                raise ValueError(f"{len(rows)} metrics rows for epoch {epoch}")
        except Exception:
            model.load_state_dict(initial)  # a half-applied checkpoint must not leak into a fresh start
            raise
    except Exception as e:  # any unreadable or inconsistent checkpoint: say so, start over
        reason = str(e).strip().splitlines()[0][:200] if str(e).strip() else type(e).__name__
        _set_aside(path, f"is unusable ({type(e).__name__}: {reason})", progress)
        return 1
    history.epochs = rows
    history.steps = ckpt["history"]["steps"]
    history.resumed_from = epoch
    # The checkpoint is the commit; metrics.jsonl is derived from it and may lag one epoch.
    metrics = out_dir / METRICS_FILE
    if not metrics.is_file() or metrics.read_bytes() != metrics_text(rows).encode("utf-8"):
        RunDir(out_dir).write_metrics(rows)
    return epoch + 1


def _train_one_epoch(runner, model, data, inputs, config, epoch, rates, history, progress):
    device = inputs.device
    generator = _epoch_generator(config.seed, epoch, device)
    torch.manual_seed(config.seed * 1_000_003 + epoch)  # dropout and other default-generator draws
    n = len(data.train_labels)
    synchronize(device)
    t0 = time.perf_counter()
    sums = runner.run_epoch(epoch, generator, progress)
    synchronize(device)
    train_seconds = time.perf_counter() - t0
    loss_sum = sums["loss_sum"].item()  # the epoch's one host read: is the loss still finite?
    if not math.isfinite(loss_sum):
        return None
    if config.log_steps:
        history.steps["loss"] += sums["step_losses"].tolist()
        history.steps["grad_norm"] += sums["step_norms"].tolist()
    result = evaluate(model, data.test_images, data.test_labels, inputs, data.num_classes, config.eval_batch_size)
    synchronize(device)
    if not math.isfinite(result.loss):  # finite training loss but inf/nan logits on the test set
        return None
    return metrics_row(
        epoch=epoch, train_loss=loss_sum / n, train_acc=sums["correct"].item() / n,
        test_loss=result.loss, test_acc=result.accuracy, epoch_seconds=time.perf_counter() - t0,
        train_seconds=train_seconds, images_per_second=n / train_seconds,
        lr=rates[epoch * runner.steps_per_epoch - 1],
    )
