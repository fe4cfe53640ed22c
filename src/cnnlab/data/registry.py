"""Datasets register themselves by name, as models do; `load_dataset` (data/__init__.py)
loads any of them and `cnnlab datasets` lists them in registration order.

A loader has the signature `load(data_dir, download) -> ImageData`. A name ending in
`:WORD` (`imagefolder:PATH`) is a family: any name with that prefix and a non-empty rest
(`imagefolder:photos`) is one of its datasets, and its loader is `load(rest, data_dir, download)`.
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from cnnlab.errors import UserError
from cnnlab.plugins import failed_plugins_hint, load_plugins


@dataclass(frozen=True)
class DatasetEntry:
    name: str  # as listed and written in study files: "mnist", or "imagefolder:PATH" for a family
    load: Callable  # load(data_dir, download), or load(rest_of_name, data_dir, download) for a family
    description: str = ""
    in_shape: tuple[int, int, int] | None = None  # (C, H, W); None: any
    num_classes: int | None = None  # None: any, as are the sizes
    train_size: int | None = None
    test_size: int | None = None
    locate: Callable[[Path], tuple[str, str]] | None = None  # data_dir -> (found/missing/corrupt, where or why)
    bundled: bool = False  # ships inside the package: always there, offline too

    @property
    def prefix(self) -> str | None:
        """"imagefolder:" for the family "imagefolder:PATH"; None for a single dataset."""
        return self.name[:self.name.index(":") + 1] if ":" in self.name else None

    def where(self, data_dir: Path) -> tuple[str, str]:
        """("found", where), ("missing", what is missing) or ("corrupt", why), for `cnnlab datasets`."""
        if self.locate is not None:
            return self.locate(Path(data_dir))
        return "found", "bundled" if self.bundled else "no files needed"


_REGISTRY: dict[str, DatasetEntry] = {}


def register_dataset(name: str, load: Callable | None = None, *, description: str = "", in_shape=None,
                     num_classes: int | None = None, train_size: int | None = None, test_size: int | None = None,
                     locate: Callable | None = None, bundled: bool = False):
    """`register_dataset("toy", load, ...)` registers a loader and returns its entry; without
    `load` it is a decorator: `@register_dataset("mnist-small", in_shape=(1, 28, 28), ...)`."""

    def wrap(fn):
        if name in _REGISTRY:
            raise RuntimeError(f"dataset {name!r} registered twice")
        if ":" in name and (name.endswith(":") or name.startswith(":")):
            raise RuntimeError(f"dataset family {name!r} must read PREFIX:WORD, e.g. imagefolder:PATH")
        shape = tuple(int(s) for s in in_shape) if in_shape is not None else None
        _REGISTRY[name] = DatasetEntry(name, fn, description, shape, num_classes, train_size, test_size, locate,
                                       bundled)
        return fn

    if load is None:
        return wrap
    wrap(load)
    return _REGISTRY[name]


def list_datasets() -> list[str]:
    """Every registered name, in registration order (the bundled default first)."""
    load_plugins()
    return list(_REGISTRY)


def dataset_entry(name: str) -> DatasetEntry:
    """The entry for a listed name (`imagefolder:PATH` included) or for one of a family's
    datasets (`imagefolder:photos`). Raises UserError naming the valid datasets otherwise."""
    if name not in _REGISTRY:
        load_plugins()  # a plug-in module may register it ($CNNLAB_PLUGINS, entry points)
    if name in _REGISTRY:
        return _REGISTRY[name]
    for entry in _REGISTRY.values():
        if entry.prefix and name.startswith(entry.prefix) and len(name) > len(entry.prefix):
            return entry
    raise UserError(f"unknown dataset {name!r}; valid datasets: {', '.join(list_datasets())}"
                    f"{failed_plugins_hint()}")


def unregister_dataset(name: str):
    """Remove a registered name (tests, or a notebook cell that registers again)."""
    if name not in _REGISTRY:
        raise UserError(f"unknown dataset {name!r}; valid datasets: {', '.join(list_datasets())}")
    del _REGISTRY[name]
