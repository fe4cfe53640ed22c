"""BasicBlock (He et al. 2016): two 3x3 convs with an identity (or projection) shortcut.

    x -> conv3x3(stride) -> BN -> ReLU -> conv3x3 -> BN -> (+ shortcut(x)) -> ReLU

Parameters (batchnorm=True, bias-free convs, BN has weight and bias):
    9*in*out + 9*out*out + 4*out  [+ in*out + 2*out for the projection]
With batchnorm=False (the plain residual CNN of study 1) the convs get biases instead:
    9*in*out + 9*out*out + 2*out  [+ in*out + out]
"""

import torch.nn as nn

from cnnlab.models.blocks.shortcut import conv3x3, norm, shortcut


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, in_ch: int, out_ch: int, stride: int = 1, batchnorm: bool = True):
        super().__init__()
        bias = not batchnorm  # BN's shift makes a conv bias redundant
        self.conv1 = conv3x3(in_ch, out_ch, stride, bias=bias)
        self.bn1 = norm(out_ch, batchnorm)
        self.conv2 = conv3x3(out_ch, out_ch, bias=bias)
        self.bn2 = norm(out_ch, batchnorm)
        self.relu = nn.ReLU(inplace=True)
        self.shortcut = shortcut(in_ch, out_ch, stride, batchnorm)

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + self.shortcut(x))
