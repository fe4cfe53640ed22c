"""Peak memory of one training step of a run: forward, backward and optimizer step, on a copy
of the model, with the run's own optimizer, batch size and precision (bf16 autocast and
channels-last where the run trains that way), on a real batch of its training images.

What is counted, on both devices: the model's parameters and buffers, the input batch,
and the peak of everything allocated during the step (activations kept for backward,
gradients, optimizer state, temporary buffers).

- CUDA: the caching allocator's own counters (`torch.cuda.max_memory_allocated`).
- CPU: PyTorch keeps no allocator statistics for the CPU, so we run the step under
  `torch.profiler.profile(profile_memory=True)`, which records every allocation and free
  of the CPU allocator with a timestamp, and take the peak of their running sum.
"""

import contextlib
import copy
import os
import sys

import torch
import torch.nn as nn
from torch.profiler import ProfilerActivity, profile

from cnnlab.data.core import ImageData
from cnnlab.train.config import TrainConfig
from cnnlab.train.device import resolve_device
from cnnlab.train.inputs import Inputs
from cnnlab.train.optim import make_optimizer
from cnnlab.train.precision import resolve_precision
from cnnlab.train.passes import train_step


def _tensor_bytes(tensors) -> int:
    return sum(t.numel() * t.element_size() for t in tensors)


@contextlib.contextmanager
def _native_stderr_silenced():
    """The profiler's C++ backend (kineto) logs start/stop lines straight to fd 2; users
    asked for a memory figure, not those, so fd 2 points at /dev/null while it runs."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _cpu_step_peak(step) -> int:
    """Peak bytes above the starting point that the CPU allocator held while `step()` ran."""
    with _native_stderr_silenced(), profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        step()
    # The raw allocator records: name "[memory]", nbytes > 0 for an allocation, < 0 for a free.
    events = [e for e in prof.profiler.kineto_results.events() if e.name() == "[memory]"]
    events.sort(key=lambda e: e.start_ns())
    current = peak = 0
    for e in events:
        current += e.nbytes()
        peak = max(peak, current)
    return peak


def peak_memory(model: nn.Module, data: ImageData, config: TrainConfig, device="cpu") -> dict:
    """Peak memory of one training step of `model` as `config` trains it on `data`.

    The step runs on a copy of the model, so the caller's weights are left untouched.
    Returns {"device", "batch_size", "optimizer", "precision", "method",
             "resident_bytes" (parameters + buffers + input batch),
             "step_bytes" (peak allocated during the step, above resident),
             "peak_bytes" (resident + step), "peak_mib"}.
    """
    device = resolve_device(device)
    precision = resolve_precision(config.precision, device)
    model = precision.apply_to_model(copy.deepcopy(model).to(device)).train()
    inputs = Inputs(data, precision, device, config)
    batch = min(config.batch_size, len(data.train_labels))
    generator = torch.Generator(device=device).manual_seed(config.seed)
    x = inputs.augmented(data.train_images[:batch].to(device), generator)
    y = data.train_labels[:batch].to(device)
    optimizer = make_optimizer(model, config)
    resident = _tensor_bytes(list(model.parameters()) + list(model.buffers()) + [x, y])

    def step():
        train_step(model, optimizer, x, y, inputs, config)

    if device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        before = torch.cuda.memory_allocated(device)
        step()
        torch.cuda.synchronize(device)
        step_bytes = torch.cuda.max_memory_allocated(device) - before
        method = "torch.cuda.max_memory_allocated"
    else:
        step_bytes = _cpu_step_peak(step)
        method = "torch.profiler CPU allocator events"
    peak = resident + int(step_bytes)
    return {"device": str(device), "batch_size": batch, "optimizer": config.optimizer,
            "precision": precision.name, "method": method, "resident_bytes": int(resident),
            "step_bytes": int(step_bytes), "peak_bytes": int(peak), "peak_mib": peak / 2**20}
