"""WideBlock (Zagoruyko & Komodakis 2016): a pre-activation basic block with dropout.

    x -> BN -> ReLU -> conv3x3(stride) -> BN -> ReLU -> dropout -> conv3x3
      -> (+ shortcut(x))

Pre-activation (He et al. 2016b): nothing follows the addition, so the shortcut path is a
clean identity; a network of these blocks needs a final BN -> ReLU before its head.
The projection (1x1 conv + BN, as in the other blocks) reads the raw input x.
"Wide" comes from the network multiplying every stage's width by `widen`. Parameters:
    2*in + 9*in*out + 2*out + 9*out*out  [+ in*out + 2*out for the projection]
"""

import torch.nn as nn

from cnnlab.models.blocks.shortcut import conv3x3, shortcut


class WideBlock(nn.Module):
    expansion = 1

    def __init__(self, in_ch: int, out_ch: int, stride: int = 1, dropout: float = 0.0):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_ch)
        self.conv1 = conv3x3(in_ch, out_ch, stride)
        self.bn2 = nn.BatchNorm2d(out_ch)
        self.conv2 = conv3x3(out_ch, out_ch)
        self.relu = nn.ReLU(inplace=True)
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.shortcut = shortcut(in_ch, out_ch, stride)

    def forward(self, x):
        out = self.conv1(self.relu(self.bn1(x)))
        out = self.conv2(self.dropout(self.relu(self.bn2(out))))
        return out + self.shortcut(x)
