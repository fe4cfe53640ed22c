"""Study 1 baselines: fully connected nets (`fc`, `fc-deep`) and a small CNN (`simple-cnn`)."""

import torch.nn as nn

from cnnlab.models.common import Net, check_min_size
from cnnlab.models.registry import register_model


def mlp(in_shape, num_classes, hidden=(512, 256), dropout=0.0) -> Net:
    """Flatten -> [linear -> ReLU -> (dropout)] per hidden size -> linear."""
    c, h, w = in_shape
    layers, width = [nn.Flatten()], c * h * w
    for size in hidden:
        layers += [nn.Linear(width, size), nn.ReLU(inplace=True)]
        if dropout:
            layers.append(nn.Dropout(dropout))
        width = size
    return Net(nn.Sequential(*layers), nn.Linear(width, num_classes))


@register_model("fc", study="1.1")
def fc(in_shape, num_classes, hidden=(512, 256), dropout=0.0):
    """3-layer MLP on flattened pixels (512-256 hidden units)."""
    return mlp(in_shape, num_classes, hidden, dropout)


@register_model("fc-deep", study="1.2")
def fc_deep(in_shape, num_classes, hidden=(1024, 512, 512, 256), dropout=0.3):
    """5-layer MLP (1024-512-512-256 hidden units) with dropout 0.3 after each hidden layer."""
    return mlp(in_shape, num_classes, hidden, dropout)


@register_model("simple-cnn", study="1.1")
def simple_cnn(in_shape, num_classes, width=32, hidden=128):
    """2 conv (3x3, each followed by 2x2 max-pool) + 2 linear layers."""
    check_min_size(in_shape, 4, "simple-cnn")
    c, h, w = in_shape
    # Pool before ReLU: max-pooling and ReLU commute (ReLU is monotone), so this is the same
    # function and the same gradients as conv-ReLU-pool, with the ReLU on 4x fewer values.
    features = nn.Sequential(
        nn.Conv2d(c, width, 3, padding=1),
        nn.MaxPool2d(2),
        nn.ReLU(inplace=True),
        nn.Conv2d(width, 2 * width, 3, padding=1),
        nn.MaxPool2d(2),
        nn.ReLU(inplace=True),
    )
    head = nn.Sequential(
        nn.Flatten(),
        nn.Linear(2 * width * (h // 4) * (w // 4), hidden),
        nn.ReLU(inplace=True),
        nn.Linear(hidden, num_classes),
    )
    return Net(features, head)
