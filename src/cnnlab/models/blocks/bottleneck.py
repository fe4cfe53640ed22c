"""Bottleneck (He et al. 2016): 1x1 reduce -> 3x3 -> 1x1 expand to 4*mid_ch channels.

    x -> conv1x1 -> BN -> ReLU -> conv3x3(stride) -> BN -> ReLU -> conv1x1 -> BN
      -> (+ shortcut(x)) -> ReLU

The stride sits on the 3x3 conv (the "ResNet v1.5" placement). Parameters:
    in*mid + 9*mid*mid + 4*mid*mid + 2*(mid + mid + 4*mid)
    [+ in*4*mid + 2*4*mid for the projection]
"""

import torch.nn as nn

from cnnlab.models.blocks.shortcut import conv3x3, shortcut


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, in_ch: int, mid_ch: int, stride: int = 1):
        super().__init__()
        out_ch = self.expansion * mid_ch
        self.conv1 = nn.Conv2d(in_ch, mid_ch, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(mid_ch)
        self.conv2 = conv3x3(mid_ch, mid_ch, stride)
        self.bn2 = nn.BatchNorm2d(mid_ch)
        self.conv3 = nn.Conv2d(mid_ch, out_ch, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out_ch)
        self.relu = nn.ReLU(inplace=True)
        self.shortcut = shortcut(in_ch, out_ch, stride)

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + self.shortcut(x))
