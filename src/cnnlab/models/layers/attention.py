"""Attention for CNNs: channel (squeeze-and-excitation), spatial, and CBAM (both in turn).

These compose standard ops (pooling, small convs/linears, sigmoid), so autograd
differentiates them; the hand-written backwards live in the conv, activation and
pooling layers.
"""

import torch
import torch.nn as nn


class ChannelAttention(nn.Module):
    """Squeeze-and-excitation (Hu et al. 2018): rescale each channel by a learnt gate.

    gate = sigmoid(MLP(avgpool(x))), MLP = Linear(C, C/r) -> ReLU -> Linear(C/r, C).
    `use_max=True` also feeds the max-pooled descriptor through the same MLP and adds
    the two, as CBAM's channel module does (Woo et al. 2018).
    """

    def __init__(self, channels: int, reduction: int = 16, use_max: bool = False, min_hidden: int = 8):
        super().__init__()
        hidden = max(channels // reduction, min(min_hidden, channels))
        self.mlp = nn.Sequential(
            nn.Linear(channels, hidden),
            nn.ReLU(inplace=True),
            nn.Linear(hidden, channels),
        )
        self.use_max = use_max

    def forward(self, x):
        logits = self.mlp(x.mean(dim=(2, 3)))
        if self.use_max:
            logits = logits + self.mlp(x.amax(dim=(2, 3)))
        return x * torch.sigmoid(logits)[:, :, None, None]


class SpatialAttention(nn.Module):
    """CBAM's spatial module: rescale each position by a learnt gate.

    gate = sigmoid(conv_kxk([mean over channels, max over channels])).
    """

    def __init__(self, kernel_size: int = 7):
        super().__init__()
        self.conv = nn.Conv2d(2, 1, kernel_size, padding=kernel_size // 2)

    def forward(self, x):
        descriptor = torch.cat([x.mean(dim=1, keepdim=True), x.amax(dim=1, keepdim=True)], dim=1)
        return x * torch.sigmoid(self.conv(descriptor))


class CBAM(nn.Module):
    """Convolutional Block Attention Module: channel attention, then spatial attention."""

    def __init__(self, channels: int, reduction: int = 16, kernel_size: int = 7):
        super().__init__()
        self.channel = ChannelAttention(channels, reduction, use_max=True)
        self.spatial = SpatialAttention(kernel_size)

    def forward(self, x):
        return self.spatial(self.channel(x))
