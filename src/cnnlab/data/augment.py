"""Batch augmentation on the training device: whole-batch tensor ops, no per-sample Python.

`generator=None` draws from the device's default generator (what a CUDA graph replays)."""

import torch
import torch.nn.functional as F


def _draw_device(images: torch.Tensor, generator: torch.Generator | None) -> torch.device:
    return generator.device if generator is not None else images.device


def random_crop(images: torch.Tensor, padding: int, generator: torch.Generator | None) -> torch.Tensor:
    """Zero-pad by `padding` and take one random HxW crop per image (as in torchvision's RandomCrop)."""
    n, _, h, w = images.shape
    padded = F.pad(images, (padding,) * 4)
    device = _draw_device(images, generator)
    dy = torch.randint(0, 2 * padding + 1, (n, 1, 1), generator=generator, device=device)
    dx = torch.randint(0, 2 * padding + 1, (n, 1, 1), generator=generator, device=device)
    dy, dx = dy.to(images.device), dx.to(images.device)
    rows = dy + torch.arange(h, device=images.device).view(1, h, 1)  # (n, h, 1)
    cols = dx + torch.arange(w, device=images.device).view(1, 1, w)  # (n, 1, w)
    batch = torch.arange(n, device=images.device).view(n, 1, 1)
    # Advanced indexing gathers (n, h, w, C); move channels back to dim 1.
    return padded.permute(0, 2, 3, 1)[batch, rows, cols].permute(0, 3, 1, 2)


def random_flip(images: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """Mirror a random half of the batch left-right."""
    flip = torch.rand(images.shape[0], generator=generator, device=_draw_device(images, generator)) < 0.5
    return torch.where(flip.to(images.device).view(-1, 1, 1, 1), images.flip(3), images)
