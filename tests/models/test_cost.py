"""Parameter and FLOP counts against closed forms."""

import torch.nn as nn

from cnnlab.models.cost import count_flops, param_counts


def test_conv_flops_match_closed_form():
    # MACs = C_out * H_out * W_out * C_in * k * k; stride 2, no padding: H_out = (10 - 3) // 2 + 1 = 4
    conv = nn.Conv2d(3, 8, 3, stride=2)
    result = count_flops(conv, (3, 10, 10))
    assert result["macs"] == 8 * 4 * 4 * 3 * 3 * 3
    assert result["flops"] == 2 * result["macs"]


def test_grouped_conv_flops_divide_by_groups():
    result = count_flops(nn.Conv2d(4, 8, 3, padding=1, groups=2), (4, 6, 6))
    assert result["macs"] == 8 * 6 * 6 * (4 // 2) * 3 * 3


def test_linear_flops_match_closed_form_and_scale_with_batch():
    model = nn.Sequential(nn.Flatten(), nn.Linear(3 * 4 * 4, 7))
    one = count_flops(model, (3, 4, 4))
    assert one["macs"] == 48 * 7
    assert one["per_module"]["1"]["macs"] == 48 * 7 and one["per_module"]["0"]["macs"] == 0
    assert count_flops(model, (3, 4, 4), batch_size=5)["macs"] == 5 * 48 * 7


def test_per_module_flops_add_up_to_the_total():
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 5 * 5, 3))
    result = count_flops(model, (1, 5, 5))
    conv, linear = 4 * 5 * 5 * 1 * 9, 100 * 3
    assert result["per_module"]["0"]["macs"] == conv
    assert result["per_module"]["3"]["macs"] == linear
    assert result["macs"] == conv + linear == result["per_module"][""]["macs"]


def test_param_counts_total_and_trainable():
    model = nn.Sequential(nn.Linear(10, 5), nn.Linear(5, 2))
    model[0].weight.requires_grad_(False)
    assert param_counts(model) == {"total": 10 * 5 + 5 + 5 * 2 + 2, "trainable": 5 + 5 * 2 + 2}


def test_shared_parameters_count_once():
    layer = nn.Linear(4, 4)
    assert param_counts(nn.Sequential(layer, layer))["total"] == 20
