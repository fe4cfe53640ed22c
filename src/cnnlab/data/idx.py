"""IDX files (the MNIST format): check the header against the file size before trusting it,
so a corrupt or truncated file is a clear error naming the file, not a crash deep in numpy."""

from __future__ import annotations  # torch.Tensor in annotations: torch is imported where it is used

import gzip
import math
from pathlib import Path

import numpy as np

from cnnlab.errors import UserError

_UBYTE = 0x08  # the only element type MNIST-style files use


def read_idx(path, expected_ndim: int) -> torch.Tensor:
    """Read an (optionally gzipped) IDX file of unsigned bytes with `expected_ndim` dimensions."""
    import torch

    path = Path(path)
    try:
        raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    except (OSError, EOFError, gzip.BadGzipFile) as e:
        raise UserError(f"cannot read {path}: {e}") from None
    return torch.from_numpy(parse_idx(raw, expected_ndim, path).copy())


def check_idx_file(path, expected_ndim: int):
    """Raise UserError unless the header of the uncompressed IDX file `path` matches its
    size: the check `cnnlab datasets` makes without reading the images."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            header = f.read(4 + 4 * expected_ndim)
        size = path.stat().st_size
    except OSError as e:
        raise UserError(f"cannot read {path}: {e}") from None
    _idx_dims(header, size, expected_ndim, path)


def parse_idx(raw: bytes, expected_ndim: int, path) -> np.ndarray:
    dims = _idx_dims(raw[:4 + 4 * expected_ndim], len(raw), expected_ndim, path)
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * expected_ndim).reshape(dims)


def _idx_dims(header: bytes, size: int, expected_ndim: int, path) -> list[int]:
    """The dimensions an IDX header declares, checked against the file's `size` in bytes."""
    if len(header) < 4 or header[0] != 0 or header[1] != 0 or header[2] != _UBYTE or header[3] != expected_ndim:
        raise UserError(
            f"corrupt IDX file {path}: bad magic number {header[:4].hex() or 'empty'} "
            f"(expected 0000080{expected_ndim}: unsigned bytes, {expected_ndim} dimensions)"
        )
    if len(header) < 4 + 4 * expected_ndim:
        raise UserError(f"corrupt IDX file {path}: truncated header ({size} bytes)")
    dims = [int.from_bytes(header[4 + 4 * i: 8 + 4 * i], "big") for i in range(expected_ndim)]
    expected = len(header) + math.prod(dims)
    if size != expected:
        raise UserError(
            f"corrupt IDX file {path}: header says {'x'.join(map(str, dims))} "
            f"({expected} bytes) but the file has {size} bytes (truncated?)"
        )
    return dims
