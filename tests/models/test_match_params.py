"""match_params and the parameter-matched kernel-size family."""

import pytest
import torch.nn as nn

from cnnlab.models import count_params, create_model, match_params

KERNELS = {"kernel-3x3": (3, 3), "kernel-5x5": (5, 5), "kernel-7x7": (7, 7), "kernel-1x1-3x3": (1, 3)}


def linear_family(width):
    return nn.Linear(10, max(1, round(width)))  # 11 parameters per unit of width


def test_match_params_integer_width_hits_exact_target():
    assert match_params(linear_family, 11 * 37, lo=1, hi=500, integer=True) == 37


def test_match_params_float_width_within_tolerance():
    width = match_params(lambda w: nn.Linear(10, round(w * 50)), 11 * 120, lo=0.1, hi=10.0)
    assert round(width * 50) == 120


def test_match_params_errors_name_the_valid_range():
    with pytest.raises(ValueError, match=r"outside what widths 1\.\.5 give \(11\.\.55\)"):
        match_params(linear_family, 1000, lo=1, hi=5, integer=True)
    # Too coarse: widths move the count in steps of 1100 around a target of 1650.
    with pytest.raises(ValueError, match="allowed: 2%"):
        match_params(lambda w: nn.Linear(10, 100 * max(1, round(w))), 1650, lo=1, hi=10, integer=True)


def conv_layers(model):
    return [m for m in model.modules() if isinstance(m, nn.Conv2d)]


def pools(model):
    return [m for m in model.modules() if isinstance(m, nn.MaxPool2d)]


def test_kernel_family_is_parameter_matched_with_the_same_layout():
    reference = create_model("kernel-3x3", (3, 32, 32), 10)
    target = count_params(reference)
    for name, kernels in KERNELS.items():
        model = create_model(name, (3, 32, 32), 10)
        assert abs(count_params(model) - target) <= 0.02 * target, name
        convs = conv_layers(model)
        assert len(convs) == len(conv_layers(reference)) and len(pools(model)) == len(pools(reference))
        assert [c.kernel_size[0] for c in convs] == list(kernels) * 3
