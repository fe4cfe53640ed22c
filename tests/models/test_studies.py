"""Each study's models differ only in what the study compares."""

import pytest
import torch
import torch.nn as nn

from cnnlab.models import count_params, create_model
from cnnlab.models.blocks import BasicBlock, Bottleneck, WideBlock
from cnnlab.models.convnet import ResidualConv


def module_types(model):
    return {type(m) for m in model.modules()}


def test_fc_depths():
    def linears(name):
        return [m for m in create_model(name).modules() if isinstance(m, nn.Linear)]

    assert len(linears("fc")) == 3
    assert len(linears("fc-deep")) >= 5
    assert any(isinstance(m, nn.Dropout) for m in create_model("fc-deep").modules())


def test_regularised_residual_cnn_only_adds_batchnorm_and_dropout():
    plain, reg = create_model("residual-cnn", (3, 32, 32)), create_model("residual-cnn-reg", (3, 32, 32))
    assert module_types(reg) - module_types(plain) == {nn.BatchNorm2d, nn.Dropout}
    convs = [m.weight.shape for m in plain.modules() if isinstance(m, nn.Conv2d)]
    assert convs == [m.weight.shape for m in reg.modules() if isinstance(m, nn.Conv2d)]


@pytest.mark.parametrize("depth", [2, 3, 4, 6, 12])
def test_depth_family(depth):
    plain = create_model("depth", (3, 32, 32), depth=depth)
    residual = create_model("depth", (3, 32, 32), depth=depth, residual=True)
    for model in (plain, residual):
        convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
        assert len(convs) == depth and {c.out_channels for c in convs} == {32}
        assert nn.BatchNorm2d not in module_types(model)
    assert count_params(plain) == count_params(residual)  # shortcuts are parameter-free
    assert sum(isinstance(m, ResidualConv) for m in residual.modules()) == depth - 1
    assert nn.BatchNorm2d in module_types(create_model("depth", depth=depth, batchnorm=True))


def test_named_depth_models_match_generic_factory():
    for name, kwargs in [("depth-6", {"depth": 6}), ("depth-12-residual", {"depth": 12, "residual": True})]:
        a, b = create_model(name, (3, 32, 32)), create_model("depth", (3, 32, 32), **kwargs)
        assert [p.shape for p in a.parameters()] == [p.shape for p in b.parameters()]
        assert module_types(a) == module_types(b)


def test_depth_rejects_bad_depth():
    with pytest.raises(ValueError, match="depth must be an integer >= 2"):
        create_model("depth", depth=1)


def test_deep_residual_stack_keeps_signal_bounded_at_init():
    torch.manual_seed(0)
    x = torch.randn(8, 3, 32, 32)
    features = create_model("depth-12-residual", (3, 32, 32)).features
    ratio = features(x).pow(2).mean().sqrt() / x.pow(2).mean().sqrt()
    assert 0.1 < ratio < 10


# One change each relative to cnn-baseline: (module types added, module types removed).
CUSTOM_VARIANTS = {
    "cnn-custom-conv": ("CustomConv2d", "Conv2d"),
    "cnn-se": ("ChannelAttention", None),
    "cnn-cbam": ("CBAM", None),
    "cnn-swish": ("Swish", "ReLU"),
    "cnn-custom-act": ("LeakySwish", "ReLU"),
    "cnn-lppool": ("LpPool2d", "MaxPool2d"),
    "cnn-avgpool": ("AvgPool2d", "MaxPool2d"),
}


@pytest.mark.parametrize("name", CUSTOM_VARIANTS)
def test_custom_layer_variants_change_one_thing(name):
    added, removed = CUSTOM_VARIANTS[name]
    base = {t.__name__ for t in module_types(create_model("cnn-baseline", (3, 32, 32)))}
    variant = {t.__name__ for t in module_types(create_model(name, (3, 32, 32)))}
    assert added in variant - base
    assert base - variant == ({removed} if removed else set())


def test_resnets_share_depth_and_stage_layout():
    layouts = {}
    for name, block in [("resnet-basic", BasicBlock), ("resnet-bottleneck", Bottleneck), ("resnet-wide", WideBlock)]:
        model = create_model(name, (3, 32, 32))
        blocks = [m for m in model.modules() if isinstance(m, block)]
        strides = [b.conv2.stride[0] if block is Bottleneck else b.conv1.stride[0] for b in blocks]
        layouts[name] = strides
    assert layouts["resnet-basic"] == layouts["resnet-bottleneck"] == layouts["resnet-wide"] == [1, 1, 2, 1, 2, 1]
    wide = create_model("resnet-wide", (3, 32, 32))
    assert wide.head[-1].in_features == 64 * 2  # widen=2 doubles the last stage
