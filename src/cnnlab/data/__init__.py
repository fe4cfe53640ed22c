"""Datasets as in-memory uint8 tensors: `load_dataset(name)` returns an `ImageData`.

Each dataset registers itself where it is defined (data/registry.py); importing this
package imports them all, in the order `cnnlab datasets` lists them.
"""

from pathlib import Path

# Importing a dataset's module registers it; this order is the order `cnnlab datasets` lists.
from cnnlab.data import mnist_small  # noqa: F401, I001
from cnnlab.data import torchvision_sets  # noqa: F401
from cnnlab.data import synthetic  # noqa: F401
from cnnlab.data import imagefolder  # noqa: F401
from cnnlab.data.core import ImageData, channel_stats
from cnnlab.data.registry import (DatasetEntry, dataset_entry, list_datasets, register_dataset,
                                  unregister_dataset)
from cnnlab.data.synthetic import make_synthetic
from cnnlab.data.torchvision_sets import default_data_dir
from cnnlab.errors import UserError


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
    entry = dataset_entry(name)
    data_dir = data_root(data_dir)
    if entry.prefix:
        return entry.load(name[len(entry.prefix):], data_dir, download).check()
    return entry.load(data_dir, download).check()


def dataset_rows(data_dir=None) -> list[dict]:
    """One row per dataset for `cnnlab datasets`: shape, classes, size, and where it was found
    or why not (`state`: found, missing or corrupt)."""
    data_dir = data_root(data_dir)
    rows = []
    for name in list_datasets():
        entry = dataset_entry(name)
        state, where = entry.where(data_dir)
        rows.append({
            "name": name, "shape": "x".join(map(str, entry.in_shape)) if entry.in_shape else "any",
            "classes": entry.num_classes, "train": entry.train_size, "test": entry.test_size,
            "available": state == "found", "state": state, "where": where, "description": entry.description,
        })
    return rows


__all__ = ["ImageData", "DatasetEntry", "channel_stats", "load_dataset", "dataset_rows", "dataset_entry",
           "list_datasets", "register_dataset", "unregister_dataset", "make_synthetic"]
