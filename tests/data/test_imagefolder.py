import tarfile

import numpy as np
import pytest
import torch
from PIL import Image

import cnnlab.data.imagefolder as imagefolder
from cnnlab.data import load_dataset
from cnnlab.errors import UserError

CLASSES = ["cat", "dog", "frog"]


def make_folder(root, fmt="png", per_class=(4, 2), size=(12, 10)):
    """train/<class>/*.fmt and test/<class>/*.fmt; each class has its own solid colour."""
    colours = {"cat": (200, 30, 30), "dog": (30, 200, 30), "frog": (30, 30, 200)}
    for split, count in zip(("train", "test"), per_class):
        for c in CLASSES:
            (root / split / c).mkdir(parents=True, exist_ok=True)
            for i in range(count):
                Image.new("RGB", size, colours[c]).save(root / split / c / f"{i}.{fmt}")
    return root


@pytest.mark.parametrize("fmt", ["png", "jpg"])
def test_loads_png_and_jpeg_folders(tmp_path, fmt):
    data = load_dataset(f"imagefolder:{make_folder(tmp_path / 'imgs', fmt)}")
    assert data.classes == CLASSES
    assert data.train_images.shape == (12, 3, 10, 12) and data.train_images.dtype == torch.uint8
    assert data.test_images.shape == (6, 3, 10, 12)
    # Each image's dominant channel identifies its class (JPEG is lossy, so compare loosely).
    dominant = data.train_images.float().mean((2, 3)).argmax(1)
    assert torch.equal(dominant, data.train_labels)


def test_tar_gz_archive(tmp_path):
    folder = make_folder(tmp_path / "imgs")
    archive = tmp_path / "imgs.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(folder, arcname="imgs")
    data = load_dataset(f"imagefolder:{archive}")
    assert data.classes == CLASSES and len(data.train_labels) == 12 and len(data.test_labels) == 6


def test_second_load_hits_the_cache(tmp_path, monkeypatch):
    folder = make_folder(tmp_path / "imgs")
    first = load_dataset(f"imagefolder:{folder}")
    monkeypatch.setattr(imagefolder, "_decode", lambda *a, **k: pytest.fail("decoded again despite cache"))
    second = load_dataset(f"imagefolder:{folder}")
    assert "cache" in second.source
    assert torch.equal(first.train_images, second.train_images)
    assert torch.equal(first.test_labels, second.test_labels)


def test_changed_folder_invalidates_cache(tmp_path):
    folder = make_folder(tmp_path / "imgs")
    load_dataset(f"imagefolder:{folder}")
    Image.new("RGB", (12, 10), (1, 2, 3)).save(folder / "train" / "cat" / "extra.png")
    again = load_dataset(f"imagefolder:{folder}")
    assert "decoded" in again.source and len(again.train_labels) == 13


def test_unreadable_image_names_the_file(tmp_path):
    folder = make_folder(tmp_path / "imgs")
    (folder / "train" / "dog" / "broken.png").write_bytes(b"not an image at all")
    with pytest.raises(UserError, match=r"unreadable image .*broken\.png"):
        load_dataset(f"imagefolder:{folder}")


def test_missing_folder_and_missing_test_split(tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        load_dataset(f"imagefolder:{tmp_path / 'nope'}")
    folder = make_folder(tmp_path / "imgs")
    for f in (folder / "test").rglob("*.png"):
        f.unlink()
    with pytest.raises(UserError, match="test/<class>"):
        load_dataset(f"imagefolder:{folder}")


def test_grey_images_stay_single_channel(tmp_path):
    for split in ("train", "test"):
        for c in ("a", "b"):
            (tmp_path / split / c).mkdir(parents=True)
            arr = np.full((8, 8), 40 if c == "a" else 220, dtype=np.uint8)
            Image.fromarray(arr, mode="L").save(tmp_path / split / c / "0.png")
    data = load_dataset(f"imagefolder:{tmp_path}")
    assert data.train_images.shape == (2, 1, 8, 8)
