"""From stored uint8 images to what a model takes: augment (training only), normalise, lay out.

Built once per run on the training device, so the normalisation constants are tensors
there from the start and every batch is a couple of fused element-wise ops.
"""

import torch

from cnnlab.data.augment import random_crop, random_flip
from cnnlab.data.core import ImageData
from cnnlab.train.config import TrainConfig
from cnnlab.train.precision import Precision


class Inputs:
    def __init__(self, data: ImageData, precision: Precision, device, config: TrainConfig | None = None):
        device = torch.device(device)
        mean = torch.tensor(data.mean, dtype=torch.float32, device=device).view(1, -1, 1, 1)
        std = torch.tensor(data.std, dtype=torch.float32, device=device).view(1, -1, 1, 1)
        # (x / 255 - mean) / std as one multiply-add.
        self.scale = 1 / (255 * std)
        self.shift = -mean / std
        self.precision = precision
        self.device = device
        self.crop_padding = config.crop_padding if config and config.augment else 0
        self.flip = bool(config and config.augment and config.flip)

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        """Evaluation inputs: normalised float32 in the run's memory layout."""
        x = torch.addcmul(self.shift, images.to(self.device, torch.float32), self.scale)
        return self.precision.apply_to_inputs(x)

    def augmented(self, images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """Training inputs: random crop and flip (if the run augments), then as __call__."""
        if self.crop_padding:
            images = random_crop(images, self.crop_padding, generator)
        if self.flip:
            images = random_flip(images, generator)
        return self(images)
