"""One run's directory, keyed by the hash of its resolved config.

    runs/<run_key>/config.json     what was run (written first)
                   metrics.jsonl   one row per finished epoch (the trainer writes it)
                   checkpoint.pt   the trainer's last complete epoch (resume)
                   analysis.json   measurements taken after training
                   activations.npz optional arrays for feature-map grids
                   status          done | failed | diverged; absent while running
                   error.txt       why a run failed, one line (traceback.txt has the rest)

`status` is written last, so a directory with `status` = done holds a complete result,
and every file is replaced atomically, so a killed run never leaves a torn one.
"""

import json
from pathlib import Path

from cnnlab.io import atomic_write_json, atomic_write_text, load_checkpoint, read_jsonl

FINAL_STATUSES = ("done", "diverged")  # results; re-running would only repeat them
STATUSES = ("done", "failed", "diverged")


class RunDir:
    def __init__(self, path):
        self.path = Path(path)

    def __repr__(self):
        return f"RunDir({str(self.path)!r})"

    @property
    def key(self) -> str:
        return self.path.name

    # ---- status ----------------------------------------------------------------------
    def status(self) -> str | None:
        try:
            text = (self.path / "status").read_text(encoding="utf-8").strip()
        except OSError:
            return None
        return text if text in STATUSES else None

    def set_status(self, status: str):
        if status not in STATUSES:
            raise ValueError(f"status must be one of {', '.join(STATUSES)}, got {status!r}")
        atomic_write_text(self.path / "status", status + "\n")

    def clear_status(self):
        """Mark the run as in progress again (before a retry or a resume)."""
        for name in ("status", "error.txt", "traceback.txt"):
            (self.path / name).unlink(missing_ok=True)

    def write_error(self, message: str, traceback_text: str = ""):
        atomic_write_text(self.path / "error.txt", " ".join(message.split()) + "\n")
        if traceback_text:
            atomic_write_text(self.path / "traceback.txt", traceback_text)

    def error(self) -> str | None:
        try:
            return (self.path / "error.txt").read_text(encoding="utf-8").strip() or None
        except OSError:
            return None

    # ---- files -----------------------------------------------------------------------
    def write_config(self, config: dict):
        atomic_write_json(self.path / "config.json", config)

    def config(self) -> dict | None:
        return _read_json(self.path / "config.json")

    def write_analysis(self, analysis: dict):
        atomic_write_json(self.path / "analysis.json", analysis)

    def analysis(self) -> dict:
        return _read_json(self.path / "analysis.json") or {}

    def metrics(self) -> list[dict]:
        try:
            return read_jsonl(self.path / "metrics.jsonl")
        except (OSError, ValueError):
            return []

    def checkpoint_epoch(self) -> int:
        """The last complete epoch saved in checkpoint.pt (0 if there is none)."""
        path = self.path / "checkpoint.pt"
        if not path.exists():
            return 0
        try:
            return int(load_checkpoint(path)["epoch"])
        except Exception:  # unreadable: the trainer will start over
            return 0


def _read_json(path: Path):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
