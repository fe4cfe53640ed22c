"""A validation split carved from the training set, for choosing settings without the test set.

`holdout(data, fraction, seed)` returns data whose training split is the rest of the training
images and whose *test* split is the held-out validation images, so a tuning run trains and
scores through the same code as any other run while the real test images are not even in it.
The split is stratified (every class keeps its share, up to rounding) and depends on the seed
alone: a local generator, so the same images are held out for every model, whatever the
global RNG has done.
"""

from __future__ import annotations  # torch.Tensor in annotations: torch is imported where it is used

import math

from cnnlab.data.core import ImageData
from cnnlab.errors import UserError


def holdout_indices(labels: torch.Tensor, fraction: float, seed: int) -> torch.Tensor:
    """Sorted indices (into `labels`) of the validation images: round(fraction * n) of each
    class's n images, at least one of a class with two or more and never all of them."""
    import torch

    if isinstance(fraction, bool) or not isinstance(fraction, (int, float)) or not 0 < fraction < 1:
        raise UserError(f"validation fraction must be a number between 0 and 1 (exclusive), got {fraction!r}")
    labels = labels.cpu()
    # One shuffle of all images, each class taking its first k: a larger fraction holds out
    # a superset of a smaller one's images.
    order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(int(seed)))
    shuffled = labels[order]
    picked = []
    for c in torch.unique(labels).tolist():
        members = order[shuffled == c]
        n = len(members)
        k = 0 if n < 2 else min(max(math.floor(fraction * n + 0.5), 1), n - 1)
        picked.append(members[:k])
    indices = torch.cat(picked).sort().values if picked else torch.zeros(0, dtype=torch.int64)
    if len(indices) == 0:
        raise UserError(f"no class has 2 training images to split; cannot hold out a validation split "
                        f"of {len(labels):,} images")
    return indices


def holdout(data: ImageData, fraction: float, seed: int) -> ImageData:
    """`data` with training split = the training images not held out, and test split = the
    validation images (`holdout_indices(data.train_labels, fraction, seed)`). Normalisation
    keeps the full training set's statistics, so inputs match those of the full-data runs."""
    import torch

    val = holdout_indices(data.train_labels, fraction, seed).to(data.train_labels.device)
    keep = torch.ones(len(data.train_labels), dtype=torch.bool, device=data.train_labels.device)
    keep[val] = False
    n, k = len(data.train_labels), len(val)
    note = f"validation split: {k:,} of {n:,} training images held out, stratified, seed {seed}"
    return ImageData(
        data.name, data.classes,
        data.train_images[keep], data.train_labels[keep],
        data.train_images[val], data.train_labels[val], data.mean, data.std,
        f"{data.source} ({note})" if data.source else note, validation=(fraction, seed),
    )
