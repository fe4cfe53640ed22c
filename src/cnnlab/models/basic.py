"""The two study-1.1 baselines: a fully connected net and a small CNN."""

import torch.nn as nn

from cnnlab.models.registry import register_model


def check_min_size(in_shape, min_hw: int, name: str):
    """Reject inputs too small for a net's downsampling, naming the valid range."""
    _, h, w = in_shape
    if h < min_hw or w < min_hw:
        raise ValueError(f"{name} needs inputs of at least {min_hw}x{min_hw} pixels, got {h}x{w}")


@register_model("fc", study="1.1")
def fc(in_shape, num_classes, hidden=(512, 256), dropout=0.0):
    """3-layer MLP on flattened pixels."""
    c, h, w = in_shape
    layers, width = [nn.Flatten()], c * h * w
    for size in hidden:
        layers += [nn.Linear(width, size), nn.ReLU(inplace=True)]
        if dropout:
            layers.append(nn.Dropout(dropout))
        width = size
    layers.append(nn.Linear(width, num_classes))
    return nn.Sequential(*layers)


@register_model("simple-cnn", study="1.1")
def simple_cnn(in_shape, num_classes, width=32, hidden=128):
    """2 conv (3x3, each followed by 2x2 max-pool) + 2 linear layers."""
    check_min_size(in_shape, 4, "simple-cnn")
    c, h, w = in_shape
    return nn.Sequential(
        nn.Conv2d(c, width, 3, padding=1),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(2),
        nn.Conv2d(width, 2 * width, 3, padding=1),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(2 * width * (h // 4) * (w // 4), hidden),
        nn.ReLU(inplace=True),
        nn.Linear(hidden, num_classes),
    )
