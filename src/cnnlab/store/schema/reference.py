"""A reference table: one study's runs at a larger size, one row per run, kept where the runs
themselves are not (a built-in study's: cnnlab/studies/reference/<study>.csv), so that how a quick verdict transfers can be
measured on any machine (benchmarks/transfer.py, the report's "Verdicts by training size").

Written by benchmarks/reference_table.py from an OUT, read by `read_reference`."""

import csv
import math
from dataclasses import dataclass, fields
from pathlib import Path

from cnnlab.errors import UserError


@dataclass(frozen=True)
class ReferenceRun:
    study: str
    profile: str
    dataset: str
    model: str
    label: str
    seed: int
    epochs: int
    train_images: int  # images each epoch trained on (the subset, else the whole training set)
    test_images: int
    batch_size: int
    precision: str
    test_acc: float
    train_acc: float
    test_loss: float
    train_loss: float
    train_seconds: float
    cpu: str
    threads: int
    torch: str
    commit: str
    code: str  # the code fingerprint of the run (cnnlab.fingerprint)


REFERENCE_COLUMNS = tuple(f.name for f in fields(ReferenceRun))
_TYPES = {f.name: f.type for f in fields(ReferenceRun)}


def read_reference(path) -> list[ReferenceRun]:
    """The rows of a reference table; one-line UserError when it is missing or malformed."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"no reference table at {path}")
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        missing = [c for c in REFERENCE_COLUMNS if c not in (reader.fieldnames or ())]
        if missing:
            raise UserError(f"{path}: not a reference table: no column {', '.join(missing)}")
        rows = []
        for line, row in enumerate(reader, start=2):
            values = {}
            for name in REFERENCE_COLUMNS:
                kind, text = _TYPES[name], row[name]
                try:
                    value = kind(text) if kind is not int else int(float(text))
                except ValueError:
                    raise UserError(f"{path}, line {line}: {name} is {text!r}, not {kind.__name__}") from None
                if kind is float and not math.isfinite(value):
                    raise UserError(f"{path}, line {line}: {name} is {text!r}, not a finite number")
                values[name] = value
            rows.append(ReferenceRun(**values))
    return rows
