"""Optimizer and learning-rate schedule of a run.

Weight decay goes to weights with two or more dimensions (conv kernels, linear matrices)
only. Biases, BatchNorm scales and shifts, and the custom layers' own scalars (Swish's
beta, LpPool2d's p, CustomConv2d's gain) are not decayed: decaying them is a regulariser
that only some models would get (AdamW at 0.05 over 30 epochs pulls a Swish beta from 1
towards 0.75 on its own), which would bias the very comparisons the studies make.
"""

import torch
import torch.nn as nn

from cnnlab.train.config import TrainConfig


def parameter_groups(model: nn.Module, weight_decay: float) -> list[dict]:
    """[{decayed: >= 2-D weights}, {not decayed: 1-D and scalar parameters}], empty groups left out."""
    params = [p for p in model.parameters() if p.requires_grad]
    decay = [p for p in params if p.dim() >= 2]
    no_decay = [p for p in params if p.dim() < 2]
    groups = [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    return [g for g in groups if g["params"]]


def make_optimizer(model: nn.Module, config: TrainConfig, capturable: bool = False) -> torch.optim.Optimizer:
    """`capturable`: keep Adam's step counts on the device, so a CUDA graph can replay the step."""
    groups = parameter_groups(model, config.weight_decay)
    params = [p for g in groups for p in g["params"]]
    # One fused kernel per parameter instead of a dozen small ops: the optimizer step is
    # a visible share of a small model's step time.
    fused = bool(params) and all(p.device.type in ("cpu", "cuda") for p in params) or None
    if config.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=config.lr, momentum=config.momentum, fused=fused,
                               nesterov=config.nesterov and config.momentum > 0)
    cls = torch.optim.Adam if config.optimizer == "adam" else torch.optim.AdamW
    return cls(groups, lr=config.lr, fused=fused, capturable=capturable)


def make_scheduler(optimizer, config: TrainConfig, total_steps: int):
    """The learning-rate schedule (the trainer tabulates it per step, see train/step_runner.py).
    One-cycle schedules the learning rate only: momentum stays fixed."""
    if config.schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total_steps)
    if config.schedule == "onecycle":
        return torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=config.lr, total_steps=total_steps,
                                                   cycle_momentum=False)
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)
