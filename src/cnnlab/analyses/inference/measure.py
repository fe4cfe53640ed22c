"""Inference latency and throughput, measured the way benchmarks should be.

For each batch size: `warmup` untimed forward passes (caches, cuDNN autotuning, lazy
allocations), then `repeats` timed ones. On a GPU each timed pass is bracketed by
`torch.cuda.synchronize()`, because kernels run asynchronously and the Python clock
would otherwise measure only the launch. We report the median (robust to the odd
scheduler hiccup) and the interquartile range, and record what the numbers depend on:
device name, thread count, precision (the run's own: autocast dtype and memory layout).
"""

import copy
import time

import numpy as np
import torch
import torch.nn as nn

from cnnlab.train.device import device_name, resolve_device, synchronize
from cnnlab.train.precision import Precision, resolve_precision


def _time_passes(model, x, device, precision: Precision, repeats: int, warmup: int) -> list[float]:
    """Seconds per forward pass for `repeats` synchronised passes after `warmup` ones."""
    times = []
    with torch.inference_mode(), precision.autocast(device):
        for i in range(warmup + repeats):
            synchronize(device)
            start = time.perf_counter()
            model(x)
            synchronize(device)
            if i >= warmup:
                times.append(time.perf_counter() - start)
    return times


def measure_inference(model: nn.Module, in_shape, device="cpu", batch_sizes=(1, 256),
                      repeats: int = 30, warmup: int = 5, precision: Precision | str = "fp32") -> dict:
    """Latency per batch and throughput of `model` in eval mode on random inputs.

    `precision`: a run's `Precision`, or a name of `cnnlab.choices.PRECISIONS` (bf16 implies
    channels-last).
    The model is copied to `device`, so the caller's model is left untouched.
    Returns {"device", "device_name", "threads", "precision", "channels_last", "repeats",
             "warmup", "torch_version",
             "results": [{"batch_size", "median_ms", "q1_ms", "q3_ms", "iqr_ms",
                          "min_ms", "images_per_second"}, ...]}
    where images_per_second = batch_size / median latency.
    """
    if repeats < 1 or warmup < 0:
        raise ValueError(f"need repeats >= 1 and warmup >= 0, got repeats={repeats}, warmup={warmup}")
    if not batch_sizes or min(batch_sizes) < 1:
        raise ValueError(f"batch_sizes must be positive integers, got {batch_sizes}")
    device = resolve_device(device)
    if isinstance(precision, str):
        precision = resolve_precision(precision, device)
    model = precision.apply_to_model(copy.deepcopy(model).to(device)).eval()

    results = []
    for batch_size in batch_sizes:
        x = precision.apply_to_inputs(torch.randn(int(batch_size), *[int(s) for s in in_shape], device=device))
        times_ms = np.array(_time_passes(model, x, device, precision, repeats, warmup)) * 1e3
        q1, median, q3 = np.percentile(times_ms, [25, 50, 75])
        results.append({"batch_size": int(batch_size), "median_ms": float(median),
                        "q1_ms": float(q1), "q3_ms": float(q3), "iqr_ms": float(q3 - q1),
                        "min_ms": float(times_ms.min()),
                        "images_per_second": float(batch_size / (median / 1e3))})
    return {"device": str(device), "device_name": device_name(device), "threads": torch.get_num_threads(),
            "precision": precision.name, "channels_last": precision.channels_last, "repeats": int(repeats),
            "warmup": int(warmup), "torch_version": torch.__version__, "results": results}


def top_level_blocks(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """The blocks a network is a chain of: its `features` children then its `head` (every built-in
    model is features + head), else its own children. None for a network that is no such chain."""
    if isinstance(getattr(model, "features", None), nn.Sequential) and isinstance(getattr(model, "head", None), nn.Module):
        return [(f"features.{name}", child) for name, child in model.features.named_children()] + [("head", model.head)]
    if isinstance(model, nn.Sequential):
        return list(model.named_children())
    return []


def _quartiles_ms(seconds: list[float]) -> dict:
    q1, median, q3 = np.percentile(np.array(seconds) * 1e3, [25, 50, 75])
    return {"median_ms": float(median), "q1_ms": float(q1), "q3_ms": float(q3)}


def measure_blocks(model: nn.Module, in_shape, device="cpu", batch_size: int = 32, repeats: int = 20,
                   warmup: int = 3, precision: Precision | str = "fp32") -> dict | None:
    """Forward and backward time of each top-level block (`top_level_blocks`) in training mode, each on
    the input the blocks before it produce: `warmup` untimed passes, then `repeats` timed ones,
    synchronised on a GPU; median and quartiles. The model is copied to `device`. None for a network
    that is not a chain of blocks (its blocks' times would not add up to its own)."""
    if repeats < 1 or warmup < 0 or batch_size < 1:
        raise ValueError(f"need repeats >= 1, warmup >= 0, batch_size >= 1, got {repeats}, {warmup}, {batch_size}")
    device = resolve_device(device)
    if isinstance(precision, str):
        precision = resolve_precision(precision, device)
    model = precision.apply_to_model(copy.deepcopy(model).to(device)).train()
    blocks = top_level_blocks(model)
    if not blocks:
        return None
    x = precision.apply_to_inputs(torch.randn(int(batch_size), *[int(s) for s in in_shape], device=device))
    rows = []
    for name, block in blocks:
        leaf = x.detach().requires_grad_(x.is_floating_point())
        forward, backward = [], []
        for i in range(warmup + repeats):
            inputs = leaf.clone()  # not a leaf: a block may change its input in place (ReLU(inplace=True))
            synchronize(device)
            start = time.perf_counter()
            with precision.autocast(device):
                out = block(inputs)
            synchronize(device)
            middle = time.perf_counter()
            if out.requires_grad:
                out.float().sum().backward()
            synchronize(device)
            if i >= warmup:
                forward.append(middle - start)
                backward.append(time.perf_counter() - middle)
            block.zero_grad(set_to_none=True)
        rows.append({"block": name, "type": type(block).__name__,
                     "params": sum(p.numel() for p in block.parameters()),
                     "forward": _quartiles_ms(forward), "backward": _quartiles_ms(backward)})
        x = out.detach()
    return {"device": str(device), "device_name": device_name(device), "threads": torch.get_num_threads(),
            "precision": precision.name, "batch_size": int(batch_size), "repeats": int(repeats), "warmup": int(warmup),
            "blocks": rows}
