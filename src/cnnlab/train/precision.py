"""A run's numeric precision: autocast dtype and memory layout, resolved once per run.

Every forward pass that produces one of a run's numbers (training, evaluation, the
confusion matrix, peak memory, activations, inference timing) goes through the same
`Precision`, so a report never mixes a bf16 accuracy with an fp32 confusion matrix.
"""

import functools
from dataclasses import dataclass

import torch

from cnnlab.choices import PRECISIONS
from cnnlab.errors import UserError


@dataclass(frozen=True)
class Precision:
    name: str  # "fp32" or "bf16": resolved, never "auto"
    channels_last: bool

    @property
    def dtype(self) -> torch.dtype | None:
        """The autocast dtype, or None for plain fp32."""
        return torch.bfloat16 if self.name == "bf16" else None

    @property
    def memory_format(self) -> torch.memory_format:
        return torch.channels_last if self.channels_last else torch.contiguous_format

    def autocast(self, device: torch.device | str, cache: bool = True):
        """`cache=False` inside a CUDA graph capture: autocast's weight-cast cache would keep
        casts made at capture time, which replays must redo."""
        device_type = device.type if isinstance(device, torch.device) else torch.device(device).type
        return torch.autocast(device_type, dtype=torch.bfloat16, enabled=self.dtype is not None, cache_enabled=cache)

    def apply_to_model(self, model: torch.nn.Module) -> torch.nn.Module:
        return model.to(memory_format=torch.channels_last) if self.channels_last else model

    def apply_to_inputs(self, x: torch.Tensor) -> torch.Tensor:
        return x.contiguous(memory_format=torch.channels_last) if self.channels_last and x.dim() == 4 else x


FP32 = Precision("fp32", channels_last=False)
BF16 = Precision("bf16", channels_last=True)
# oneDNN's fp32 convolutions and max-pooling are faster on NHWC tensors: on a 2-core EPYC a
# training step of the built-in studies' models is 1.15x faster in the median, simple-cnn's
# 1.5-1.7x (benchmarks/layout_throughput.py); fully connected models are unaffected. On CUDA
# channels-last pays off with bf16 tensor cores, so fp32 there keeps the default layout.
FP32_CPU = Precision("fp32", channels_last=True)


@functools.cache
def cpu_supports_bf16() -> bool:
    """Native bf16 math (AVX512-BF16 or AMX) makes bf16 autocast faster than fp32 on the CPU."""
    try:
        with open("/proc/cpuinfo") as f:
            flags = next((line for line in f if line.startswith("flags")), "").split()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def resolve_precision(name: str, device: torch.device) -> Precision:
    """"fp32", "bf16" or "auto" (bf16 where this device has fast bf16 math, else fp32), each in
    the memory layout that is faster for it on this device."""
    if name not in PRECISIONS:
        raise UserError(f"unknown precision {name!r}; valid: {', '.join(PRECISIONS)}")
    if name == "auto":
        fast = torch.cuda.is_bf16_supported() if device.type == "cuda" else cpu_supports_bf16()
        name = "bf16" if fast else "fp32"
    if name == "bf16":
        return BF16
    return FP32_CPU if device.type == "cpu" else FP32
