import pytest
import pytest
import torch

from cnnlab.data.augment import random_crop, random_flip
from cnnlab.data.synthetic import make_synthetic


def test_random_crop_matches_a_manual_crop_per_image():
    images = torch.randint(0, 256, (16, 3, 8, 8), dtype=torch.uint8)
    out = random_crop(images, 2, torch.Generator().manual_seed(0))
    padded = torch.nn.functional.pad(images, (2, 2, 2, 2))
    # Reconstruct the offsets the same generator draws, then crop by hand.
    gen = torch.Generator().manual_seed(0)
    dy = torch.randint(0, 5, (16, 1, 1), generator=gen).flatten()
    dx = torch.randint(0, 5, (16, 1, 1), generator=gen).flatten()
    for i in range(16):
        assert torch.equal(out[i], padded[i, :, dy[i]:dy[i] + 8, dx[i]:dx[i] + 8])
    assert out.shape == images.shape and out.dtype == torch.uint8


def test_random_flip_mirrors_about_half():
    images = torch.arange(64 * 4, dtype=torch.uint8).view(64, 1, 2, 2)
    out = random_flip(images, torch.Generator().manual_seed(1))
    flipped = (out != images).flatten(1).any(1)
    assert torch.equal(out[flipped], images[flipped].flip(3))
    assert torch.equal(out[~flipped], images[~flipped])
    assert 16 < flipped.sum() < 48


@pytest.mark.slow
def test_synthetic_is_deterministic():
    a, b = make_synthetic(seed=3), make_synthetic(seed=3)
    assert torch.equal(a.train_images, b.train_images) and torch.equal(a.test_labels, b.test_labels)
