"""IDX files (the MNIST format): check the header against the file size before trusting it,
so a corrupt or truncated file is a clear error naming the file, not a crash deep in numpy."""

import gzip
from pathlib import Path

import numpy as np
import torch

from cnnlab.errors import UserError

_UBYTE = 0x08  # the only element type MNIST-style files use


def read_idx(path, expected_ndim: int) -> torch.Tensor:
    """Read an (optionally gzipped) IDX file of unsigned bytes with `expected_ndim` dimensions."""
    path = Path(path)
    try:
        raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    except (OSError, EOFError, gzip.BadGzipFile) as e:
        raise UserError(f"cannot read {path}: {e}") from None
    return torch.from_numpy(parse_idx(raw, expected_ndim, path).copy())


def parse_idx(raw: bytes, expected_ndim: int, path) -> np.ndarray:
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != _UBYTE or raw[3] != expected_ndim:
        raise UserError(
            f"corrupt IDX file {path}: bad magic number {raw[:4].hex() or 'empty'} "
            f"(expected 0000080{expected_ndim}: unsigned bytes, {expected_ndim} dimensions)"
        )
    header = 4 + 4 * expected_ndim
    if len(raw) < header:
        raise UserError(f"corrupt IDX file {path}: truncated header ({len(raw)} bytes)")
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(expected_ndim)]
    expected = header + int(np.prod(dims))
    if len(raw) != expected:
        raise UserError(
            f"corrupt IDX file {path}: header says {'x'.join(map(str, dims))} "
            f"({expected} bytes) but the file has {len(raw)} bytes (truncated?)"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims)
