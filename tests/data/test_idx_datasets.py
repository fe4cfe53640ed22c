import gzip
import socket

import numpy as np
import pytest
import torch

from cnnlab.data import load_dataset
from cnnlab.errors import UserError


def write_idx(path, array: np.ndarray):
    """Write an IDX file of unsigned bytes, as the MNIST distribution does."""
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(d.to_bytes(4, "big") for d in array.shape)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(header + array.astype(np.uint8).tobytes())


def make_mnist_dir(root, folder="MNIST", n_train=30, n_test=20):
    rng = np.random.default_rng(0)
    raw = root / folder / "raw"
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (n_train, 28, 28)),
        "train-labels-idx1-ubyte": np.arange(n_train) % 10,
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (n_test, 28, 28)),
        "t10k-labels-idx1-ubyte": np.arange(n_test) % 10,
    }
    for name, array in arrays.items():
        write_idx(raw / name, array)
    return raw, arrays


@pytest.mark.parametrize("name,folder", [("mnist", "MNIST"), ("fashion-mnist", "FashionMNIST")])
def test_reads_idx_files_written_in_the_real_format(tmp_path, name, folder):
    _, arrays = make_mnist_dir(tmp_path, folder)
    data = load_dataset(name, data_dir=tmp_path, download=False)
    assert data.train_images.shape == (30, 1, 28, 28) and data.train_images.dtype == torch.uint8
    assert data.test_images.shape == (20, 1, 28, 28)
    assert torch.equal(data.train_images[:, 0], torch.from_numpy(arrays["train-images-idx3-ubyte"].astype(np.uint8)))
    assert data.test_labels.tolist() == arrays["t10k-labels-idx1-ubyte"].tolist()
    assert len(data.classes) == 10


def test_bad_magic_names_the_file(tmp_path):
    raw, _ = make_mnist_dir(tmp_path)
    bad = raw / "t10k-images-idx3-ubyte"
    bad.write_bytes(b"\x12\x34\x56\x78" + bad.read_bytes()[4:])
    with pytest.raises(UserError, match=r"corrupt IDX file .*t10k-images-idx3-ubyte.*magic"):
        load_dataset("mnist", data_dir=tmp_path, download=False)


def test_truncated_file_names_the_file(tmp_path):
    raw, _ = make_mnist_dir(tmp_path)
    bad = raw / "train-images-idx3-ubyte"
    bad.write_bytes(bad.read_bytes()[:-100])
    with pytest.raises(UserError, match=r"train-images-idx3-ubyte.*truncated"):
        load_dataset("mnist", data_dir=tmp_path, download=False)


def test_offline_without_local_copy_names_expected_files_and_data_dir(tmp_path):
    with pytest.raises(UserError) as err:
        load_dataset("fashion-mnist", data_dir=tmp_path, download=False)
    message = str(err.value)
    assert "train-images-idx3-ubyte" in message and str(tmp_path) in message and "--data-dir" in message
    assert "\n" not in message


def test_cifar10_offline_missing(tmp_path):
    with pytest.raises(UserError, match="cifar-10-batches-py"):
        load_dataset("cifar10", data_dir=tmp_path, download=False)


def test_unknown_dataset_lists_valid_names():
    with pytest.raises(UserError, match="valid datasets: .*mnist-small"):
        load_dataset("imagenet")


def test_bundled_mnist_small_is_real_and_balanced():
    data = load_dataset("mnist-small")
    assert data.train_images.shape == (5000, 1, 28, 28)
    assert data.test_images.shape == (10000, 1, 28, 28)
    assert torch.bincount(data.train_labels).tolist() == [500] * 10
    # Real digits: mostly-black backgrounds with bright strokes, not noise.
    assert 0.10 < data.mean[0] < 0.16
    # Shuffled once when bundled, so the first N images (--subset) cover every class.
    assert len(set(data.train_labels[:100].tolist())) == 10


def test_gzipped_idx_is_read(tmp_path):
    from cnnlab.data.idx import read_idx

    array = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    header = bytes([0, 0, 8, 3]) + b"".join(d.to_bytes(4, "big") for d in array.shape)
    (tmp_path / "x.gz").write_bytes(gzip.compress(header + array.tobytes()))
    assert read_idx(tmp_path / "x.gz", 3).tolist() == array.tolist()


def _snapshot(root):
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


@pytest.mark.parametrize("existing_data_dir", [True, False])
def test_a_failed_download_leaves_nothing_behind(tmp_path, monkeypatch, existing_data_dir):
    """torchvision's own download code runs; the network fails after one file arrived and a
    second was half-written, as on a machine that loses its connection."""
    import urllib.error

    import torchvision.datasets.mnist as tv_mnist

    calls = []

    def flaky_download(url, download_root, filename=None, md5=None, **_):
        calls.append(url)
        target = f"{download_root}/{filename}"
        with open(target, "wb") as f:
            f.write(gzip.compress(b"x" * 100) if len(calls) == 1 else b"\x1f\x8b partial")
        if len(calls) > 1:
            raise urllib.error.URLError("connection reset")

    monkeypatch.setattr(tv_mnist, "download_and_extract_archive", flaky_download)
    data_dir = tmp_path / "data"
    if existing_data_dir:
        (data_dir / "FashionMNIST" / "processed").mkdir(parents=True)
        (data_dir / "FashionMNIST" / "processed" / "keep.txt").write_text("mine")
        (data_dir / "cifar10-jpeg.tar.gz").write_bytes(b"not touched")
    before = _snapshot(tmp_path)
    with pytest.raises(UserError, match="could not be downloaded"):
        load_dataset("fashion-mnist", data_dir=data_dir, download=True)
    assert len(calls) > 1  # the first file "arrived" before the failure
    assert _snapshot(tmp_path) == before
    if existing_data_dir:
        assert (data_dir / "FashionMNIST" / "processed" / "keep.txt").read_text() == "mine"


def test_a_failed_download_says_why_in_full(tmp_path, monkeypatch):
    """torchvision's real download code against a mirror where nothing listens: its error
    lists each mirror's failure below "Error downloading <file>:", all of it on one line."""
    import torchvision

    with socket.socket() as s:  # a port that was free a moment ago: nothing listens there
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setattr(torchvision.datasets.FashionMNIST, "mirrors", [f"http://127.0.0.1:{port}/"])
    with pytest.raises(UserError) as e:
        load_dataset("fashion-mnist", data_dir=tmp_path / "data", download=True)
    message = str(e.value)
    assert "\n" not in message
    assert (f"could not be downloaded (Error downloading train-images-idx3-ubyte.gz: Tried http://127.0.0.1:{port}/, "
            "got: <urlopen error [Errno 111] Connection refused>); expected ") in message
    assert not (tmp_path / "data").exists()


@pytest.mark.parametrize("name", ["mnist", "fashion-mnist"])
def test_listed_idx_files_are_torchvisions(name, tmp_path):
    """`cnnlab datasets` names the files without importing torchvision: the names are its own."""
    import os

    import torchvision.datasets

    from cnnlab.data.torchvision_sets import IDX_SETS, idx_files

    cls = getattr(torchvision.datasets, IDX_SETS[name])
    expected = [tmp_path / cls.__name__ / "raw" / os.path.splitext(os.path.basename(url))[0] for url, _ in cls.resources]
    assert idx_files(name, tmp_path) == expected
