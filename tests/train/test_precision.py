"""A run's precision: the numeric type asked for, in the memory layout that is fast on its device."""

import pytest
import torch
import torch.nn as nn

from cnnlab.data.synthetic import make_synthetic
from cnnlab.errors import UserError
from cnnlab.models import create_model
from cnnlab.train import TrainConfig, resolve_precision, train
from cnnlab.train import precision as precision_module

CPU, CUDA = torch.device("cpu"), torch.device("cuda")


def test_fp32_is_channels_last_on_the_cpu_and_contiguous_on_cuda():
    assert (resolve_precision("fp32", CPU).name, resolve_precision("fp32", CPU).channels_last) == ("fp32", True)
    assert (resolve_precision("fp32", CUDA).name, resolve_precision("fp32", CUDA).channels_last) == ("fp32", False)
    assert resolve_precision("bf16", CPU).channels_last and resolve_precision("bf16", CUDA).channels_last


@pytest.mark.parametrize("has_bf16, expected", [(False, "fp32"), (True, "bf16")])
def test_auto_on_the_cpu_follows_its_bf16_support(monkeypatch, has_bf16, expected):
    monkeypatch.setattr(precision_module, "cpu_supports_bf16", lambda: has_bf16)
    resolved = resolve_precision("auto", CPU)
    assert resolved.name == expected and resolved.channels_last


def test_unknown_precision_names_the_valid_ones():
    with pytest.raises(UserError, match="unknown precision 'fp16'; valid: .*fp32.*bf16"):
        resolve_precision("fp16", CPU)


def test_fp32_training_on_the_cpu_feeds_the_model_channels_last_inputs():
    data = make_synthetic(n_train=128, n_test=64, shape=(3, 8, 8))
    model = create_model("simple-cnn", data.in_shape, data.num_classes, width=4, hidden=8)
    layouts = []
    first_conv = next(m for m in model.modules() if isinstance(m, nn.Conv2d))
    first_conv.register_forward_pre_hook(
        lambda _, args: layouts.append(args[0].is_contiguous(memory_format=torch.channels_last)
                                       and not args[0].is_contiguous()))
    history = train(model, data, TrainConfig(epochs=1, batch_size=32, precision="fp32"), device="cpu",
                    verbosity="none")
    assert history.precision == "fp32"
    assert layouts and all(layouts)  # training and evaluation batches alike
    assert first_conv.weight.is_contiguous(memory_format=torch.channels_last)


def test_the_layout_changes_an_fp32_step_only_by_rounding():
    torch.manual_seed(0)
    x, y = torch.randn(16, 3, 12, 12), torch.randint(0, 10, (16,))
    initial, updated = None, []
    for channels_last in (False, True):
        torch.manual_seed(1)
        model = create_model("kernel-3x3", (3, 12, 12), 10)
        inputs = x
        if channels_last:
            model, inputs = model.to(memory_format=torch.channels_last), x.contiguous(memory_format=torch.channels_last)
        initial = torch.cat([p.detach().flatten() for p in model.parameters()])
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        nn.functional.cross_entropy(model(inputs), y).backward()
        optimizer.step()
        updated.append(torch.cat([p.detach().flatten() for p in model.parameters()]))
    assert (updated[1] - initial).abs().max() > 1e-3  # the step moved the weights
    torch.testing.assert_close(updated[0], updated[1], rtol=1e-4, atol=1e-5)
