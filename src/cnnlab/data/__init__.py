"""Datasets as in-memory uint8 tensors: `load_dataset(name)` returns an `ImageData`."""

from importlib.resources import files
from pathlib import Path

from cnnlab.data.core import ImageData, channel_stats
from cnnlab.data.idx import read_idx
from cnnlab.data.synthetic import make_synthetic
from cnnlab.data.torchvision_sets import IDX_SETS, default_data_dir, locate, load_torchvision
from cnnlab.errors import UserError

MNIST_CLASSES = [str(d) for d in range(10)]

# name -> (shape, classes, train size, test size, description) for `cnnlab datasets`
DATASETS = {
    "mnist-small": ((1, 28, 28), 10, 5000, 10000, "real MNIST subset, shipped in the package (offline default)"),
    "mnist": ((1, 28, 28), 10, 60000, 10000, "MNIST via torchvision"),
    "fashion-mnist": ((1, 28, 28), 10, 60000, 10000, "Fashion-MNIST via torchvision"),
    "cifar10": ((3, 32, 32), 10, 50000, 10000, "CIFAR-10 via torchvision (or a JPEG image-folder copy)"),
    "synthetic": ((1, 28, 28), 10, 2000, 500, "generated patterns, for tests and smoke runs"),
    "imagefolder:PATH": (None, None, None, None, "your images: PATH/train/<class>/*, PATH/test/<class>/*, or a .tar.gz"),
}


def list_dataset_names() -> list[str]:
    return list(DATASETS)


def data_root(data_dir=None) -> Path:
    """The --data-dir given, or the default; an empty one is a mistake, not the default."""
    if data_dir is None:
        return default_data_dir()
    if not str(data_dir).strip():
        raise UserError("--data-dir is empty; give a directory, or leave it out for the default "
                        f"({default_data_dir()})")
    return Path(data_dir)


def load_dataset(name: str, data_dir=None, download: bool = True) -> ImageData:
    """Load a dataset by name, checked (`ImageData.check`). Raises UserError for unknown
    names, missing or corrupt files, and data no run could use."""
    return _load(name, data_dir, download).check()


def _load(name: str, data_dir, download: bool) -> ImageData:
    data_dir = data_root(data_dir)
    if name == "mnist-small":
        return load_mnist_small()
    if name == "synthetic":
        return make_synthetic()
    if name.startswith("imagefolder:"):
        from cnnlab.data.imagefolder import load_imagefolder

        return load_imagefolder(name.split(":", 1)[1])
    if name in IDX_SETS or name == "cifar10":
        return load_torchvision(name, data_dir, download)
    raise UserError(f"unknown dataset {name!r}; valid datasets: {', '.join(DATASETS)}")


def load_mnist_small() -> ImageData:
    bundled = files("cnnlab.data") / "bundled"
    tensors = [
        read_idx(bundled / f"mnist-small-{split}-{kind}.gz", 3 if kind.startswith("images") else 1)
        for split in ("train", "t10k") for kind in ("images-idx3-ubyte", "labels-idx1-ubyte")
    ]
    train_x, train_y, test_x, test_y = tensors
    mean, std = channel_stats(train_x.unsqueeze(1))
    return ImageData(
        name="mnist-small", classes=MNIST_CLASSES,
        train_images=train_x.unsqueeze(1), train_labels=train_y.long(),
        test_images=test_x.unsqueeze(1), test_labels=test_y.long(),
        mean=mean, std=std, source="bundled with cnnlab (real MNIST: 5,000 train / 10,000 test)",
    )


def dataset_rows(data_dir=None) -> list[dict]:
    """One row per dataset for `cnnlab datasets`: shape, classes, size, and where it was found
    or why not (`state`: found, missing or corrupt)."""
    data_dir = data_root(data_dir)
    rows = []
    for name, (shape, n_classes, n_train, n_test, desc) in DATASETS.items():
        if name in ("mnist-small", "synthetic"):
            state, where = "found", "bundled" if name == "mnist-small" else "generated"
        elif name.startswith("imagefolder"):
            state, where = "found", "any path you give"
        else:
            state, where = locate(name, data_dir)
        rows.append({
            "name": name, "shape": "x".join(map(str, shape)) if shape else "any",
            "classes": n_classes, "train": n_train, "test": n_test,
            "available": state == "found", "state": state, "where": where, "description": desc,
        })
    return rows


__all__ = ["ImageData", "channel_stats", "load_dataset", "dataset_rows", "make_synthetic", "DATASETS"]
