"""Custom layers: hand-written backwards pass gradcheck and match the standard ops they generalise."""

import pytest
import torch
import torch.nn.functional as F
from torch.autograd import gradcheck

from cnnlab.models.layers import (
    CBAM,
    ChannelAttention,
    CustomConv2d,
    CustomConv2dFunction,
    LeakySwish,
    LeakySwishFunction,
    LpPool2d,
    SpatialAttention,
    Swish,
    SwishFunction,
    lp_pool2d,
)

D = torch.float64


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def leaf(*shape, scale=1.0, offset=0.0):
    return (torch.randn(*shape, dtype=D) * scale + offset).requires_grad_()


# ---- CustomConv2d ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "standardize,gate,stride,padding,groups",
    [
        (True, True, 1, 1, 1),
        (True, False, 1, 1, 1),
        (False, True, 1, 1, 1),
        (False, False, 1, 1, 1),
        (True, True, 2, 0, 1),
        (True, True, 1, 1, 2),
    ],
)
def test_custom_conv_gradcheck(standardize, gate, stride, padding, groups):
    x, w, b = leaf(1, 2, 5, 5), leaf(4, 2 // groups, 3, 3), leaf(4)
    g = leaf(4, scale=0.3, offset=1.0) if gate else None
    inputs = (x, w, b) + ((g,) if gate else ())

    def f(x, w, b, *g):
        gate_t = g[0] if g else None
        return CustomConv2dFunction.apply(
            x, w, b, gate_t, (stride,) * 2, (padding,) * 2, (1, 1), groups, standardize, 1e-5
        )

    assert gradcheck(f, inputs)


def test_custom_conv_uses_hand_written_backward():
    y = CustomConv2d(3, 4, 3)(torch.randn(1, 3, 5, 5))
    assert "CustomConv2dFunction" in type(y.grad_fn).__name__


def test_custom_conv_without_extras_equals_f_conv2d():
    conv = CustomConv2d(5, 7, 3, stride=2, standardize=False, gate=False)
    x = torch.randn(3, 5, 11, 11, requires_grad=True)
    x_ref = x.detach().clone().requires_grad_()
    w_ref = conv.weight.detach().clone().requires_grad_()
    b_ref = conv.bias.detach().clone().requires_grad_()

    y, y_ref = conv(x), F.conv2d(x_ref, w_ref, b_ref, stride=2, padding=1)
    torch.testing.assert_close(y, y_ref, atol=1e-6, rtol=0)
    grad = torch.randn_like(y)
    y.backward(grad)
    y_ref.backward(grad)
    torch.testing.assert_close(x.grad, x_ref.grad, atol=1e-6, rtol=0)
    torch.testing.assert_close(conv.weight.grad, w_ref.grad, atol=1e-5, rtol=1e-6)
    torch.testing.assert_close(conv.bias.grad, b_ref.grad, atol=1e-5, rtol=1e-6)


def test_custom_conv_starts_as_centred_conv_and_ignores_weight_scale():
    conv = CustomConv2d(4, 6, 3, bias=False)
    x = torch.randn(2, 4, 8, 8)
    centred = conv.weight - conv.weight.mean(dim=(1, 2, 3), keepdim=True)
    # The gain starts at each centred filter's norm: same output as a plain conv with centred weights.
    torch.testing.assert_close(conv(x), F.conv2d(x, centred, padding=1), atol=1e-5, rtol=1e-5)
    # Standardised filters: rescaling or shifting a filter's weights changes nothing.
    before = conv(x)
    with torch.no_grad():
        conv.weight.mul_(7.0).add_(0.5)
    torch.testing.assert_close(conv(x), before, atol=1e-4, rtol=1e-4)  # up to eps in the norm


def test_custom_conv_rejects_string_padding():
    with pytest.raises(ValueError, match="integer padding"):
        CustomConv2d(3, 4, 3, padding="same")


# ---- activations ----------------------------------------------------------------------


@pytest.mark.parametrize("channels", [1, 3])
def test_swish_gradcheck(channels):
    x = leaf(2, 3, 4, 4, scale=2.0)
    beta = leaf(channels, scale=0.3, offset=1.0)
    assert gradcheck(SwishFunction.apply, (x, beta))


@pytest.mark.parametrize("channels", [1, 3])
def test_leaky_swish_gradcheck(channels):
    x = leaf(2, 3, 5, scale=2.0)  # also a (N, C, L) input
    a = leaf(channels, scale=0.1, offset=0.2)
    beta = leaf(channels, scale=0.3, offset=1.0)
    assert gradcheck(LeakySwishFunction.apply, (x, a, beta))


def test_swish_beta_one_equals_silu():
    x = (torch.randn(4, 8, 5, 5) * 3).requires_grad_()
    x_ref = x.detach().clone().requires_grad_()
    act = Swish(beta=1.0)
    y = act(x)
    assert "SwishFunction" in type(y.grad_fn).__name__
    torch.testing.assert_close(y, F.silu(x_ref), atol=1e-6, rtol=0)
    y.sum().backward()
    F.silu(x_ref).sum().backward()
    torch.testing.assert_close(x.grad, x_ref.grad, atol=1e-6, rtol=0)


def test_leaky_swish_special_cases():
    x = torch.randn(4, 8, 5, 5) * 3
    torch.testing.assert_close(LeakySwish(a=0.0, beta=1.0)(x), F.silu(x), atol=1e-6, rtol=0)
    torch.testing.assert_close(LeakySwish(a=1.0)(x), x, atol=1e-6, rtol=0)
    # A sharp gate turns it into LeakyReLU(a) away from 0.
    far = x[x.abs() > 0.5]
    torch.testing.assert_close(LeakySwish(a=0.2, beta=100.0)(far), F.leaky_relu(far, 0.2), atol=1e-4, rtol=0)


def test_activation_parameters_learn():
    act = LeakySwish(num_parameters=4)
    act(torch.randn(2, 4, 3, 3)).square().sum().backward()
    assert act.a.grad.shape == (4,) and act.beta.grad.shape == (4,)
    assert act.a.grad.abs().min() > 0 and act.beta.grad.abs().min() > 0


# ---- LpPool2d -------------------------------------------------------------------------


@pytest.mark.parametrize("kernel,stride,p", [(2, None, 2.5), (3, 1, 1.5), (2, 2, 16.0), ((2, 3), (1, 2), 4.0)])
def test_lp_pool_gradcheck(kernel, stride, p):
    x = leaf(2, 2, 7, 7)
    p_t = torch.tensor(p, dtype=D, requires_grad=True)
    assert gradcheck(lambda x, p: lp_pool2d(x, p, kernel, stride), (x, p_t))


def test_lp_pool_p1_equals_avg_pool_of_abs():
    x = torch.randn(3, 4, 9, 9) * 2
    y = LpPool2d(2, p=1.0, learnable=False)(x)
    torch.testing.assert_close(y, F.avg_pool2d(x.abs(), 2), atol=1e-6, rtol=0)


def test_lp_pool_large_p_approaches_max_pool_of_abs():
    x = torch.randn(3, 4, 10, 10) * 100  # large values: the per-window scaling must prevent overflow
    p = 64.0
    # Windows of 2 values: the power mean is within 2^(-1/64) ~ 1.1% of the max.
    y = lp_pool2d(x, p, kernel_size=(1, 2))
    ref = F.max_pool2d(x.abs(), (1, 2))
    assert torch.isfinite(y).all()
    assert ((ref - y) / ref).max() < 0.02
    # 2x2 windows: the exact bound is max * 4^(-1/p) <= y <= max (4^(-1/64) = 0.9786).
    y = LpPool2d(2, p=p)(x)
    ref = F.max_pool2d(x.abs(), 2)
    assert (y <= ref * (1 + 1e-6)).all()
    assert (y >= ref * 4 ** (-1 / p) * (1 - 1e-6)).all()
    assert (y - ref).norm() / ref.norm() < 1 - 4 ** (-1 / p) + 1e-6


def test_lp_pool_p_is_learnable_and_stays_at_least_one():
    pool = LpPool2d(2, p=3.0)
    assert pool.p.item() == pytest.approx(3.0)
    y = pool(torch.randn(2, 3, 6, 6))
    assert "LpPool2dFunction" in type(y.grad_fn).__name__
    y.sum().backward()
    assert pool.raw_p.grad is not None and pool.raw_p.grad.abs() > 0
    with torch.no_grad():
        pool.raw_p.fill_(-50.0)
    assert pool.p.item() >= 1.0
    with pytest.raises(ValueError, match="p > 1"):
        LpPool2d(2, p=1.0)


# ---- attention ------------------------------------------------------------------------


def test_channel_attention_scales_whole_channels():
    x = torch.randn(2, 16, 5, 5)
    ratio = ChannelAttention(16, reduction=4)(x) / x
    assert ((ratio > 0) & (ratio < 1)).all()  # a sigmoid gate
    torch.testing.assert_close(ratio, ratio[:, :, :1, :1].expand_as(ratio))  # one gate per channel


def test_spatial_attention_scales_whole_positions():
    x = torch.randn(2, 8, 5, 5)
    ratio = SpatialAttention(7)(x) / x
    assert ((ratio > 0) & (ratio < 1)).all()
    torch.testing.assert_close(ratio, ratio[:, :1].expand_as(ratio))  # one gate per position


def test_cbam_is_channel_then_spatial():
    cbam = CBAM(16, reduction=4)
    x = torch.randn(2, 16, 6, 6)
    assert cbam.channel.use_max
    torch.testing.assert_close(cbam(x), cbam.spatial(cbam.channel(x)))


# ---- mixed precision and memory layout (what the trainer uses) ---------------------------


def test_custom_layers_under_bf16_autocast_and_channels_last():
    layers = torch.nn.Sequential(CustomConv2d(3, 8, 3), Swish(), LeakySwish(), LpPool2d(2), CBAM(8, 4))
    layers = layers.to(memory_format=torch.channels_last)
    x = torch.randn(2, 3, 8, 8).to(memory_format=torch.channels_last).requires_grad_()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        y = layers(x)
    y.float().square().mean().backward()
    assert torch.isfinite(x.grad).all()
    for name, p in layers.named_parameters():
        assert p.grad is not None and p.grad.dtype == p.dtype and torch.isfinite(p.grad).all(), name
