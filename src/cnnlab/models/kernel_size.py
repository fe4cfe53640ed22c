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

from cnnlab.models.common import check_min_size, count_params
from cnnlab.models.convnet import conv_net
from cnnlab.models.match_params import match_params
from cnnlab.models.registry import register_model

BASE_WIDTHS = (32, 64, 128)
REFERENCE_SHAPE = (3, 32, 32)
REFERENCE_KERNELS = (3, 3)


def kernel_cnn(in_shape, num_classes, kernels=REFERENCE_KERNELS, width: float = 1.0):
    """Three stages of convs with the given kernel sizes; stage widths = BASE_WIDTHS * width."""
    check_min_size(in_shape, 8, "kernel-size nets (3 max-pools)")
    stages = [[(max(1, round(base * width)), k) for k in kernels] for base in BASE_WIDTHS]
    return conv_net(in_shape, num_classes, stages)


@lru_cache(maxsize=None)
def matched_width(kernels: tuple[int, ...]) -> float:
    """Width multiplier giving `kernels` the parameter count of the 3x3 reference net."""
    if kernels == REFERENCE_KERNELS:
        return 1.0
    target = count_params(kernel_cnn(REFERENCE_SHAPE, 10, REFERENCE_KERNELS), trainable_only=True)
    return match_params(lambda w: kernel_cnn(REFERENCE_SHAPE, 10, kernels, w), target, lo=0.05, hi=8.0)


def _width(kernels, width):
    return matched_width(kernels) if width is None else width


@register_model("kernel-3x3", study="2.1")
def kernel_3x3(in_shape, num_classes, width: float | None = None):
    """6 conv layers (3x3 per stage), 32-64-128 channels (the reference)."""
    return kernel_cnn(in_shape, num_classes, (3, 3), _width((3, 3), width))


@register_model("kernel-5x5", study="2.1")
def kernel_5x5(in_shape, num_classes, width: float | None = None):
    """6 conv layers (5x5 per stage), width matched to kernel-3x3's parameters."""
    return kernel_cnn(in_shape, num_classes, (5, 5), _width((5, 5), width))


@register_model("kernel-7x7", study="2.1")
def kernel_7x7(in_shape, num_classes, width: float | None = None):
    """6 conv layers (7x7 per stage), width matched to kernel-3x3's parameters."""
    return kernel_cnn(in_shape, num_classes, (7, 7), _width((7, 7), width))


@register_model("kernel-1x1-3x3", study="2.1")
def kernel_1x1_3x3(in_shape, num_classes, width: float | None = None):
    """6 conv layers (1x1+3x3 per stage), width matched to kernel-3x3's parameters."""
    return kernel_cnn(in_shape, num_classes, (1, 3), _width((1, 3), width))
