"""Name -> layer tables for the pluggable slots of `cnnlab.models.convnet.conv_net`.

Each entry builds a fresh module; studies pick layers by these names (`conv = "custom"`).
"""

import torch.nn as nn

from cnnlab.models.layers.activations import LeakySwish, Swish
from cnnlab.models.layers.attention import CBAM, ChannelAttention
from cnnlab.models.layers.custom_conv import CustomConv2d
from cnnlab.models.layers.lp_pool import LpPool2d

# (in_channels, out_channels, kernel_size, bias) -> a "same"-padded convolution
CONVS = {
    "standard": lambda i, o, k, bias: nn.Conv2d(i, o, k, padding=k // 2, bias=bias),
    "custom": lambda i, o, k, bias: CustomConv2d(i, o, k, bias=bias),
}
ACTIVATIONS = {
    "relu": lambda: nn.ReLU(inplace=True),
    "swish": Swish,
    "leaky-swish": LeakySwish,
}
# 2x2 windows, stride 2
POOLS = {
    "max": lambda: nn.MaxPool2d(2),
    "avg": lambda: nn.AvgPool2d(2),
    "lp": lambda: LpPool2d(2, p=3.0),
}
# (channels) -> an attention module, or None for no attention
ATTENTIONS = {
    "none": None,
    "se": ChannelAttention,
    "cbam": CBAM,
}


def choose(table: dict, name: str, slot: str):
    """table[name], or a ValueError naming the slot and the valid names."""
    if name not in table:
        raise ValueError(f"unknown {slot} {name!r}; valid: {', '.join(table)}")
    return table[name]
