"""Helpers shared by the model files: input-size checks, the classifier head, init."""

import torch.nn as nn


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
