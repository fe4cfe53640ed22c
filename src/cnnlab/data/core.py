"""A dataset in cnnlab is four tensors kept whole in memory: images as uint8 (N, C, H, W)."""

from __future__ import annotations  # torch.Tensor in annotations: torch is imported where it is used

from dataclasses import dataclass

from cnnlab.errors import UserError


@dataclass
class ImageData:
    name: str
    classes: list[str]
    train_images: torch.Tensor  # uint8 (N, C, H, W)
    train_labels: torch.Tensor  # int64 (N,)
    test_images: torch.Tensor  # uint8 (M, C, H, W)
    test_labels: torch.Tensor  # int64 (M,)
    mean: tuple[float, ...]  # per channel, of train_images / 255
    std: tuple[float, ...]
    source: str = ""  # where it was found, for reports
    validation: tuple[float, int] | None = None  # (fraction, seed) when the test split is a validation split (holdout)

    @property
    def in_shape(self) -> tuple[int, int, int]:
        return tuple(self.train_images.shape[1:])

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def check(self) -> "ImageData":
        """Raise UserError unless a run could use this data: at least two classes, uint8
        images of one size in both splits, one label per image, every label a class."""
        import torch

        where = f"{self.name} ({self.source})" if self.source else self.name
        if len(self.classes) < 2:
            raise UserError(f"{where}: {len(self.classes)} class(es); a classifier needs at least 2")
        for split, images, labels in (("train", self.train_images, self.train_labels),
                                      ("test", self.test_images, self.test_labels)):
            if images.dtype != torch.uint8 or images.dim() != 4 or min(images.shape[1:], default=0) < 1:
                raise UserError(f"{where}: {split} images must be uint8 (N, C, H, W), "
                                f"got {images.dtype} {tuple(images.shape)}")
            if len(images) == 0:
                raise UserError(f"{where}: no {split} images")
            if len(labels) != len(images):
                raise UserError(f"{where}: {len(images):,} {split} images but {len(labels):,} labels")
            outside = labels[(labels < 0) | (labels >= len(self.classes))]
            if len(outside):
                raise UserError(f"{where}: {split} label {int(outside[0])} is not a class; labels must be "
                                f"0..{len(self.classes) - 1} ({len(self.classes)} classes)")
        if self.train_images.shape[1:] != self.test_images.shape[1:]:
            size = lambda t: "x".join(map(str, t.shape[1:]))  # noqa: E731
            raise UserError(f"{where}: train images are {size(self.train_images)} but test images are "
                            f"{size(self.test_images)}; both splits need one size")
        return self

    def to(self, device) -> "ImageData":
        """Move all four tensors to `device` once, so batches never cross the bus."""
        return ImageData(
            self.name, self.classes,
            self.train_images.to(device), self.train_labels.to(device),
            self.test_images.to(device), self.test_labels.to(device),
            self.mean, self.std, self.source, self.validation,
        )

    def subset(self, n_train: int | None, n_test: int | None = None) -> "ImageData":
        """The first `n_train` training images and the first `n_test` test images (None:
        all of them), for quick CPU runs. Normalisation keeps the full training set's
        statistics, so a subset run sees the same inputs as a full one."""
        notes = [f"first {min(n, len(labels)):,} {what} images"
                 for n, labels, what in ((n_train, self.train_labels, "training"), (n_test, self.test_labels, "test"))
                 if n is not None]
        return ImageData(
            self.name, self.classes,
            self.train_images[:n_train], self.train_labels[:n_train],
            self.test_images[:n_test], self.test_labels[:n_test], self.mean, self.std,
            f"{self.source} ({', '.join(notes)})" if notes else self.source, self.validation,
        )


def channel_stats(images: torch.Tensor) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel mean and std of uint8 images, in [0, 1] units, computed in chunks."""
    import torch

    n, c = images.shape[:2]
    total = torch.zeros(c, dtype=torch.float64)
    total_sq = torch.zeros(c, dtype=torch.float64)
    for start in range(0, n, 4096):
        x = images[start:start + 4096].to(torch.float64).div_(255).transpose(0, 1).reshape(c, -1)
        total += x.sum(1)
        total_sq += (x * x).sum(1)
    count = n * images.shape[2] * images.shape[3]
    mean = total / count
    std = (total_sq / count - mean * mean).clamp_min(1e-12).sqrt()
    return tuple(mean.tolist()), tuple(std.tolist())

