"""Study 3.2: residual block designs at the same depth and stage layout.

    stem conv3x3 (16) -> 3 stages x 2 blocks (strides 1, 2, 2) -> global average pool -> linear

    resnet-basic       BasicBlock, stage widths 16-32-64
    resnet-bottleneck  Bottleneck, mid widths 16-32-64 (outputs 64-128-256)
    resnet-wide        pre-activation WideBlock, widths (16-32-64) * widen (default 2)
"""

from cnnlab.models.registry import register_model
from cnnlab.models.resnet import resnet

STAGE_WIDTHS = (16, 32, 64)


@register_model("resnet-basic", study="3.2")
def resnet_basic(in_shape, num_classes, blocks_per_stage=2):
    """3 stages x 2 BasicBlocks (16-32-64 channels), BatchNorm, GAP head."""
    return resnet(in_shape, num_classes, "basic", STAGE_WIDTHS, blocks_per_stage)


@register_model("resnet-bottleneck", study="3.2")
def resnet_bottleneck(in_shape, num_classes, blocks_per_stage=2):
    """3 stages x 2 Bottleneck blocks (mid 16-32-64, out 64-128-256), BatchNorm, GAP head."""
    return resnet(in_shape, num_classes, "bottleneck", STAGE_WIDTHS, blocks_per_stage)


@register_model("resnet-wide", study="3.2")
def resnet_wide(in_shape, num_classes, blocks_per_stage=2, widen=2, dropout=0.0):
    """3 stages x 2 pre-activation WideBlocks, widths (16-32-64) x widen (default 2)."""
    return resnet(in_shape, num_classes, "wide", STAGE_WIDTHS, blocks_per_stage, widen=widen, dropout=dropout)
