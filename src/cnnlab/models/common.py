"""What every model file shares: the `Net` container (features + head), input-size checks,
the classifier head, init, parameter counting and the eval-mode context."""

import contextlib

import torch.nn as nn


class Net(nn.Module):
    """features (input -> last feature map, or hidden units for an MLP) -> head (-> logits).

    Analyses read `features` and `head` instead of guessing where the last convolution is:
    feature maps and the effective receptive field are taken at the output of `features`.
    """

    def __init__(self, features: nn.Module, head: nn.Module):
        super().__init__()
        self.features = features
        self.head = head

    def forward(self, x):
        return self.head(self.features(x))


def check_min_size(in_shape, min_hw: int, name: str):
    """Reject inputs too small for a net's downsampling, naming the valid range."""
    _, h, w = in_shape
    if h < min_hw or w < min_hw:
        raise ValueError(f"{name} needs inputs of at least {min_hw}x{min_hw} pixels, got {h}x{w}")


def gap_head(in_ch: int, num_classes: int, dropout: float = 0.0) -> nn.Sequential:
    """Global average pooling -> [dropout] -> linear: works for any input size."""
    layers = [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
    if dropout > 0:
        layers.append(nn.Dropout(dropout))
    layers.append(nn.Linear(in_ch, num_classes))
    return nn.Sequential(*layers)


def kaiming_init(model: nn.Module):
    """He-normal conv weights, zero biases: keeps ReLU activations' scale with depth when
    there is no BatchNorm to do it."""
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)


def count_params(model: nn.Module, trainable_only: bool = False) -> int:
    """Number of parameters (each shared tensor once), optionally only the trainable ones."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


@contextlib.contextmanager
def eval_mode(model: nn.Module):
    """Eval mode (dropout off, BatchNorm on running statistics) inside, the caller's mode after."""
    was_training = model.training
    model.eval()
    try:
        yield model
    finally:
        model.train(was_training)


def weight_layers(shapes: list[list[int]]) -> list[int]:
    """Positions of the weight tensors (2-D or more: conv kernels, linear matrices) among a
    model's parameter shapes; all of them for a model of only 1-D parameters."""
    layers = [j for j, shape in enumerate(shapes) if len(shape) >= 2]
    return layers or list(range(len(shapes)))
