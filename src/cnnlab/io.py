"""Atomic file writes: a killed run never leaves a half-written result behind."""

import csv
import io
import json
import os
import tempfile
from pathlib import Path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_FILE_MODE = 0o666 & ~_umask()  # what open() would give; mkstemp alone makes files owner-only


def _atomic_write(path, write):
    """Under `cnnlab` a Ctrl-C or SIGTERM arriving here waits for the write to finish."""
    from cnnlab.interrupts import uninterrupted

    path = Path(path)
    with uninterrupted():
        path.parent.mkdir(parents=True, exist_ok=True)
        # The writer's pid in the name: another process's sweep leaves a write in flight alone.
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.pid{os.getpid()}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                write(f)
                f.flush()
                os.fsync(f.fileno())
            os.chmod(tmp, _FILE_MODE)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def remove_temp_files(directory):
    """Delete the temporary files of atomic writes that a kill interrupted in `directory`;
    the files they were meant to replace are whole (old or new), never torn. A temp file of a
    process still alive is a write in flight (two invocations on one output directory), not
    debris: it is left alone."""
    for stale in Path(directory).glob(".*.tmp"):
        if not _writer_alive(stale.name):
            stale.unlink(missing_ok=True)


def _writer_alive(name: str) -> bool:
    """Whether the temp file `name` (".<file>.pid<N>.<random>.tmp") belongs to another live process."""
    tag = next((part for part in name.split(".") if part.startswith("pid") and part[3:].isdigit()), None)
    if tag is None or int(tag[3:]) == os.getpid():
        return False
    try:
        os.kill(int(tag[3:]), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def atomic_write_bytes(path, data: bytes):
    _atomic_write(path, lambda f: f.write(data))


def atomic_write_text(path, text: str):
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path, obj):
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True) + "\n")


def csv_text(rows, columns) -> str:
    """CSV with a header of `columns`, one line per row (a dict; missing or None values
    empty), which `pandas.read_csv` reads without cleaning."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(columns), extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


def atomic_write_csv(path, rows, columns):
    atomic_write_text(path, csv_text(rows, columns))


def atomic_torch_save(obj, path):
    import torch  # imported here: writing JSON and text must not cost a torch import

    _atomic_write(path, lambda f: torch.save(obj, f))


def load_checkpoint(path, map_location="cpu"):
    """torch.load with weights_only=True: a checkpoint is data, never code to execute. It
    returns or raises; torch's warnings (e.g. about the pickle protocol) are not shown."""
    import pickle
    import warnings

    import torch

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return torch.load(path, map_location=map_location, weights_only=True)
        except pickle.UnpicklingError as e:
            if not str(e).startswith("Weights only load failed"):
                raise
    # torch's message here is a paragraph on how to load it unsafely; say what it is instead.
    raise pickle.UnpicklingError("it holds Python objects, not only tensors and plain data; not loaded")
