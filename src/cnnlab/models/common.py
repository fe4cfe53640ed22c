"""Helpers shared by the model files: input-size checks and the classifier head."""

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
