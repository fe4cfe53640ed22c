"""The two things done to a model during a run, each written once: a training step and an
evaluation pass. The trainer, the confusion matrix, per-class accuracy and the peak-memory
measurement all call these, with the run's precision, so their numbers agree exactly."""

from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from cnnlab.models.common import eval_mode
from cnnlab.train.inputs import Inputs


def train_step(model: nn.Module, optimizer, x: torch.Tensor, y: torch.Tensor, inputs: Inputs, config,
               after_backward=None, autocast_cache: bool = True):
    """Forward, loss, backward, [after_backward()], [gradient clipping], optimizer step, with the
    run's TrainConfig. Returns (loss, logits), detached. Contains no host synchronisation, so it
    can be captured in a CUDA graph (autocast_cache=False)."""
    with inputs.precision.autocast(x.device, cache=autocast_cache):
        logits = model(x)
    loss = F.cross_entropy(logits.float(), y, label_smoothing=config.label_smoothing)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    if after_backward is not None:
        after_backward()  # sees the gradients as computed, before any clipping
    if config.grad_clip:
        # The global norm stays a device tensor and the scale is clamped on the device: no host
        # synchronisation, so a captured CUDA graph clips exactly like an eager step.
        nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
    optimizer.step()
    return loss.detach(), logits.detach()


@dataclass
class Evaluation:
    loss: float  # mean cross-entropy
    accuracy: float
    confusion: torch.Tensor  # (classes, classes) int64 on the CPU; row = true class, column = prediction

    @property
    def count(self) -> int:
        return int(self.confusion.sum())


def batch_logits(model: nn.Module, images: torch.Tensor, inputs: Inputs, batch_size: int = 1000):
    """(start, logits) of `model` in eval mode over uint8 `images`, batch by batch, through the run's
    input pipeline and precision: the one way a trained model predicts (evaluation, the confusion
    matrix, ROC curves)."""
    device = inputs.device
    with torch.no_grad(), eval_mode(model):
        for start in range(0, len(images), batch_size):
            x = inputs(images[start:start + batch_size])
            with inputs.precision.autocast(device):
                logits = model(x)
            yield start, logits  # outside autocast: what the caller computes from them runs as it always did


@torch.no_grad()
def evaluate(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, inputs: Inputs,
             num_classes: int, batch_size: int = 1000) -> Evaluation:
    """Loss, accuracy and confusion counts of `model` in eval mode over uint8 `images`."""
    device = inputs.device
    loss_sum = torch.zeros((), device=device, dtype=torch.float64)
    counts = torch.zeros(num_classes * num_classes, device=device, dtype=torch.int64)
    for start, logits in batch_logits(model, images, inputs, batch_size):
        y = labels[start:start + batch_size].to(device)
        loss_sum += F.cross_entropy(logits.float(), y, reduction="sum")
        # Pair (true, predicted) -> one index, then count all pairs at once.
        counts += torch.bincount(y * num_classes + logits.argmax(1), minlength=num_classes * num_classes)
    confusion = counts.view(num_classes, num_classes).cpu()
    n = max(len(labels), 1)
    return Evaluation(loss=loss_sum.item() / n, accuracy=int(confusion.diagonal().sum()) / n, confusion=confusion)
