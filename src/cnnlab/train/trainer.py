"""The training loop: data stays on the device as uint8, batches are index slices of a
per-epoch permutation, and normalisation/augmentation run on whole batches.

Every epoch draws its shuffling, augmentation and dropout randomness from generators
seeded by (seed, epoch), so a run resumed from a checkpoint replays exactly the epochs
that an uninterrupted run would.
"""

import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F

from cnnlab.data.augment import random_crop, random_flip
from cnnlab.data.core import ImageData, normalize
from cnnlab.io import atomic_torch_save, atomic_write_jsonl, load_checkpoint
from cnnlab.train.config import TrainConfig, config_hash
from cnnlab.train.device import resolve_device, resolve_precision, synchronize
from cnnlab.train.progress import Progress

CHECKPOINT = "checkpoint.pt"
METRICS = "metrics.jsonl"


@dataclass
class History:
    epochs: list[dict] = field(default_factory=list)  # one row of metrics per finished epoch
    status: str = "running"  # "done" or "diverged"
    diverged_epoch: int | None = None
    device: str = ""
    precision: str = ""
    steps: dict = field(default_factory=lambda: {"loss": [], "grad_norm": []})  # when config.log_steps

    @property
    def final(self) -> dict:
        return self.epochs[-1] if self.epochs else {}

    def to_dict(self) -> dict:
        return {"epochs": self.epochs, "status": self.status, "diverged_epoch": self.diverged_epoch,
                "device": self.device, "precision": self.precision, "steps": self.steps}


def seed_everything(seed: int):
    torch.manual_seed(seed)


def _epoch_generator(seed: int, epoch: int, device) -> torch.Generator:
    gen = torch.Generator(device=device)
    gen.manual_seed(seed * 1_000_003 + epoch)
    return gen


def _make_optimizer(model: nn.Module, config: TrainConfig):
    params = [p for p in model.parameters() if p.requires_grad]
    # One fused kernel per parameter instead of a dozen small ops: the optimizer step is
    # a visible share of a small model's step time.
    fused = all(p.device.type in ("cpu", "cuda") for p in params) or None
    if config.optimizer == "sgd":
        return torch.optim.SGD(params, lr=config.lr, momentum=config.momentum, fused=fused,
                               nesterov=config.nesterov and config.momentum > 0, weight_decay=config.weight_decay)
    cls = torch.optim.Adam if config.optimizer == "adam" else torch.optim.AdamW
    return cls(params, lr=config.lr, weight_decay=config.weight_decay, fused=fused)


def _make_scheduler(optimizer, config: TrainConfig, total_steps: int):
    if config.schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total_steps)
    if config.schedule == "onecycle":
        return torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=config.lr, total_steps=total_steps)
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)


def _prepare_batch(images, data: ImageData, config: TrainConfig, gen, channels_last: bool, train: bool):
    if train and config.augment:
        if config.crop_padding:
            images = random_crop(images, config.crop_padding, gen)
        if config.flip:
            images = random_flip(images, gen)
    x = normalize(images, data.mean, data.std)
    return x.contiguous(memory_format=torch.channels_last) if channels_last else x


@torch.no_grad()
def evaluate(model, data: ImageData, config: TrainConfig, autocast_dtype, channels_last, split="test"):
    """(mean loss, accuracy) over a split; the model is left in train mode afterwards."""
    images = getattr(data, f"{split}_images")
    labels = getattr(data, f"{split}_labels")
    model.eval()
    loss_sum = torch.zeros((), device=images.device, dtype=torch.float64)
    correct = torch.zeros((), device=images.device, dtype=torch.int64)
    for start in range(0, len(labels), config.eval_batch_size):
        x = _prepare_batch(images[start:start + config.eval_batch_size], data, config, None, channels_last, False)
        y = labels[start:start + config.eval_batch_size]
        with torch.autocast(x.device.type, dtype=autocast_dtype or torch.float32, enabled=autocast_dtype is not None):
            logits = model(x)
        loss_sum += F.cross_entropy(logits.float(), y, reduction="sum")
        correct += (logits.argmax(1) == y).sum()
    model.train()
    n = len(labels)
    return loss_sum.item() / n, correct.item() / n


def train(model: nn.Module, data: ImageData, config: TrainConfig, out_dir=None, resume: bool = False,
          callbacks=(), device="auto", verbosity: str = "auto", label: str = "") -> History:
    """Train `model` on `data`; write metrics.jsonl and an atomic checkpoint per epoch to `out_dir`.

    verbosity: "bar" (progress bar), "lines" (one log line per epoch), "none", or "auto"
    (a bar on a terminal, lines otherwise).
    """
    config.validate()
    device = resolve_device(device)
    autocast_dtype, channels_last = resolve_precision(config.precision, device)
    out_dir = Path(out_dir) if out_dir else None
    model = model.to(device)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    data = data.to(device)
    steps_per_epoch = math.ceil(len(data.train_labels) / config.batch_size)
    optimizer = _make_optimizer(model, config)
    scheduler = _make_scheduler(optimizer, config, steps_per_epoch * config.epochs)
    history = History(device=str(device), precision="bf16" if autocast_dtype else "fp32")
    run_key = config_hash(config.to_dict())

    start_epoch = 1
    if out_dir:  # temp files of writes a kill interrupted; the real files are whole
        for stale in out_dir.glob(".*.tmp"):
            stale.unlink(missing_ok=True)
    if resume and out_dir and (out_dir / CHECKPOINT).exists():
        ckpt = load_checkpoint(out_dir / CHECKPOINT, map_location=device)
        if ckpt["config_hash"] == run_key:
            model.load_state_dict(ckpt["model"])
            optimizer.load_state_dict(ckpt["optimizer"])
            scheduler.load_state_dict(ckpt["scheduler"])
            history.epochs = ckpt["history"]["epochs"]
            history.steps = ckpt["history"]["steps"]
            for cb, state in zip(callbacks, ckpt["callbacks"]):
                cb.load_state_dict(state)
            start_epoch = ckpt["epoch"] + 1

    for cb in callbacks:
        cb.on_train_start(model, config)
    progress = Progress(verbosity, total_epochs=config.epochs, steps_per_epoch=steps_per_epoch, label=label)
    model.train()
    for epoch in range(start_epoch, config.epochs + 1):
        row = _train_one_epoch(model, data, config, optimizer, scheduler, epoch, steps_per_epoch,
                               autocast_dtype, channels_last, callbacks, history, progress)
        if row is None:
            history.status, history.diverged_epoch = "diverged", epoch
            progress.message(f"{label or 'run'} diverged: non-finite loss in epoch {epoch}")
            break
        history.epochs.append(row)
        for cb in callbacks:
            cb.on_epoch_end(model, epoch, row)
        progress.epoch_done(row)
        if out_dir:
            atomic_torch_save({
                "epoch": epoch, "config_hash": run_key, "model": model.state_dict(),
                "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                "history": {"epochs": history.epochs, "steps": history.steps},
                "callbacks": [cb.state_dict() for cb in callbacks],
            }, out_dir / CHECKPOINT)
            # After the checkpoint, which holds the same rows: metrics never run ahead of it.
            atomic_write_jsonl(out_dir / METRICS, history.epochs)
    else:
        history.status = "done"
    progress.close()
    return history


def _train_one_epoch(model, data, config, optimizer, scheduler, epoch, steps_per_epoch,
                     autocast_dtype, channels_last, callbacks, history, progress):
    device = data.train_images.device
    gen = _epoch_generator(config.seed, epoch, device)
    torch.manual_seed(config.seed * 1_000_003 + epoch)  # dropout and other global-RNG layers
    n = len(data.train_labels)
    order = torch.randperm(n, generator=gen, device=device)
    loss_sum = torch.zeros((), device=device, dtype=torch.float64)
    correct = torch.zeros((), device=device, dtype=torch.int64)
    step_losses, step_norms = [], []
    synchronize(device)
    t0 = time.perf_counter()
    for i in range(steps_per_epoch):
        idx = order[i * config.batch_size:(i + 1) * config.batch_size]
        x = _prepare_batch(data.train_images[idx], data, config, gen, channels_last, True)
        y = data.train_labels[idx]
        with torch.autocast(device.type, dtype=autocast_dtype or torch.float32, enabled=autocast_dtype is not None):
            logits = model(x)
        loss = F.cross_entropy(logits.float(), y, label_smoothing=config.label_smoothing)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        step = (epoch - 1) * steps_per_epoch + i
        for cb in callbacks:
            cb.after_backward(model, step)
        if config.log_steps:
            grads = [p.grad for p in model.parameters() if p.grad is not None]
            step_norms.append(torch.linalg.vector_norm(torch.stack([g.float().norm() for g in grads])))
            step_losses.append(loss.detach())
        optimizer.step()
        scheduler.step()
        loss_sum += loss.detach() * len(y)
        correct += (logits.argmax(1) == y).sum()
        progress.step(epoch, i, loss, correct, (i + 1) * config.batch_size)
    synchronize(device)
    train_seconds = time.perf_counter() - t0
    if not math.isfinite(loss_sum.item()):
        return None
    if config.log_steps:
        history.steps["loss"] += torch.stack(step_losses).tolist()
        history.steps["grad_norm"] += torch.stack(step_norms).tolist()
    test_loss, test_acc = evaluate(model, data, config, autocast_dtype, channels_last)
    synchronize(device)
    return {
        "epoch": epoch,
        "train_loss": loss_sum.item() / n,
        "train_acc": correct.item() / n,
        "test_loss": test_loss,
        "test_acc": test_acc,
        "epoch_seconds": time.perf_counter() - t0,
        "train_seconds": train_seconds,
        "images_per_second": n / train_seconds,
        "lr": optimizer.param_groups[0]["lr"],
    }
