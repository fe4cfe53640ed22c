"""Residual blocks: closed-form parameter counts, output shapes, and shortcut wiring."""

import pytest
import torch
import torch.nn as nn

from cnnlab.models import count_params
from cnnlab.models.blocks import BasicBlock, Bottleneck, WideBlock

# (in_ch, out_ch, stride): identity shortcut, channel change, downsampling, both.
SHAPES = [(16, 16, 1), (16, 32, 1), (16, 16, 2), (16, 32, 2)]


def projection(in_ch, out_ch, stride, per_channel=2):
    """Parameters of the 1x1 conv (+ BN) shortcut, or 0 for the identity."""
    changes = stride != 1 or in_ch != out_ch
    return in_ch * out_ch + per_channel * out_ch if changes else 0


@pytest.mark.parametrize("i,o,s", SHAPES)
def test_basic_block_param_count(i, o, s):
    assert count_params(BasicBlock(i, o, s)) == 9 * i * o + 9 * o * o + 4 * o + projection(i, o, s)
    # Without BatchNorm the convs carry biases instead of BN's weight and bias.
    expected = 9 * i * o + 9 * o * o + 2 * o + projection(i, o, s, per_channel=1)
    assert count_params(BasicBlock(i, o, s, batchnorm=False)) == expected


@pytest.mark.parametrize("i,m,s", [(64, 16, 1), (16, 16, 1), (64, 32, 2), (64, 16, 2)])
def test_bottleneck_param_count(i, m, s):
    o = 4 * m
    expected = i * m + 9 * m * m + m * o + 2 * (m + m + o) + projection(i, o, s)
    assert count_params(Bottleneck(i, m, s)) == expected


@pytest.mark.parametrize("i,o,s", SHAPES)
def test_wide_block_param_count(i, o, s):
    expected = 2 * i + 9 * i * o + 2 * o + 9 * o * o + projection(i, o, s)
    assert count_params(WideBlock(i, o, s, dropout=0.3)) == expected


@pytest.mark.parametrize(
    "make",
    [
        lambda i, o, s: BasicBlock(i, o, s),
        lambda i, o, s: BasicBlock(i, o, s, batchnorm=False),
        lambda i, o, s: Bottleneck(i, o // 4, s),
        lambda i, o, s: WideBlock(i, o, s),
    ],
    ids=["basic", "basic-no-bn", "bottleneck", "wide"],
)
@pytest.mark.parametrize("i,o,s", SHAPES)
def test_block_shapes_and_projection_only_when_needed(make, i, o, s):
    block = make(i, o, s)
    y = block(torch.randn(2, i, 8, 8))
    assert y.shape == (2, o, 8 // s, 8 // s)
    needs_projection = s != 1 or i != o
    assert isinstance(block.shortcut, nn.Identity) != needs_projection


@pytest.mark.parametrize(
    "block,in_ch,silence,post_relu",
    [
        (BasicBlock(8, 8), 8, "bn2", True),
        (Bottleneck(32, 8), 32, "bn3", True),
        (WideBlock(8, 8), 8, "conv2", False),  # pre-activation: nothing after the sum
    ],
    ids=["basic", "bottleneck", "wide"],
)
def test_identity_shortcut_carries_the_input(block, in_ch, silence, post_relu):
    # Zero the last layer of the residual branch: only the shortcut path remains.
    with torch.no_grad():
        getattr(block, silence).weight.zero_()
    x = torch.randn(2, in_ch, 6, 6)
    torch.testing.assert_close(block(x), torch.relu(x) if post_relu else x)
