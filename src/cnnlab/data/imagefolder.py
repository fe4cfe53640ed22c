"""Image folders (`train/<class>/*`, `test/<class>/*`), as a directory or a .tar.gz of one.

Decoding tens of thousands of small images takes seconds, so the decoded uint8 tensors are
cached on disk, keyed by the source's path, size and modification time: the second load
is a single tensor read.
"""

from __future__ import annotations  # torch.Tensor in annotations: torch is imported where it is used

import hashlib
import io
import os
import sys
import tarfile
from collections import Counter
from pathlib import Path, PurePosixPath

import numpy as np
from PIL import Image

from cnnlab.data.core import ImageData, channel_stats
from cnnlab.data.registry import register_dataset
from cnnlab.errors import UserError, first_line
from cnnlab.io import atomic_torch_save, load_checkpoint

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp"}
CACHE_VERSION = 1


def default_cache_dir() -> Path:
    return Path(os.environ.get("CNNLAB_CACHE", Path.home() / ".cache" / "cnnlab" / "cache"))


def load_imagefolder(path, cache_dir=None) -> ImageData:
    path = Path(path).expanduser().resolve()
    if not path.exists():
        raise UserError(f"image folder {path} does not exist (expected train/<class>/* and test/<class>/*, or a .tar.gz of them)")
    cache_file = Path(cache_dir or default_cache_dir()) / f"imagefolder-{_source_key(path)}.pt"
    if cache_file.exists():
        try:
            cached = load_checkpoint(cache_file)
            return _to_image_data(path, cached, "cache")
        except Exception as e:  # a damaged cache is rebuilt, never trusted
            print(f"decoded-image cache {cache_file} is unreadable ({type(e).__name__}); decoding {path} again",
                  file=sys.stderr, flush=True)
    files, class_dirs = _tar_members(path) if path.is_file() else _dir_members(path)
    decoded = _decode_split_pair(files, class_dirs, path)
    atomic_torch_save(decoded, cache_file)
    return _to_image_data(path, decoded, "decoded")


register_dataset("imagefolder:PATH", lambda path, data_dir, download: load_imagefolder(path),
                 description="your images: PATH/train/<class>/*, PATH/test/<class>/*, or a .tar.gz",
                 locate=lambda data_dir: ("found", "any path you give"))


def _source_key(path: Path) -> str:
    """Hash of path + size + mtime of the archive, or of every file in the directory tree."""
    h = hashlib.sha256(f"v{CACHE_VERSION}:".encode() + os.fsencode(path))  # bytes: any file name
    if path.is_file():
        st = path.stat()
        h.update(f"{st.st_size}:{st.st_mtime_ns}".encode())
    else:
        for root, dirs, names in os.walk(os.fsencode(path)):
            dirs.sort()
            for name in sorted(names):
                st = os.stat(os.path.join(root, name))
                h.update(os.path.join(root, name) + f":{st.st_size}:{st.st_mtime_ns};".encode())
    return h.hexdigest()[:24]


def _split_parts(rel: PurePosixPath):
    """('train', 'cat', name) for train/cat/x.png, also under one top-level folder (archives)."""
    parts = rel.parts
    if len(parts) >= 4 and parts[-3] in ("train", "test"):
        parts = parts[-3:]
    if len(parts) == 3 and parts[0] in ("train", "test") and Path(parts[2]).suffix.lower() in IMAGE_SUFFIXES:
        return parts
    return None


def _class_dir(rel: PurePosixPath):
    """'cat' for the folder train/cat or test/cat, also under one top-level folder."""
    parts = rel.parts
    return parts[-1] if len(parts) in (2, 3) and parts[-2] in ("train", "test") else None


def _dir_members(root: Path):
    """({(split, class, name): (where, zero-arg callable returning the file's bytes)},
    {every class folder's name})"""
    files, class_dirs = {}, set()
    for p in sorted(root.rglob("*")):
        rel = PurePosixPath(p.relative_to(root).as_posix())
        if p.is_file() and (parts := _split_parts(rel)):
            files[parts] = (str(p), p.read_bytes)
        elif p.is_dir() and (name := _class_dir(rel)):
            class_dirs.add(name)
    return files, class_dirs


def _tar_members(archive: Path):
    try:
        with tarfile.open(archive, "r:*") as tar:
            files, class_dirs = {}, set()
            for member in tar:
                rel = PurePosixPath(member.name)
                if member.isfile() and (parts := _split_parts(rel)):
                    data = tar.extractfile(member).read()
                    files[parts] = (f"{archive}:{member.name}", lambda data=data: data)
                elif member.isdir() and (name := _class_dir(rel)):
                    class_dirs.add(name)
            return files, class_dirs
    except tarfile.ReadError:
        raise UserError(f"cannot read archive {archive}: not a .tar, .tar.gz, .tar.bz2 or .tar.xz archive, "
                        "or a damaged one") from None
    except (tarfile.TarError, OSError, EOFError) as e:
        raise UserError(f"cannot read archive {archive}: {first_line(e)}") from None


def _decode_split_pair(files, class_dirs, source):
    import torch

    named = class_dirs | {c for _, c, _ in files}
    for name in sorted(named):
        try:
            name.encode("utf-8")
        except UnicodeEncodeError:
            raise UserError(f"{source}: class folder name {os.fsencode(name)!r} is not valid UTF-8; "
                            "rename it (class names appear in reports)") from None
    classes = sorted({c for split, c, _ in files if split == "train"})
    if not classes:
        raise UserError(f"{source} has no images under train/<class>/ (found {len(files)} usable files)")
    if not any(split == "test" for split, _, _ in files):
        raise UserError(f"{source} has no images under test/<class>/")
    untrained = sorted(named - set(classes))
    if untrained:
        raise UserError(f"{source}: class folder(s) {untrained} have no training images "
                        f"({', '.join(sorted(IMAGE_SUFFIXES))} files in train/<class>/); classes with images: "
                        f"{classes}")

    keys = sorted(files)
    first_name, first_read = files[keys[0]]
    mode = "L" if _decode(first_name, first_read).mode in ("L", "1", "I;16", "I") else "RGB"
    images = {"train": [], "test": []}
    labels = {"train": [], "test": []}
    size = None
    for key in keys:
        name, read = files[key]
        img = _decode(name, read).convert(mode)
        size = size or img.size
        if img.size != size:  # mixed sizes: bring all to the first image's size
            img = img.resize(size, Image.BILINEAR)
        images[key[0]].append(torch.from_numpy(np.array(img).reshape(size[1], size[0], -1)))
        labels[key[0]].append(classes.index(key[1]))
    out = {"classes": classes}
    for split in ("train", "test"):
        # A fixed shuffle, so that "the first N training images" (--subset) covers every class.
        order = torch.randperm(len(labels[split]), generator=torch.Generator().manual_seed(0))
        out[f"{split}_images"] = torch.stack(images[split]).permute(0, 3, 1, 2)[order].contiguous()
        out[f"{split}_labels"] = torch.tensor(labels[split], dtype=torch.int64)[order]
    out["mean"], out["std"] = channel_stats(out["train_images"])
    return out


def _decode(name, read) -> Image.Image:
    try:
        img = Image.open(io.BytesIO(read()))
        img.load()
    except Exception as e:
        raise UserError(f"unreadable image {name}: {first_line(e)}") from None
    return img


def _to_image_data(path, t, how) -> ImageData:
    counts = Counter(t["train_labels"].tolist())
    return ImageData(
        name=f"imagefolder:{path}", classes=list(t["classes"]),
        train_images=t["train_images"], train_labels=t["train_labels"],
        test_images=t["test_images"], test_labels=t["test_labels"],
        mean=tuple(t["mean"]), std=tuple(t["std"]), source=f"{path} ({how}; {len(counts)} classes)",
    )
