"""One run's directory, keyed by its run key (see `cnnlab.store.schema.RunConfig.key`).

    runs/<run_key>/config.json     what was run (written first)
                   checkpoint.pt   the last committed epoch: model, optimizer, metrics rows
                   metrics.jsonl   one row per finished epoch, derived from the checkpoint
                   analysis.json   measurements taken after training
                   ...             files an analysis writes beside (activations.npz)
                   tensorboard/    TensorBoard event files, written while it trains
                   status          done | failed | diverged; absent while running
                   error.txt       why a run failed, one line (traceback.txt has the rest)
                   .lock           held (flock) by the process running it: see RunDir.claim

`status` is written last, so a directory with `status` = done holds a complete result,
and every file is replaced atomically, so a killed run never leaves a torn one. Formats
are those of `cnnlab.store.schema`; reading never raises for damaged files, it notes
the damage in the returned record's `problems`.
"""

import json
import os
import socket
from contextlib import contextmanager
from pathlib import Path

from cnnlab.io import atomic_write_json, atomic_write_text
from cnnlab.store.schema import (ANALYSIS_FILE, CHECKPOINT_FILE, CONFIG_FILE, DIVERGED_EPOCH, ERROR_FILE,
                                 METRICS_FILE, STATUS_FILE, STATUSES, TRACEBACK_FILE, RecordError, RunConfig,
                                 RunRecord, check_analysis, check_metrics, metrics_text, parse_metrics)

LOCK_FILE = ".lock"
RECORD_FILES = (CONFIG_FILE, CHECKPOINT_FILE, METRICS_FILE, ANALYSIS_FILE, STATUS_FILE, ERROR_FILE, TRACEBACK_FILE,
                LOCK_FILE)


class RunBusy(Exception):
    """Another process holds the run (RunDir.claim); the message says which, if known."""


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
        text = _read_text(self.path / STATUS_FILE)
        return text.strip() if text and text.strip() in STATUSES else None

    def set_status(self, status: str):
        if status not in STATUSES:
            raise ValueError(f"status must be one of {', '.join(STATUSES)}, got {status!r}")
        atomic_write_text(self.path / STATUS_FILE, status + "\n")

    def clear_status(self):
        """Mark the run as in progress again (before a retry or a resume)."""
        for name in (STATUS_FILE, ERROR_FILE, TRACEBACK_FILE):
            (self.path / name).unlink(missing_ok=True)

    def write_error(self, message: str, traceback_text: str = ""):
        atomic_write_text(self.path / ERROR_FILE, " ".join(message.split()) + "\n")
        if traceback_text:
            atomic_write_text(self.path / TRACEBACK_FILE, traceback_text)

    def error(self) -> str | None:
        text = _read_text(self.path / ERROR_FILE)
        return text.strip() or None if text else None

    # ---- files -----------------------------------------------------------------------
    def write_config(self, config: RunConfig, provenance: dict | None = None):
        atomic_write_json(self.path / CONFIG_FILE, config.to_json(provenance))

    def write_metrics(self, rows: list[dict]):
        atomic_write_text(self.path / METRICS_FILE, metrics_text(check_metrics(rows)))

    def write_analysis(self, analysis: dict):
        atomic_write_json(self.path / ANALYSIS_FILE, analysis)

    # ---- one process at a time -------------------------------------------------------
    @contextmanager
    def claim(self, wait: bool = True):
        """Hold this run for this process while the block runs: an exclusive flock on
        RUN_DIR/.lock, so two `cnnlab run` on one OUT (two terminals, two nodes of a shared
        disk) never train the same run at once. The kernel drops the lock when the process
        dies, however it dies. Busy: wait for it, or with wait=False raise RunBusy naming
        the holder. Needs a filesystem with flock (local disks; NFS on Linux maps it to
        NFS locks; some network filesystems do not lock at all, and then nothing is held)."""
        import fcntl

        self.path.mkdir(parents=True, exist_ok=True)
        with open(self.path / LOCK_FILE, "a+", encoding="utf-8") as f:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
            except BlockingIOError:
                raise RunBusy(self.holder() or "another process") from None
            f.truncate(0)  # who holds it, for the message of whoever waits
            f.write(f"pid {os.getpid()} on {socket.gethostname()}\n")
            f.flush()
            try:
                yield
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)

    def holder(self) -> str | None:
        """Who last claimed the run ("pid N on HOST"), as its lock file says."""
        text = _read_text(self.path / LOCK_FILE)
        return text.strip() or None if text else None

    def blocked(self) -> str | None:
        """Why no run can write this directory's records, when something that is not a file
        sits where one goes (a folder named metrics.jsonl): cnnlab never deletes what it did
        not write, so such a run fails until that is moved away. None otherwise."""
        if self.path.exists() and not self.path.is_dir():
            return f"{self.path} is a file, not a run directory"
        for name in RECORD_FILES:
            path = self.path / name
            if path.exists() and not path.is_file():
                return f"{name} is a {'directory' if path.is_dir() else 'special file'}, not a file"
        return None

    # ---- reading back ----------------------------------------------------------------
    def load(self) -> RunRecord:
        """Everything in the directory, with any damage listed in `problems`."""
        record = RunRecord(key=self.key, status="missing", dir=self.path)
        if not self.path.is_dir():
            record.problems.append("no run directory")
            return record
        record.status = self.status() or "running"
        raw = _read_json(self.path / CONFIG_FILE)
        record.raw_config = raw if isinstance(raw, dict) else {}
        try:
            record.config = RunConfig.from_json(raw)
        except RecordError as e:
            record.problems.append(str(e) if raw is not None else "config.json is missing or not JSON")
        text = _read_text(self.path / METRICS_FILE)
        if text is None:
            if record.status in ("done", "diverged"):
                record.problems.append("metrics.jsonl is missing or unreadable")
        else:
            rows, torn = parse_metrics(text)
            record.metrics = [r for r in rows if isinstance(r, dict)]
            if torn:
                record.problems.append(torn)
        analysis = _read_json(self.path / ANALYSIS_FILE)
        if isinstance(analysis, dict):
            record.analysis = analysis
        elif record.status in ("done", "diverged"):
            record.problems.append("analysis.json is missing or not JSON")
        record.error = self.error()
        if record.status in ("done", "diverged") and record.config is not None and not record.problems:
            record.problems += self._result_problems(record)
        return record

    def _result_problems(self, record: RunRecord) -> list[str]:
        """Why a finished run's files cannot be trusted as its result ([] if they can)."""
        config = record.config
        epochs = int(config.train.get("epochs", 0))
        trained = epochs if record.status == "done" else int(record.analysis.get(DIVERGED_EPOCH, 1)) - 1
        try:
            check_metrics(record.metrics, trained)
            check_analysis(record.analysis, config.analyses, record.status, run_dir=self.path)
        except RecordError as e:
            return [str(e)]
        return []


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def _read_json(path: Path):
    text = _read_text(path)
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None
