"""Every registered model: builds for MNIST- and CIFAR-shaped inputs, trains one step, and
rejects bad arguments with a message that names the valid range."""

import pytest
import torch
import torch.nn.functional as F

from cnnlab.models import create_model, list_models

EXPECTED = {
    "fc", "fc-deep", "simple-cnn", "residual-cnn", "residual-cnn-reg",
    "kernel-3x3", "kernel-5x5", "kernel-7x7", "kernel-1x1-3x3",
    "depth", "depth-2", "depth-4", "depth-6", "depth-12", "depth-12-residual",
    "cnn-baseline", "cnn-custom-conv", "cnn-se", "cnn-cbam", "cnn-swish", "cnn-custom-act",
    "cnn-lppool", "cnn-avgpool",
    "resnet-basic", "resnet-bottleneck", "resnet-wide",
}  # fmt: skip
FC_MODELS = {"fc", "fc-deep"}


def test_all_study_models_registered():
    assert EXPECTED <= set(list_models())


@pytest.mark.parametrize("name", list_models())
@pytest.mark.parametrize("in_shape,num_classes", [((1, 28, 28), 10), ((3, 32, 32), 3)])
def test_forward_and_one_training_step(name, in_shape, num_classes):
    torch.manual_seed(0)
    model = create_model(name, in_shape, num_classes)
    x = torch.randn(2, *in_shape)
    y = torch.tensor([0, 1])
    logits = model(x)
    assert logits.shape == (2, num_classes)

    loss = F.cross_entropy(logits, y)
    loss.backward()
    assert torch.isfinite(loss)
    for pname, p in model.named_parameters():
        assert p.grad is not None, f"{name}: no gradient for {pname}"
        assert torch.isfinite(p.grad).all(), f"{name}: non-finite gradient for {pname}"
        assert p.grad.abs().sum() > 0, f"{name}: zero gradient for {pname}"
    torch.optim.SGD(model.parameters(), lr=0.01).step()
    assert torch.isfinite(F.cross_entropy(model(x), y))


def test_unknown_name_lists_valid_models():
    with pytest.raises(ValueError, match="valid models: .*cnn-baseline"):
        create_model("no-such-net")


@pytest.mark.parametrize("name", sorted(set(list_models()) - FC_MODELS))
def test_in_shape_too_small_names_minimum(name):
    with pytest.raises(ValueError, match=r"at least \d+x\d+ pixels, got 2x2"):
        create_model(name, (3, 2, 2))


def test_fc_accepts_any_input_size():
    assert create_model("fc", (1, 2, 2))(torch.randn(2, 1, 2, 2)).shape == (2, 10)


@pytest.mark.parametrize("num_classes", [1, 0, -3])
def test_num_classes_below_two_rejected(num_classes):
    with pytest.raises(ValueError, match="num_classes must be >= 2"):
        create_model("simple-cnn", num_classes=num_classes)


def test_bad_in_shape_rejected():
    with pytest.raises(ValueError, match=r"in_shape must be \(C, H, W\)"):
        create_model("simple-cnn", (28, 28))
