"""One builder for every residual network (studies 1.1, 1.2 and 3.2):

    stem conv3x3 -> stages of residual blocks (the first block of every stage after the
    first has stride 2) -> global average pooling -> [dropout] -> linear

Post-activation blocks (basic, bottleneck) follow a conv -> BN -> ReLU stem; the
pre-activation wide block follows a bare stem conv and ends with BN -> ReLU instead.
Without BatchNorm (basic blocks only) each block adds its branch's variance to the
shortcut's, so the branch's last conv is scaled by 1/sqrt(blocks) at init to keep the
output's scale; with BatchNorm that scale would be normalised away.
"""

import math

import torch.nn as nn

from cnnlab.models.blocks import BasicBlock, Bottleneck, WideBlock
from cnnlab.models.common import Net, check_min_size, gap_head, kaiming_init

BLOCKS = ("basic", "bottleneck", "wide")


def resnet(in_shape, num_classes, block: str = "basic", widths=(16, 32, 64), blocks_per_stage: int = 2,
           stem_width: int = 16, batchnorm: bool = True, widen: int = 1, dropout: float = 0.0,
           head_dropout: float = 0.0, init: str = "default") -> Net:
    """`widths`: per stage, the block width (bottleneck: the mid width; outputs are 4x).
    `widen` multiplies the wide blocks' widths; `dropout` sits inside wide blocks,
    `head_dropout` before the classifier. `init`: "default" or "kaiming" (He-normal convs)."""
    if block not in BLOCKS:
        raise ValueError(f"unknown block {block!r}; valid: {', '.join(BLOCKS)}")
    if not isinstance(blocks_per_stage, int) or blocks_per_stage < 1:
        raise ValueError(f"blocks_per_stage must be an integer >= 1, got {blocks_per_stage!r}")
    if not batchnorm and block != "basic":
        raise ValueError(f"{block} blocks always use BatchNorm; only basic blocks can go without")
    if init not in ("default", "kaiming"):
        raise ValueError(f"unknown init {init!r}; valid: default, kaiming")
    check_min_size(in_shape, 2 ** (len(widths) - 1), f"resnet-{block} ({len(widths) - 1} stride-2 stages)")
    pre_activation = block == "wide"
    layers = [nn.Conv2d(in_shape[0], stem_width, 3, padding=1, bias=not batchnorm)]
    if not pre_activation:
        layers += [nn.BatchNorm2d(stem_width)] if batchnorm else []
        layers.append(nn.ReLU(inplace=True))
    prev, blocks = stem_width, []
    for stage, width in enumerate(widths):
        for i in range(blocks_per_stage):
            stride = 2 if stage > 0 and i == 0 else 1
            if block == "basic":
                blocks.append(BasicBlock(prev, width, stride, batchnorm=batchnorm))
                prev = width
            elif block == "bottleneck":
                blocks.append(Bottleneck(prev, width, stride))
                prev = width * Bottleneck.expansion
            else:
                blocks.append(WideBlock(prev, width * widen, stride, dropout))
                prev = width * widen
    layers += blocks
    if pre_activation:
        layers += [nn.BatchNorm2d(prev), nn.ReLU(inplace=True)]
    features = nn.Sequential(*layers)
    if init == "kaiming":
        kaiming_init(features)
    if not batchnorm:
        for b in blocks:
            b.conv2.weight.data.mul_(1 / math.sqrt(len(blocks)))
    return Net(features, gap_head(prev, num_classes, head_dropout))
