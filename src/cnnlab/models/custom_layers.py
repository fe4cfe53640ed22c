"""Study 3.1: custom layers, each swapped one at a time into the same baseline CNN.

    cnn-baseline: three stages of [conv3x3 -> BN -> ReLU] x 2 -> 2x2 max-pool
                  (32-64-128 channels), then global average pooling and a linear head.

    cnn-custom-conv  CustomConv2d (standardised filters + learnable gain) for nn.Conv2d
    cnn-se           squeeze-and-excitation after each stage's convs
    cnn-cbam         CBAM (channel then spatial attention) after each stage's convs
    cnn-swish        Swish (learnable beta) for ReLU
    cnn-custom-act   LeakySwish (learnable leak and beta) for ReLU
    cnn-lppool       LpPool2d (learnable p, init 3) for max-pooling
    cnn-avgpool      average pooling for max-pooling (the standard analog of LpPool p=1)
"""

import torch.nn as nn

from cnnlab.models.common import check_min_size, gap_head
from cnnlab.models.layers import CBAM, ChannelAttention, CustomConv2d, LeakySwish, LpPool2d, Swish
from cnnlab.models.registry import register_model

CONVS = {
    "standard": lambda i, o: nn.Conv2d(i, o, 3, padding=1, bias=False),
    "custom": lambda i, o: CustomConv2d(i, o, 3, bias=False),
}
ACTIVATIONS = {"relu": lambda: nn.ReLU(inplace=True), "swish": Swish, "leaky-swish": LeakySwish}
POOLS = {"max": lambda: nn.MaxPool2d(2), "avg": lambda: nn.AvgPool2d(2), "lp": lambda: LpPool2d(2, p=3.0)}
ATTENTIONS = {"none": None, "se": ChannelAttention, "cbam": CBAM}


def _choice(table: dict, value: str, what: str):
    if value not in table:
        raise ValueError(f"unknown {what} {value!r}; valid: {', '.join(table)}")
    return table[value]


def custom_cnn(in_shape, num_classes, conv="standard", act="relu", pool="max", attention="none", widths=(32, 64, 128)):
    """The study-3.1 CNN with one choice per slot: conv, activation, pooling, attention."""
    make_conv = _choice(CONVS, conv, "conv")
    make_act = _choice(ACTIVATIONS, act, "activation")
    make_pool = _choice(POOLS, pool, "pooling")
    make_attention = _choice(ATTENTIONS, attention, "attention")
    check_min_size(in_shape, 2 ** len(widths), f"the study-3.1 CNN ({len(widths)} poolings)")
    layers, prev = [], in_shape[0]
    for width in widths:
        for _ in range(2):
            layers += [make_conv(prev, width), nn.BatchNorm2d(width), make_act()]
            prev = width
        if make_attention is not None:
            layers.append(make_attention(width))
        layers.append(make_pool())
    return nn.Sequential(*layers, gap_head(prev, num_classes))


VARIANTS = {
    "cnn-baseline": ({}, "3 stages of 2 conv3x3-BN-ReLU + max-pool (32-64-128), GAP head"),
    "cnn-custom-conv": ({"conv": "custom"}, "cnn-baseline with CustomConv2d (standardised filters, learnable gain)"),
    "cnn-se": ({"attention": "se"}, "cnn-baseline with squeeze-and-excitation after each stage"),
    "cnn-cbam": ({"attention": "cbam"}, "cnn-baseline with CBAM attention after each stage"),
    "cnn-swish": ({"act": "swish"}, "cnn-baseline with Swish (learnable beta) instead of ReLU"),
    "cnn-custom-act": ({"act": "leaky-swish"}, "cnn-baseline with LeakySwish (learnable leak, beta) instead of ReLU"),
    "cnn-lppool": ({"pool": "lp"}, "cnn-baseline with LpPool2d (learnable p, init 3) instead of max-pooling"),
    "cnn-avgpool": ({"pool": "avg"}, "cnn-baseline with average pooling instead of max-pooling"),
}


def _make(name: str, choices: dict, description: str):
    def factory(in_shape, num_classes, **kwargs):
        return custom_cnn(in_shape, num_classes, **{**choices, **kwargs})

    register_model(name, study="3.1", description=description)(factory)


for _name, (_choices, _description) in VARIANTS.items():
    _make(_name, _choices, _description)
