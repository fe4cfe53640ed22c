"""Effective receptive field: where the centre unit's gradient lands on the input."""

import pytest
import torch
import torch.nn as nn

from cnnlab.analyses.erf.measure import effective_receptive_field


def support(erf):
    m = torch.tensor(erf["map"])
    rows, cols = (m > 0).nonzero(as_tuple=True)
    return rows.min().item(), rows.max().item(), cols.min().item(), cols.max().item()


def test_single_3x3_conv_is_nonzero_only_in_the_centre_window():
    torch.manual_seed(0)
    erf = effective_receptive_field(nn.Conv2d(1, 4, 3, padding=1), (1, 9, 9), batch_size=4)
    m = torch.tensor(erf["map"])
    assert m.shape == (9, 9)
    assert (m[3:6, 3:6] > 0).all()  # every pixel of the window matters
    assert support(erf) == (3, 5, 3, 5)  # and nothing outside it
    assert m.sum().item() == pytest.approx(1.0, rel=1e-5)
    assert erf["center"] == [4, 4] and erf["side"] in (1, 3)


def test_named_layer_inside_a_deeper_model():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 4, 3, padding=1))
    assert support(effective_receptive_field(model, (1, 11, 11), layer="0")) == (4, 6, 4, 6)
    assert support(effective_receptive_field(model, (1, 11, 11), layer=model[2])) == (3, 7, 3, 7)


def test_layer_without_feature_maps_is_rejected():
    model = nn.Sequential(nn.Flatten(), nn.Linear(16, 2))
    with pytest.raises(ValueError, match="feature maps"):
        effective_receptive_field(model, (1, 4, 4))
    with pytest.raises(ValueError, match="no layer named"):
        effective_receptive_field(model, (1, 4, 4), layer="nope")


def test_runs_in_the_given_precision_layout():
    from cnnlab.train.precision import Precision

    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 4, 3, padding=1))
    plain = effective_receptive_field(model, (3, 9, 9))
    channels_last = effective_receptive_field(model, (3, 9, 9), precision=Precision("fp32", channels_last=True))
    assert torch.allclose(torch.tensor(plain["map"]), torch.tensor(channels_last["map"]), atol=1e-6)
    assert support(channels_last) == (2, 6, 2, 6)
