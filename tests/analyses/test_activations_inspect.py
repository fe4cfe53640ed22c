"""Activation capture and the `cnnlab inspect` layer table."""

import json

import torch
import torch.nn as nn

from cnnlab.analyses.activations.measure import capture_activations
from cnnlab.cli.inspect_table import format_inspect_table, inspect_model, inspect_rows
from cnnlab.models.cost import param_counts
from cnnlab.models import create_model


def small_cnn():
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(4, 6, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(6 * 4 * 4, 3))


def test_first_conv_filters_and_last_conv_maps_by_default():
    model = small_cnn()
    images = torch.randn(2, 1, 8, 8)
    result = capture_activations(model, images, max_channels=3)
    assert result["first_conv"] == "0"
    assert torch.equal(torch.tensor(result["filters"]), model[0].weight.detach())
    assert list(result["layers"]) == ["0", "3"]
    assert result["layers"]["3"]["shape"] == [2, 6, 4, 4]
    maps = torch.tensor(result["layers"]["0"]["maps"])
    assert maps.shape == (2, 3, 8, 8)
    torch.testing.assert_close(maps, model[0](images)[:, :3].detach())
    json.dumps(result)


def test_chosen_layers_and_models_without_convs():
    result = capture_activations(small_cnn(), torch.randn(1, 1, 8, 8), layers=["4"])
    assert list(result["layers"]) == ["0", "4"]
    fc = capture_activations(nn.Sequential(nn.Flatten(), nn.Linear(64, 3)), torch.randn(1, 1, 8, 8), layers=["1"])
    assert fc["first_conv"] is None and fc["filters"] is None and list(fc["layers"]) == ["1"]


def test_inspect_rows_for_a_small_cnn():
    model = small_cnn()
    rows = inspect_rows(model, (1, 8, 8))
    assert [r["name"] for r in rows] == ["0", "1", "2", "3", "4", "5", "6"]
    assert rows[0]["out_shape"] == [4, 8, 8] and rows[5]["out_shape"] == [96]
    assert rows[0]["macs"] == 4 * 8 * 8 * 9 and rows[3]["macs"] == 6 * 4 * 4 * 4 * 9 and rows[6]["macs"] == 96 * 3
    assert [r["rf"][0] for r in rows[:5]] == [3, 3, 4, 8, 8]
    assert [r["jump"] for r in rows[4:]] == [[2, 2], None, None]
    assert sum(r["params"] for r in rows) == param_counts(model)["total"]
    table = format_inspect_table(rows)
    assert "MaxPool2d" in table and f"{param_counts(model)['total']:,}" in table
    json.dumps(inspect_model(model, (1, 8, 8)))


def test_inspect_registered_simple_cnn():
    rows = inspect_rows(create_model("simple-cnn", (1, 28, 28)), (1, 28, 28))
    convs = [r for r in rows if r["type"] in ("Conv2d", "MaxPool2d")]
    assert [(r["rf"][0], r["jump"][0]) for r in convs] == [(3, 1), (4, 2), (8, 2), (10, 4)]


def test_shared_module_counts_its_parameters_once():
    shared = nn.Conv2d(2, 2, 3, padding=1)
    rows = inspect_rows(nn.Sequential(nn.Conv2d(1, 2, 1), shared, shared), (1, 6, 6))
    assert [r["params"] for r in rows] == [4, 38, 0]
    assert [r["rf"][0] for r in rows] == [1, 3, 5]


class OwnWeights(nn.Module):
    """A container that holds a weight of its own and uses it outside any leaf module."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 1, 3, padding=1)
        self.head = nn.Parameter(torch.randn(3, 16))

    def forward(self, x):
        return torch.nn.functional.linear(self.conv(x).flatten(1), self.head)


def test_totals_include_what_containers_hold_and_compute():
    model = OwnWeights()
    result = inspect_model(model, (1, 4, 4))
    assert [r["name"] for r in result["rows"]] == ["conv"]
    assert result["total_params"] == 10 + 48
    assert result["total_macs"] == 16 * 9 + 16 * 3
    table = format_inspect_table(result["rows"], result["total_params"], result["total_macs"])
    assert "48 parameters belong to container modules" in table and "58" in table


def test_fixed_test_images_take_one_per_class_in_order():
    from cnnlab.analyses.activations.measure import fixed_test_images
    from cnnlab.data.synthetic import make_synthetic

    data = make_synthetic(n_train=10, n_test=40, num_classes=4, shape=(1, 8, 8))
    raw, labels = fixed_test_images(data, count=6)
    assert labels.tolist() == [0, 1, 2, 3, 0, 1]
    assert raw.dtype == torch.uint8 and raw.shape == (6, 1, 8, 8)
    first_of_class_1 = (data.test_labels == 1).nonzero()[0, 0]
    assert torch.equal(raw[1], data.test_images[first_of_class_1])
