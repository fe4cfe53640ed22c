"""Peak memory of one training step: forward, backward and optimizer step on a fresh copy.

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
import torch.nn.functional as F
from torch.profiler import ProfilerActivity, profile

from cnnlab.train.device import resolve_device

OPTIMIZERS = {"sgd": lambda p: torch.optim.SGD(p, lr=0.01, momentum=0.9),
              "adam": lambda p: torch.optim.Adam(p, lr=1e-3),
              "adamw": lambda p: torch.optim.AdamW(p, lr=1e-3)}


def _tensor_bytes(tensors) -> int:
    return sum(t.numel() * t.element_size() for t in tensors)


def _training_step(model, x, y, optimizer):
    loss = F.cross_entropy(model(x), y)
    loss.backward()
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)


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


def peak_memory(model: nn.Module, in_shape, batch_size: int, device="cpu", num_classes: int | None = None,
                optimizer: str = "adam") -> dict:
    """Peak memory of one training step with `batch_size` random images of shape `in_shape`.

    The step runs on a copy of the model, so the caller's weights are left untouched.
    Returns {"device", "batch_size", "optimizer", "method",
             "resident_bytes" (parameters + buffers + input batch),
             "step_bytes" (peak allocated during the step, above resident),
             "peak_bytes" (resident + step), "peak_mib"}.
    """
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {', '.join(OPTIMIZERS)}, got {optimizer!r}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    device = resolve_device(device)
    model = copy.deepcopy(model).to(device).train()
    x = torch.randn(int(batch_size), *[int(s) for s in in_shape], device=device)
    if num_classes is None:  # read it off the model's output
        with torch.no_grad():
            num_classes = model.eval()(x[:1]).shape[1]
        model.train()
    y = torch.randint(0, num_classes, (int(batch_size),), device=device)
    opt = OPTIMIZERS[optimizer]([p for p in model.parameters() if p.requires_grad])
    resident = _tensor_bytes(list(model.parameters()) + list(model.buffers()) + [x, y])

    def step():
        _training_step(model, x, y, opt)

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
    return {"device": str(device), "batch_size": int(batch_size), "optimizer": optimizer, "method": method,
            "resident_bytes": int(resident), "step_bytes": int(step_bytes), "peak_bytes": int(peak),
            "peak_mib": peak / 2**20}
