"""Study 1 residual CNNs: a conv stem and three BasicBlocks, without and with regularisation.

    stem conv3x3 (32) -> BasicBlock(32) -> BasicBlock(64, /2) -> BasicBlock(128, /2)
      -> global average pool -> [dropout] -> linear

`residual-cnn-reg` is the same net with BatchNorm in every block and dropout before the
classifier; weight decay and augmentation come from the study config, not the model.
"""

import math

import torch.nn as nn

from cnnlab.models.blocks import BasicBlock
from cnnlab.models.common import check_min_size, gap_head, kaiming_init
from cnnlab.models.registry import register_model


def residual_cnn_body(in_ch: int, widths=(32, 64, 128), batchnorm: bool = False) -> nn.Sequential:
    stem = [nn.Conv2d(in_ch, widths[0], 3, padding=1, bias=not batchnorm)]
    if batchnorm:
        stem.append(nn.BatchNorm2d(widths[0]))
    stem.append(nn.ReLU(inplace=True))
    blocks, prev = [], widths[0]
    for i, width in enumerate(widths):
        blocks.append(BasicBlock(prev, width, stride=1 if i == 0 else 2, batchnorm=batchnorm))
        prev = width
    body = nn.Sequential(*stem, *blocks)
    kaiming_init(body)
    if not batchnorm:
        # Without BatchNorm each block adds its branch's variance to the shortcut's; scaling
        # the branch's last conv by 1/sqrt(blocks) keeps the output's scale at init (as in
        # the residual depth nets). With BatchNorm the scale would be normalised away.
        for block in blocks:
            block.conv2.weight.data.mul_(1 / math.sqrt(len(blocks)))
    return body


@register_model("residual-cnn", study="1.1")
def residual_cnn(in_shape, num_classes, widths=(32, 64, 128)):
    """Conv stem + 3 residual BasicBlocks (32-64-128 channels), no BatchNorm, Kaiming init, GAP head."""
    check_min_size(in_shape, 4, "residual-cnn")
    return nn.Sequential(residual_cnn_body(in_shape[0], widths), gap_head(widths[-1], num_classes))


@register_model("residual-cnn-reg", study="1.2")
def residual_cnn_reg(in_shape, num_classes, widths=(32, 64, 128), dropout=0.3):
    """residual-cnn with BatchNorm in every block and dropout 0.3 before the classifier."""
    check_min_size(in_shape, 4, "residual-cnn-reg")
    body = residual_cnn_body(in_shape[0], widths, batchnorm=True)
    return nn.Sequential(body, gap_head(widths[-1], num_classes, dropout))
