"""Theoretical receptive fields against values worked out by hand."""

import torch.nn as nn
import torch.nn.functional as F

from cnnlab.analyses.receptive_field.measure import receptive_field


def out_field(model, in_shape=(1, 16, 16)):
    return receptive_field(model, in_shape)["output"]


def test_two_stacked_3x3_convs_see_5x5():
    rf = receptive_field(nn.Sequential(nn.Conv2d(1, 2, 3), nn.Conv2d(2, 2, 3)), (1, 16, 16))
    assert [layer["rf"] for layer in rf["layers"]] == [[3, 3], [5, 5]]
    assert rf["output"]["jump"] == [1, 1]
    # Unpadded: the first output unit is centred on input pixel 1, then 2.
    assert [layer["start"] for layer in rf["layers"]] == [[1, 1], [2, 2]]


def test_conv_pool_conv_sees_8x8_with_jump_2():
    model = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.MaxPool2d(2, stride=2), nn.Conv2d(2, 2, 3, padding=1))
    rf = receptive_field(model, (1, 16, 16))
    assert [layer["rf"][0] for layer in rf["layers"]] == [3, 4, 8]
    assert [layer["jump"][0] for layer in rf["layers"]] == [1, 2, 2]
    assert rf["layers"][1]["out_shape"] == [2, 8, 8]


def test_dilated_3x3_sees_5x5():
    assert out_field(nn.Sequential(nn.Conv2d(1, 1, 3, dilation=2)))["rf"] == [5, 5]


def test_non_square_kernel_and_stride_per_axis():
    f = out_field(nn.Sequential(nn.Conv2d(1, 1, (3, 1)), nn.Conv2d(1, 1, (1, 5), stride=(2, 1)),
                                nn.Conv2d(1, 1, (3, 1))))
    # rows: 3 -> 3 (jump 2) -> 3 + 2 * 2 = 7; cols: 1 -> 5 (jump 1) -> 5
    assert f["rf"] == [7, 5]
    assert f["jump"] == [2, 1]


class Residual(nn.Module):
    """out = relu(conv(relu(conv(x))) + shortcut(x))"""

    def __init__(self, stride=1, project=False):
        super().__init__()
        self.conv1 = nn.Conv2d(2, 2, 3, stride=stride, padding=1)
        self.conv2 = nn.Conv2d(2, 2, 3, padding=1)
        self.shortcut = nn.Conv2d(2, 2, 1, stride=stride) if project else nn.Identity()

    def forward(self, x):
        out = self.conv2(F.relu(self.conv1(x)))
        out += self.shortcut(x)  # in place, as many ResNet codes write it
        return F.relu(out)


def test_residual_block_field_is_its_longer_branch():
    # Longer branch: two 3x3 convs -> 5; shortcut -> 1 (identity).
    assert out_field(nn.Sequential(nn.Conv2d(1, 2, 1), Residual()))["rf"] == [5, 5]
    # Strided block: conv3 s2 -> 3 (jump 2), conv3 -> 3 + 2*2 = 7; 1x1 s2 shortcut -> 1.
    f = out_field(nn.Sequential(nn.Conv2d(1, 2, 1), Residual(stride=2, project=True)))
    assert f["rf"] == [7, 7]
    assert f["jump"] == [2, 2]


def test_block_after_a_conv_grows_from_that_conv():
    # conv3 -> 3; block branch adds 2 + 2 -> 7; identity keeps 3; union is 7.
    assert out_field(nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), Residual()))["rf"] == [7, 7]


def test_padding_modes_and_same_padding_do_not_change_the_field():
    reflect = nn.Conv2d(1, 1, 3, padding=1, padding_mode="reflect")  # runs F.pad, then an unpadded conv
    same = nn.Conv2d(1, 1, 3, padding="same")
    for layer in (reflect, same):
        f = out_field(nn.Sequential(layer, nn.Conv2d(1, 1, 3, padding=1)))
        assert f["rf"] == [5, 5] and f["start"] == [0, 0]


def test_global_pooling_and_flatten_mix_all_positions():
    model = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(2, 3))
    layers = receptive_field(model, (1, 8, 8))["layers"]
    # Global pool over 8 positions of field 3, jump 1: 3 + 7 = 10; one output position: no jump.
    assert layers[1]["rf"] == [10, 10] and layers[1]["jump"] is None
    assert layers[2]["jump"] is None and layers[3]["rf"] == [10, 10]


class UnfoldPool(nn.Module):
    """A custom 2x2 max pool written with unfold: its internals lose the spatial layout."""

    kernel_size = 2
    stride = None

    def forward(self, x):
        n, c, h, w = x.shape
        return F.unfold(x, 2, stride=2).view(n, c, 4, -1).amax(2).view(n, c, h // 2, w // 2)


def test_custom_window_module_uses_its_kernel_size_attribute():
    model = nn.Sequential(nn.Conv2d(1, 1, 3, padding=1), UnfoldPool(), nn.Conv2d(1, 1, 3, padding=1))
    layers = receptive_field(model, (1, 8, 8))["layers"]
    assert layers[1]["type"] == "UnfoldPool"
    assert layers[1]["rf"] == [4, 4] and layers[1]["jump"] == [2, 2]
    assert layers[2]["rf"] == [8, 8]


def test_model_state_is_restored():
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2)).train()
    receptive_field(model, (1, 8, 8))
    assert model.training


def test_adaptive_pooling_that_keeps_a_grid_keeps_the_jump():
    model = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.AdaptiveAvgPool2d(4), nn.MaxPool2d(4))
    layers = receptive_field(model, (1, 8, 8))["layers"]
    assert layers[1]["rf"] == [4, 4] and layers[1]["jump"] == [2, 2]  # 8 -> 4: windows of 2, stride 2
    assert layers[2]["jump"] is None  # a window pool over the whole 4x4 grid is global pooling too
