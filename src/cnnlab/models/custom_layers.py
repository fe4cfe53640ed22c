"""Study 3.1: custom layers, each swapped one at a time into the same baseline CNN.

    cnn-baseline: three stages of [conv3x3 -> BN -> ReLU] x 2 -> 2x2 max-pool
                  (32-64-128 channels), then global average pooling and a linear head.

Each variant changes one slot of `conv_net` (names from `cnnlab.models.layers.choices`).
"""

from cnnlab.models.common import check_min_size
from cnnlab.models.convnet import conv_net
from cnnlab.models.registry import register_model

WIDTHS = (32, 64, 128)


def custom_cnn(in_shape, num_classes, conv="standard", act="relu", pool="max", attention="none", widths=WIDTHS):
    """The study-3.1 CNN with one choice per slot: conv, activation, pooling, attention."""
    check_min_size(in_shape, 2 ** len(widths), f"the study-3.1 CNN ({len(widths)} poolings)")
    stages = [[(w, 3), (w, 3)] for w in widths]
    return conv_net(in_shape, num_classes, stages, conv=conv, act=act, pool=pool, attention=attention)


@register_model("cnn-baseline", study="3.1")
def cnn_baseline(in_shape, num_classes, widths=WIDTHS):
    """3 stages of 2 conv3x3-BN-ReLU + max-pool (32-64-128), GAP head."""
    return custom_cnn(in_shape, num_classes, widths=widths)


@register_model("cnn-custom-conv", study="3.1")
def cnn_custom_conv(in_shape, num_classes, widths=WIDTHS):
    """cnn-baseline with CustomConv2d (standardised filters, learnable gain)."""
    return custom_cnn(in_shape, num_classes, conv="custom", widths=widths)


@register_model("cnn-se", study="3.1")
def cnn_se(in_shape, num_classes, widths=WIDTHS):
    """cnn-baseline with squeeze-and-excitation after each stage."""
    return custom_cnn(in_shape, num_classes, attention="se", widths=widths)


@register_model("cnn-cbam", study="3.1")
def cnn_cbam(in_shape, num_classes, widths=WIDTHS):
    """cnn-baseline with CBAM attention after each stage."""
    return custom_cnn(in_shape, num_classes, attention="cbam", widths=widths)


@register_model("cnn-swish", study="3.1")
def cnn_swish(in_shape, num_classes, widths=WIDTHS):
    """cnn-baseline with Swish (learnable beta) instead of ReLU."""
    return custom_cnn(in_shape, num_classes, act="swish", widths=widths)


@register_model("cnn-custom-act", study="3.1")
def cnn_custom_act(in_shape, num_classes, widths=WIDTHS):
    """cnn-baseline with LeakySwish (learnable leak, beta) instead of ReLU."""
    return custom_cnn(in_shape, num_classes, act="leaky-swish", widths=widths)


@register_model("cnn-lppool", study="3.1")
def cnn_lppool(in_shape, num_classes, widths=WIDTHS):
    """cnn-baseline with LpPool2d (learnable p, init 3) instead of max-pooling."""
    return custom_cnn(in_shape, num_classes, pool="lp", widths=widths)


@register_model("cnn-avgpool", study="3.1")
def cnn_avgpool(in_shape, num_classes, widths=WIDTHS):
    """cnn-baseline with average pooling instead of max-pooling."""
    return custom_cnn(in_shape, num_classes, pool="avg", widths=widths)
