"""The validation split: stratified, seeded by a local generator, carved from the training
images only, and handed back as the test split so tuning runs score through the usual path."""

import math

import pytest
import torch

from cnnlab.data import ImageData, channel_stats, load_dataset
from cnnlab.data.splits import holdout, holdout_indices
from cnnlab.errors import UserError

COUNTS = [50, 30, 7, 2, 1]  # uneven classes, down to one that cannot be split


def make_data(counts=COUNTS, n_test=20) -> ImageData:
    """Every training image is unique (its index written in its pixels), classes interleaved."""
    labels = torch.cat([torch.full((n,), c) for c, n in enumerate(counts)])
    labels = labels[torch.randperm(len(labels), generator=torch.Generator().manual_seed(1))]
    index = torch.arange(len(labels))
    train = torch.stack([index // 256, index % 256, labels], 1).to(torch.uint8)[:, :, None, None].expand(-1, 3, 2, 2)
    test = torch.full((n_test, 3, 2, 2), 255, dtype=torch.uint8)
    mean, std = channel_stats(train.contiguous())
    return ImageData("uneven", [f"c{c}" for c in range(len(counts))], train.contiguous(), labels,
                     test, torch.arange(n_test) % len(counts), mean, std, "made in a test")


def image_ids(images: torch.Tensor) -> list[int]:
    return (images[:, 0, 0, 0].long() * 256 + images[:, 1, 0, 0].long()).tolist()


@pytest.mark.parametrize("fraction", [0.01, 0.1, 0.25, 0.5, 0.9])
def test_each_class_keeps_its_share(fraction):
    data = make_data()
    split = holdout(data, fraction, seed=0)
    for c, n in enumerate(COUNTS):
        held = int((split.test_labels == c).sum())
        kept = int((split.train_labels == c).sum())
        assert held + kept == n
        if n == 1:
            assert held == 0  # the class stays trainable
        else:
            assert held == min(max(math.floor(fraction * n + 0.5), 1), n - 1)
            assert held >= 1 and kept >= 1
    assert abs(len(split.test_labels) - fraction * sum(COUNTS)) <= len(COUNTS)


def test_the_split_is_the_training_set_cut_in_two():
    data = make_data()
    idx = holdout_indices(data.train_labels, 0.2, seed=3)
    split = holdout(data, 0.2, seed=3)
    held, kept = image_ids(split.test_images), image_ids(split.train_images)
    assert held == idx.tolist()  # the validation images are the training images at those indices
    assert not set(held) & set(kept) and sorted(held + kept) == list(range(len(data.train_labels)))
    assert torch.equal(split.test_images, data.train_images[idx])
    assert torch.equal(split.test_labels, data.train_labels[idx])
    rest = torch.tensor([i for i in range(len(data.train_labels)) if i not in set(idx.tolist())])
    assert torch.equal(split.train_images, data.train_images[rest])
    assert torch.equal(split.train_labels, data.train_labels[rest])
    assert split.mean == data.mean and split.std == data.std  # the full training set's normalisation
    assert split.classes == data.classes and split.check() is split
    assert "validation split: " in split.source and f"{len(idx)} of {len(data.train_labels)} training" in split.source


def test_the_real_test_images_are_not_in_it():
    data = make_data()
    split = holdout(data, 0.2, seed=0)
    originals = [data.test_images, data.test_labels]
    for tensor in (split.train_images, split.train_labels, split.test_images, split.test_labels):
        for original in originals:
            start = original.untyped_storage().data_ptr()
            end = start + original.untyped_storage().nbytes()
            assert not start <= tensor.untyped_storage().data_ptr() < end
            assert not start <= tensor.data_ptr() < end
    assert not (split.test_images == 255).all(dim=(1, 2, 3)).any()  # no test image (all 255) among them


def test_the_same_seed_gives_the_same_images_whatever_the_global_rng():
    data = make_data()
    with torch.random.fork_rng():
        torch.manual_seed(0)
        first = holdout_indices(data.train_labels, 0.1, seed=7)
        torch.manual_seed(12345)
        torch.rand(100)
        assert torch.equal(holdout_indices(data.train_labels, 0.1, seed=7), first)
        state = torch.get_rng_state()
        again = holdout(data, 0.1, seed=7)
        assert torch.equal(torch.get_rng_state(), state)  # the global generator was not drawn from
    assert image_ids(again.test_images) == first.tolist()
    assert not torch.equal(holdout_indices(data.train_labels, 0.1, seed=8), first)


def test_a_larger_fraction_holds_out_more_of_the_same_images():
    data = make_data()
    small, large = (set(holdout_indices(data.train_labels, f, seed=2).tolist()) for f in (0.1, 0.3))
    assert small < large


@pytest.mark.parametrize("fraction", [0, 1, -0.1, 1.5, float("nan"), True, "0.1", None])
def test_a_fraction_outside_0_1_is_a_user_error(fraction):
    with pytest.raises(UserError, match="validation fraction must be a number between 0 and 1"):
        holdout(make_data(), fraction, seed=0)


def test_nothing_to_hold_out_is_a_user_error():
    with pytest.raises(UserError, match="no class has 2 training images"):
        holdout(make_data(counts=[1, 1, 1]), 0.5, seed=0)


def test_a_subset_of_real_mnist_small():
    data = load_dataset("mnist-small").subset(1000)
    split = holdout(data, 0.1, seed=0)
    assert len(split.test_labels) + len(split.train_labels) == 1000
    assert 95 <= len(split.test_labels) <= 105
    counts, held = torch.bincount(data.train_labels, minlength=10), torch.bincount(split.test_labels, minlength=10)
    assert ((held - 0.1 * counts).abs() <= 0.5).all()
    idx = holdout_indices(data.train_labels, 0.1, seed=0)
    assert torch.equal(split.test_images, data.train_images[idx])
    assert split.mean == data.mean and split.in_shape == (1, 28, 28)
    assert "first 1,000 training images" in split.source and "validation split: " in split.source
