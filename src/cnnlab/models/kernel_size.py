"""Study 2.1: kernel size at an equal parameter budget.

Every net has the same layout, three stages of two conv layers (conv -> BN -> ReLU),
each stage followed by a 2x2 max-pool, then global average pooling and a linear head:

    kernel-3x3      3x3, 3x3 in every stage (the reference: 32-64-128 channels)
    kernel-5x5      5x5, 5x5
    kernel-7x7      7x7, 7x7
    kernel-1x1-3x3  1x1, 3x3 (a 1x1 channel mixer before each 3x3)

The other nets' widths (32-64-128 times a multiplier) are solved by `match_params` so that
each has kernel-3x3's parameter count, within 2%, on 3x32x32 inputs with 10 classes.
"""

from functools import lru_cache

import torch.nn as nn

from cnnlab.models.common import check_min_size, gap_head
from cnnlab.models.match_params import count_params, match_params
from cnnlab.models.registry import register_model

BASE_WIDTHS = (32, 64, 128)
REFERENCE_SHAPE = (3, 32, 32)
KERNELS = {
    "kernel-3x3": (3, 3),
    "kernel-5x5": (5, 5),
    "kernel-7x7": (7, 7),
    "kernel-1x1-3x3": (1, 3),
}


def kernel_cnn(in_shape, num_classes, kernels=(3, 3), width: float = 1.0) -> nn.Sequential:
    """Three stages of convs with the given kernel sizes; stage widths = BASE_WIDTHS * width."""
    check_min_size(in_shape, 8, "kernel-size nets (3 max-pools)")
    layers, prev = [], in_shape[0]
    for base in BASE_WIDTHS:
        channels = max(1, round(base * width))
        for k in kernels:
            layers += [
                nn.Conv2d(prev, channels, k, padding=k // 2, bias=False),
                nn.BatchNorm2d(channels),
                nn.ReLU(inplace=True),
            ]
            prev = channels
        layers.append(nn.MaxPool2d(2))
    return nn.Sequential(*layers, gap_head(prev, num_classes))


@lru_cache(maxsize=None)
def matched_width(kernels: tuple[int, ...]) -> float:
    """Width multiplier giving `kernels` the parameter count of the 3x3 reference net."""
    if kernels == KERNELS["kernel-3x3"]:
        return 1.0
    target = count_params(kernel_cnn(REFERENCE_SHAPE, 10, KERNELS["kernel-3x3"]))
    return match_params(lambda w: kernel_cnn(REFERENCE_SHAPE, 10, kernels, w), target, lo=0.05, hi=8.0)


def _make(name: str, kernels: tuple[int, ...]):
    label = "+".join(f"{k}x{k}" for k in kernels)
    reference = kernels == KERNELS["kernel-3x3"]
    description = f"6 conv layers ({label} per stage), " + (
        "32-64-128 channels (the reference)" if reference else "width matched to kernel-3x3's parameters"
    )

    def factory(in_shape, num_classes, width: float | None = None):
        return kernel_cnn(in_shape, num_classes, kernels, matched_width(kernels) if width is None else width)

    register_model(name, study="2.1", description=description)(factory)


for _name, _kernels in KERNELS.items():
    _make(_name, _kernels)
