"""Which device and precision a run uses, resolved once and recorded in its history."""

import functools
import platform

import torch

from cnnlab.errors import UserError


def resolve_device(device="auto") -> torch.device:
    if device in (None, "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise UserError(f"unknown device {device!r}; valid: auto, cpu, cuda, cuda:N") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise UserError(f"device {device!r} requested but no CUDA GPU is available; valid here: auto, cpu")
    if dev.type not in ("cpu", "cuda"):
        raise UserError(f"unsupported device {device!r}; valid: auto, cpu, cuda, cuda:N")
    return dev


@functools.cache
def cpu_supports_bf16() -> bool:
    """Native bf16 math (AVX512-BF16 or AMX) makes bf16 autocast faster than fp32 on the CPU."""
    try:
        with open("/proc/cpuinfo") as f:
            flags = next((line for line in f if line.startswith("flags")), "").split()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def resolve_precision(precision: str, device: torch.device):
    """(autocast dtype or None, channels_last) for "fp32", "bf16" or "auto"."""
    if precision == "fp32":
        return None, False
    if device.type == "cuda":
        supported = torch.cuda.is_bf16_supported()
    else:
        supported = cpu_supports_bf16()
    if precision == "bf16":
        return torch.bfloat16, True
    return (torch.bfloat16, True) if supported else (None, False)


def synchronize(device: torch.device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return cpu_model()


@functools.cache
def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()
