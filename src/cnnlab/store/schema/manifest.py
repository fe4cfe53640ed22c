"""The manifest of a study (study.json) and of a suite (suite.json): what the numbers depend on."""

from dataclasses import dataclass, fields


@dataclass(frozen=True)
class Manifest:
    """What a study's numbers depend on: code, software, hardware, data, and when it ran.
    Every field may be None (not known, or written by a cnnlab that did not record it)."""
    cnnlab_version: str | None = None
    code: str | None = None  # cnnlab.fingerprint.code_fingerprint()
    git: dict | None = None  # {"commit", "dirty"}
    torch_version: str | None = None
    python_version: str | None = None
    platform: str | None = None
    device: str | None = None  # its name, e.g. "NVIDIA H100 80GB HBM3" or the CPU model
    device_type: str | None = None  # cpu | cuda
    cpu_model: str | None = None
    threads: int | None = None  # CPU threads per run
    executor: str | None = None
    precision: str | None = None
    dataset: str | None = None
    dataset_source: str | None = None
    train_size: int | None = None
    test_size: int | None = None
    in_shape: list | None = None
    num_classes: int | None = None
    runs_trained: int | None = None
    runs_cached: int | None = None
    wall_clock_seconds: float | None = None
    started: str | None = None
    finished: str | None = None  # None while the study runs
    command: str | None = None

    def to_json(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_json(cls, d) -> "Manifest":
        """Tolerant: a value of the wrong type is read as unknown, since a manifest only describes."""
        if not isinstance(d, dict):
            return cls()
        kinds = {"git": dict, "in_shape": list, "threads": int, "train_size": int, "test_size": int,
                 "num_classes": int, "runs_trained": int, "runs_cached": int, "wall_clock_seconds": (int, float)}
        values = {}
        for f in fields(cls):
            value = d.get(f.name)
            kind = kinds.get(f.name, str)
            values[f.name] = value if isinstance(value, kind) and not isinstance(value, bool) else None
        return cls(**values)
