"""Weight decay reaches conv and linear weights only: never biases, norm parameters or the
custom layers' own scalars."""

import pytest
import torch

from cnnlab.models import create_model, list_models
from cnnlab.train import TrainConfig, make_optimizer, parameter_groups


@pytest.mark.parametrize("name", list_models())
def test_no_one_dimensional_parameter_is_decayed(name):
    model = create_model(name, (3, 32, 32), 10)
    optimizer = make_optimizer(model, TrainConfig(optimizer="adamw", weight_decay=0.05))
    decayed = [p for g in optimizer.param_groups if g["weight_decay"] > 0 for p in g["params"]]
    kept = [p for g in optimizer.param_groups if g["weight_decay"] == 0 for p in g["params"]]
    assert decayed and all(p.dim() >= 2 for p in decayed)
    assert all(p.dim() < 2 for p in kept)
    assert len(decayed) + len(kept) == len(list(model.parameters()))


@pytest.mark.parametrize("name,scalars", [("cnn-swish", ["beta"]), ("cnn-custom-act", ["a", "beta"]),
                                          ("cnn-lppool", ["raw_p"]), ("cnn-custom-conv", ["gate"])])
def test_decay_alone_leaves_custom_scalars_and_norms_untouched(name, scalars):
    """A step with zero gradients changes only what is decayed: the 2-D+ weights shrink."""
    model = create_model(name, (3, 32, 32), 10)
    optimizer = make_optimizer(model, TrainConfig(optimizer="adamw", lr=0.1, weight_decay=0.5))
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    for p in model.parameters():
        p.grad = torch.zeros_like(p)
    optimizer.step()
    for n, p in model.named_parameters():
        if p.dim() >= 2:
            torch.testing.assert_close(p.detach(), before[n] * (1 - 0.1 * 0.5))
        else:
            assert torch.equal(p.detach(), before[n]), n
    names = {n.rsplit(".", 1)[-1] for n, p in model.named_parameters() if p.dim() < 2}
    assert set(scalars) <= names


def test_groups_of_a_model_without_weights_or_without_scalars():
    assert [g["weight_decay"] for g in parameter_groups(torch.nn.Linear(3, 2, bias=False), 0.1)] == [0.1]
    assert [g["weight_decay"] for g in parameter_groups(torch.nn.BatchNorm1d(3), 0.1)] == [0.0]
