"""Everything that decides how a model is trained, in one plain dataclass.

`validate()` is the one place where training numbers are checked, for the command line
and for study files alike: finite, within bounds that a real run could use.
"""

import math
from dataclasses import asdict, dataclass, fields

from cnnlab.choices import OPTIMIZERS, PRECISIONS, SCHEDULES
from cnnlab.errors import UserError

# Upper bounds: far above anything useful, low enough that a typo fails here rather than
# as an allocation of terabytes or an integer overflow deep inside torch.
MAX_EPOCHS = 100_000
MAX_BATCH = 1 << 20
MAX_CROP_PADDING = 64
MAX_SEED = 2**31 - 1


@dataclass
class TrainConfig:
    epochs: int = 5
    batch_size: int = 128
    lr: float = 1e-3
    optimizer: str = "adam"
    momentum: float = 0.9  # sgd only
    nesterov: bool = False  # sgd only
    schedule: str = "constant"
    weight_decay: float = 0.0  # applied to weights with >= 2 dimensions only (see train/optim.py)
    label_smoothing: float = 0.0
    seed: int = 0
    augment: bool = False  # random crop with padding + horizontal flip
    crop_padding: int = 4
    flip: bool = True
    precision: str = "auto"
    eval_batch_size: int = 1000
    grad_flow_every: int = 0  # log per-layer gradient norms every N steps; 0 = off
    log_steps: bool = False  # keep per-step loss and gradient norm (training-stability analysis)
    cuda_graphs: bool = True  # on a GPU, replay each full-batch step from one captured CUDA graph

    def validate(self) -> "TrainConfig":
        for f in fields(self):
            value = getattr(self, f.name)
            expected = {int: int, float: (int, float), bool: bool, str: str}[f.type]
            if not isinstance(value, expected) or (isinstance(value, bool) and expected is not bool):
                raise UserError(f"{f.name} must be {_kind(expected)}, got {value!r}")
        _int_range(self, "epochs", 1, MAX_EPOCHS)
        _int_range(self, "batch_size", 1, MAX_BATCH)
        _int_range(self, "eval_batch_size", 1, MAX_BATCH)
        _int_range(self, "seed", 0, MAX_SEED)
        _int_range(self, "crop_padding", 0, MAX_CROP_PADDING)
        _int_range(self, "grad_flow_every", 0, 10**9)
        if not (math.isfinite(self.lr) and 0 < self.lr <= 10):
            raise UserError(f"lr must be a number in (0, 10], got {self.lr!r}")
        if not (math.isfinite(self.weight_decay) and 0 <= self.weight_decay <= 10):
            raise UserError(f"weight_decay must be a number in [0, 10], got {self.weight_decay!r}")
        if not (math.isfinite(self.momentum) and 0 <= self.momentum < 1):
            raise UserError(f"momentum must be a number in [0, 1), got {self.momentum!r}")
        if not (math.isfinite(self.label_smoothing) and 0 <= self.label_smoothing < 1):
            raise UserError(f"label_smoothing must be in [0, 1), got {self.label_smoothing!r}")
        for name, valid in (("optimizer", OPTIMIZERS), ("schedule", SCHEDULES), ("precision", PRECISIONS)):
            if getattr(self, name) not in valid:
                raise UserError(f"unknown {name} {getattr(self, name)!r}; valid: {', '.join(valid)}")
        return self

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise UserError(f"unknown training option(s) {unknown}; valid: {', '.join(sorted(known))}")
        return cls(**d)


def _kind(expected) -> str:
    return {int: "an integer", bool: "true or false", str: "a string"}.get(expected, "a number")


def _int_range(config, name: str, lo: int, hi: int):
    value = getattr(config, name)
    if not lo <= value <= hi:
        raise UserError(f"{name} must be an integer in [{lo}, {hi:,}], got {value!r}")

