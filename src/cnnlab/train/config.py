"""Everything that decides how a model is trained, in one plain dataclass."""

import hashlib
import json
from dataclasses import asdict, dataclass, fields

from cnnlab.errors import UserError

OPTIMIZERS = ("sgd", "adam", "adamw")
SCHEDULES = ("constant", "cosine", "onecycle")
PRECISIONS = ("fp32", "bf16", "auto")


@dataclass
class TrainConfig:
    epochs: int = 5
    batch_size: int = 128
    lr: float = 1e-3
    optimizer: str = "adam"
    momentum: float = 0.9  # sgd only
    nesterov: bool = False  # sgd only
    schedule: str = "constant"
    weight_decay: float = 0.0
    label_smoothing: float = 0.0
    seed: int = 0
    augment: bool = False  # random crop with padding + horizontal flip
    crop_padding: int = 4
    flip: bool = True
    precision: str = "auto"
    eval_batch_size: int = 1000
    grad_flow_every: int = 0  # log per-layer gradient norms every N steps; 0 = off
    log_steps: bool = False  # keep per-step loss and gradient norm (training-stability analysis)

    def validate(self) -> "TrainConfig":
        for name in ("epochs", "batch_size", "eval_batch_size"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) <= 0:
                raise UserError(f"{name} must be a positive integer, got {getattr(self, name)!r}")
        if not self.lr > 0:
            raise UserError(f"lr must be > 0, got {self.lr!r}")
        for name in ("weight_decay", "crop_padding", "grad_flow_every"):
            if getattr(self, name) < 0:
                raise UserError(f"{name} must be >= 0, got {getattr(self, name)!r}")
        if not 0 <= self.label_smoothing < 1:
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


def config_hash(obj) -> str:
    """Stable short hash of any JSON-serialisable description of a run."""
    return hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest()[:16]
