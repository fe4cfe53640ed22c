"""Study 3.2: residual block designs at the same depth and stage layout.

    stem conv3x3 (16) -> 3 stages x 2 blocks (strides 1, 2, 2) -> global average pool -> linear

    resnet-basic       BasicBlock, stage widths 16-32-64
    resnet-bottleneck  Bottleneck, mid widths 16-32-64 (outputs 64-128-256)
    resnet-wide        pre-activation WideBlock, widths (16-32-64) * widen (default 2)

Post-activation nets (basic, bottleneck) use stem conv -> BN -> ReLU; the pre-activation
wide net uses a bare stem conv and a final BN -> ReLU before the head instead.
"""

import torch.nn as nn

from cnnlab.models.blocks import BasicBlock, Bottleneck, WideBlock
from cnnlab.models.common import check_min_size, gap_head
from cnnlab.models.registry import register_model

STAGE_WIDTHS = (16, 32, 64)
STAGE_STRIDES = (1, 2, 2)


def resnet(in_shape, num_classes, block="basic", blocks_per_stage=2, stem_width=16, widen=1, dropout=0.0):
    """A 3-stage CIFAR-style ResNet built from `block` in {basic, bottleneck, wide}."""
    if block not in ("basic", "bottleneck", "wide"):
        raise ValueError(f"unknown block {block!r}; valid: basic, bottleneck, wide")
    if blocks_per_stage < 1:
        raise ValueError(f"blocks_per_stage must be >= 1, got {blocks_per_stage}")
    check_min_size(in_shape, 4, f"resnet-{block} (2 stride-2 stages)")
    pre_activation = block == "wide"
    layers = [nn.Conv2d(in_shape[0], stem_width, 3, padding=1, bias=False)]
    if not pre_activation:
        layers += [nn.BatchNorm2d(stem_width), nn.ReLU(inplace=True)]
    prev = stem_width
    for width, stage_stride in zip(STAGE_WIDTHS, STAGE_STRIDES):
        for i in range(blocks_per_stage):
            stride = stage_stride if i == 0 else 1
            if block == "basic":
                layers.append(BasicBlock(prev, width, stride))
                prev = width
            elif block == "bottleneck":
                layers.append(Bottleneck(prev, width, stride))
                prev = width * Bottleneck.expansion
            else:
                layers.append(WideBlock(prev, width * widen, stride, dropout))
                prev = width * widen
    if pre_activation:
        layers += [nn.BatchNorm2d(prev), nn.ReLU(inplace=True)]
    return nn.Sequential(*layers, gap_head(prev, num_classes))


@register_model("resnet-basic", study="3.2")
def resnet_basic(in_shape, num_classes, blocks_per_stage=2):
    """3 stages x 2 BasicBlocks (16-32-64 channels), BatchNorm, GAP head."""
    return resnet(in_shape, num_classes, "basic", blocks_per_stage)


@register_model("resnet-bottleneck", study="3.2")
def resnet_bottleneck(in_shape, num_classes, blocks_per_stage=2):
    """3 stages x 2 Bottleneck blocks (mid 16-32-64, out 64-128-256), BatchNorm, GAP head."""
    return resnet(in_shape, num_classes, "bottleneck", blocks_per_stage)


@register_model("resnet-wide", study="3.2")
def resnet_wide(in_shape, num_classes, blocks_per_stage=2, widen=2, dropout=0.0):
    """3 stages x 2 pre-activation WideBlocks, widths (16-32-64) x widen (default 2)."""
    return resnet(in_shape, num_classes, "wide", blocks_per_stage, widen=widen, dropout=dropout)
