"""The shortcut shared by every residual block: identity, or a projection when shapes change."""

import torch.nn as nn


def shortcut(in_ch: int, out_ch: int, stride: int = 1, batchnorm: bool = True) -> nn.Module:
    """Identity when input and output shapes match, else 1x1 conv (+ BN) projection."""
    if stride == 1 and in_ch == out_ch:
        return nn.Identity()
    if not batchnorm:
        return nn.Conv2d(in_ch, out_ch, 1, stride=stride)
    return nn.Sequential(
        nn.Conv2d(in_ch, out_ch, 1, stride=stride, bias=False),
        nn.BatchNorm2d(out_ch),
    )


def conv3x3(in_ch: int, out_ch: int, stride: int = 1, bias: bool = False) -> nn.Conv2d:
    return nn.Conv2d(in_ch, out_ch, 3, stride=stride, padding=1, bias=bias)


def norm(ch: int, batchnorm: bool) -> nn.Module:
    return nn.BatchNorm2d(ch) if batchnorm else nn.Identity()
