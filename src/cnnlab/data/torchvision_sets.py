"""MNIST, Fashion-MNIST and CIFAR-10 through torchvision, rooted at the data directory.

torchvision knows where each dataset lives and how to download it; cnnlab adds a clear
error when the files are missing offline, validates IDX files before reading them, and
accepts a JPEG image-folder copy of CIFAR-10 (`cifar10-jpeg/` or `cifar10-jpeg.tar.gz`)
where the python batches are absent.
"""

from __future__ import annotations  # torch.Tensor in annotations: torch is imported where it is used

import os
import shutil
import socket
from functools import partial
from pathlib import Path

from cnnlab.data.core import ImageData, channel_stats
from cnnlab.data.idx import check_idx_file, read_idx
from cnnlab.data.registry import register_dataset
from cnnlab.errors import UserError, first_line, one_line

IDX_SETS = {"mnist": "MNIST", "fashion-mnist": "FashionMNIST"}  # torchvision.datasets class names
CIFAR_JPEG_NAMES = ("cifar10-jpeg", "cifar10-jpeg.tar.gz")


def _torchvision_class(name: str):
    """torchvision's class for `name`. Imported on use: `import torchvision` takes seconds
    (it loads its models and ops), and reports, listings and bad-input errors need no dataset."""
    import torchvision.datasets

    return getattr(torchvision.datasets, IDX_SETS.get(name, "CIFAR10"))


def default_data_dir() -> Path:
    return Path(os.environ.get("CNNLAB_DATA", Path.home() / ".cache" / "cnnlab" / "data"))


# The files of an MNIST-style set under DATA/<torchvision class>/raw/, as torchvision's MNIST and
# FashionMNIST name them (tests check them against its `resources`): listing needs no torchvision.
IDX_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


def idx_files(name: str, data_dir: Path) -> list[Path]:
    raw = Path(data_dir) / IDX_SETS[name] / "raw"
    return [raw / file for file in IDX_FILES]


def cifar_files(data_dir: Path) -> list[Path]:
    folder = Path(data_dir) / "cifar-10-batches-py"
    return [folder / f"data_batch_{i}" for i in range(1, 6)] + [folder / "test_batch"]


def locate(name: str, data_dir) -> tuple[str, str]:
    """("found", where), ("missing", what is missing) or ("corrupt", why), reading no more
    than the IDX headers; for `cnnlab datasets` and before loading."""
    data_dir = Path(data_dir)
    if name == "cifar10":
        if all(p.exists() for p in cifar_files(data_dir)):
            return "found", str(data_dir / "cifar-10-batches-py")
        for alt in CIFAR_JPEG_NAMES:
            if (data_dir / alt).exists():
                return "found", f"{data_dir / alt} (JPEG copy)"
        return "missing", f"missing {data_dir / 'cifar-10-batches-py'} (or {data_dir / CIFAR_JPEG_NAMES[1]})"
    files = idx_files(name, data_dir)
    missing = [p for p in files if not p.exists()]
    if missing:
        return "missing", f"missing {', '.join(str(p) for p in missing)}"
    try:
        for path in files:
            check_idx_file(path, 3 if "images" in path.name else 1)
    except UserError as e:
        return "corrupt", str(e)
    return "found", str(files[0].parent)


def _paths_under(root: Path) -> set[Path]:
    return {root, *root.rglob("*")} if root.is_dir() else ({root} if root.exists() else set())


def _remove_new(before: set[Path], roots: list[Path]):
    """Delete what a failed download created under `roots` (partial archives, half a
    dataset's files, empty folders); what was there before stays."""
    for root in roots:
        for path in sorted(_paths_under(root) - before, key=lambda p: len(p.parts), reverse=True):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)


def _download(name, data_dir, expected):
    cls = _torchvision_class(name)
    # Where torchvision writes: the data dir itself (it may create it), and the dataset's own
    # folder (MNIST/raw/...) or CIFAR-10's archive and its extracted folder.
    roots = [data_dir / cls.__name__] if name in IDX_SETS else [data_dir / "cifar-10-python.tar.gz",
                                                                 data_dir / "cifar-10-batches-py"]
    before = set().union(*(_paths_under(r) for r in roots))
    created_data_dir = not data_dir.exists()
    old = socket.getdefaulttimeout()
    socket.setdefaulttimeout(15)  # offline machines should fail in seconds, not minutes
    try:
        cls(str(data_dir), train=True, download=True)
    except Exception as e:
        _remove_new(before, roots)
        if created_data_dir:
            shutil.rmtree(data_dir, ignore_errors=True)
        raise UserError(
            f"dataset {name!r} is not in --data-dir {data_dir} and could not be downloaded ({one_line(e)}); "
            f"expected {expected}; pass --data-dir pointing at a copy{_bundled_hint(name)}"
        ) from None
    finally:
        socket.setdefaulttimeout(old)


def _bundled_hint(name: str) -> str:
    """MNIST ships with cnnlab as a real subset: point at it when the full set is not here."""
    if name != "mnist":
        return ""
    return ("; or use the MNIST subset bundled with cnnlab: --dataset mnist-small (cnnlab train), "
            "--stand-in mnist=mnist-small (cnnlab run)")


def load_torchvision(name: str, data_dir, download: bool) -> ImageData:
    data_dir = Path(data_dir)
    state, where = locate(name, data_dir)
    if state == "corrupt":
        raise UserError(f"{where}; replace the file (or delete it to download it again)")
    if state == "missing":
        expected = where.removeprefix("missing ")
        if not download:
            raise UserError(
                f"dataset {name!r} not found offline: expected {expected}; "
                f"pass --data-dir pointing at a copy (or allow downloads){_bundled_hint(name)}"
            )
        _download(name, data_dir, expected)
    if name == "cifar10":
        return _load_cifar(data_dir)
    train_x, train_y, test_x, test_y = (
        read_idx(p, 3 if "images" in p.name else 1) for p in idx_files(name, data_dir)
    )
    train_x, test_x = train_x.unsqueeze(1), test_x.unsqueeze(1)
    mean, std = channel_stats(train_x)
    return ImageData(
        name=name, classes=list(_torchvision_class(name).classes),
        train_images=train_x, train_labels=train_y.long(), test_images=test_x, test_labels=test_y.long(),
        mean=mean, std=std, source=where,
    )


def _load_cifar(data_dir: Path) -> ImageData:
    import torch

    if not all(p.exists() for p in cifar_files(data_dir)):
        from cnnlab.data.imagefolder import load_imagefolder

        jpeg = next(data_dir / n for n in CIFAR_JPEG_NAMES if (data_dir / n).exists())
        data = load_imagefolder(jpeg)
        data.name, data.source = "cifar10", f"{jpeg} (JPEG copy of CIFAR-10)"
        return data
    splits, classes = {}, []
    for train in (True, False):
        try:
            ds = _torchvision_class("cifar10")(str(data_dir), train=train, download=False)
        except Exception as e:
            raise UserError(f"corrupt CIFAR-10 files in {data_dir / 'cifar-10-batches-py'}: {first_line(e)}") from None
        classes = ds.classes
        splits[train] = (torch.from_numpy(ds.data).permute(0, 3, 1, 2).contiguous(), torch.tensor(ds.targets))
    mean, std = channel_stats(splits[True][0])
    return ImageData(
        name="cifar10", classes=list(classes),
        train_images=splits[True][0], train_labels=splits[True][1],
        test_images=splits[False][0], test_labels=splits[False][1],
        mean=mean, std=std, source=str(data_dir / "cifar-10-batches-py"),
    )



def _register(name, in_shape, train_size, description):
    register_dataset(name, partial(load_torchvision, name), description=description, in_shape=in_shape,
                     num_classes=10, train_size=train_size, test_size=10000, locate=partial(locate, name))


_register("mnist", (1, 28, 28), 60000, "MNIST via torchvision")
_register("fashion-mnist", (1, 28, 28), 60000, "Fashion-MNIST via torchvision")
_register("cifar10", (3, 32, 32), 50000, "CIFAR-10 via torchvision (or a JPEG image-folder copy)")
