"""A network of my own: two convolutions with the hand-written softsign between them."""

import torch.nn as nn

from layers import Softsign  # a module beside this one: its code keys the runs too


class TinyNet(nn.Module):
    """Built as TinyNet(in_shape=..., num_classes=..., width=...): cnnlab passes the data's shape."""

    def __init__(self, in_shape, num_classes, width: int = 16):
        super().__init__()
        channels, height, width_px = in_shape
        self.features = nn.Sequential(
            nn.Conv2d(channels, width, 3, padding=1), Softsign(), nn.MaxPool2d(2),
            nn.Conv2d(width, 2 * width, 3, padding=1), Softsign(), nn.MaxPool2d(2))
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(2 * width * (height // 4) * (width_px // 4), num_classes))

    def forward(self, x):
        return self.head(self.features(x))
