"""Custom layers for study 3.1. Conv, activation and pooling layers are each backed by a
torch.autograd.Function with a hand-written backward; attention composes standard ops."""

from cnnlab.models.layers.activations import (
    LeakySwish,
    LeakySwishFunction,
    Swish,
    SwishFunction,
    leaky_swish,
    swish,
)
from cnnlab.models.layers.attention import CBAM, ChannelAttention, SpatialAttention
from cnnlab.models.layers.choices import ACTIVATIONS, ATTENTIONS, CONVS, POOLS, choose
from cnnlab.models.layers.custom_conv import CustomConv2d, CustomConv2dFunction
from cnnlab.models.layers.lp_pool import LpPool2d, LpPool2dFunction, lp_pool2d

__all__ = [
    "ACTIVATIONS",
    "ATTENTIONS",
    "CONVS",
    "POOLS",
    "choose",
    "CBAM",
    "ChannelAttention",
    "CustomConv2d",
    "CustomConv2dFunction",
    "LeakySwish",
    "LeakySwishFunction",
    "LpPool2d",
    "LpPool2dFunction",
    "SpatialAttention",
    "Swish",
    "SwishFunction",
    "leaky_swish",
    "lp_pool2d",
    "swish",
]
