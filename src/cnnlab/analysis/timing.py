"""Inference latency and throughput, measured the way benchmarks should be.

For each batch size: `warmup` untimed forward passes (caches, cuDNN autotuning, lazy
allocations), then `repeats` timed ones. On a GPU each timed pass is bracketed by
`torch.cuda.synchronize()`, because kernels run asynchronously and the Python clock
would otherwise measure only the launch. We report the median (robust to the odd
scheduler hiccup) and the interquartile range, and record what the numbers depend on:
device name, thread count, precision.
"""

import contextlib
import copy
import time

import numpy as np
import torch
import torch.nn as nn

from cnnlab.train.device import device_name, resolve_device, synchronize

PRECISIONS = ("fp32", "bf16")


def _time_passes(model, x, device, autocast_dtype, repeats: int, warmup: int) -> list[float]:
    """Seconds per forward pass for `repeats` synchronised passes after `warmup` ones."""
    times = []
    autocast = torch.autocast(device.type, dtype=autocast_dtype) if autocast_dtype else contextlib.nullcontext()
    with torch.inference_mode(), autocast:
        for i in range(warmup + repeats):
            synchronize(device)
            start = time.perf_counter()
            model(x)
            synchronize(device)
            if i >= warmup:
                times.append(time.perf_counter() - start)
    return times


def measure_inference(model: nn.Module, in_shape, device="cpu", batch_sizes=(1, 256),
                      repeats: int = 30, warmup: int = 5, precision: str = "fp32",
                      channels_last: bool = False) -> dict:
    """Latency per batch and throughput of `model` in eval mode on random inputs.

    The model is copied to `device`, so the caller's model is left untouched.
    Returns {"device", "device_name", "threads", "precision", "channels_last", "repeats",
             "warmup", "torch_version",
             "results": [{"batch_size", "median_ms", "q1_ms", "q3_ms", "iqr_ms",
                          "min_ms", "images_per_second"}, ...]}
    where images_per_second = batch_size / median latency.
    """
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    if repeats < 1 or warmup < 0:
        raise ValueError(f"need repeats >= 1 and warmup >= 0, got repeats={repeats}, warmup={warmup}")
    if not batch_sizes or min(batch_sizes) < 1:
        raise ValueError(f"batch_sizes must be positive integers, got {batch_sizes}")
    device = resolve_device(device)
    memory_format = torch.channels_last if channels_last else torch.contiguous_format
    model = copy.deepcopy(model).to(device, memory_format=memory_format).eval()
    autocast_dtype = torch.bfloat16 if precision == "bf16" else None

    results = []
    for batch_size in batch_sizes:
        x = torch.randn(int(batch_size), *[int(s) for s in in_shape], device=device)
        x = x.contiguous(memory_format=memory_format)
        times_ms = np.array(_time_passes(model, x, device, autocast_dtype, repeats, warmup)) * 1e3
        q1, median, q3 = np.percentile(times_ms, [25, 50, 75])
        results.append({"batch_size": int(batch_size), "median_ms": float(median),
                        "q1_ms": float(q1), "q3_ms": float(q3), "iqr_ms": float(q3 - q1),
                        "min_ms": float(times_ms.min()),
                        "images_per_second": float(batch_size / (median / 1e3))})
    return {"device": str(device), "device_name": device_name(device), "threads": torch.get_num_threads(),
            "precision": precision, "channels_last": bool(channels_last), "repeats": int(repeats),
            "warmup": int(warmup), "torch_version": torch.__version__, "results": results}
