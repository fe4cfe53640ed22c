"""A SQLite index of every run in an output directory: one row per run, queryable across studies.

The run directories are the source of truth; the index is a cache of their key figures so
that `cnnlab runs` (or any SQL client) can list and compare runs without reading files.
An index that cannot be read, or that has another layout (an older cnnlab, someone else's
file), is set aside and rebuilt from the run directories, with one line saying so.
WAL mode lets readers query while a study is writing. Only the study driver writes here.
"""

import shutil
import sqlite3
import time
from contextlib import contextmanager
from pathlib import Path

from cnnlab.errors import say
from cnnlab.store.schema import INDEX_COLUMNS, INDEX_FILE, RUNS_DIR, STATUS_FILE

class RunIndex:
    def __init__(self, out_dir, on_message=say):
        self.out_dir = Path(out_dir)
        self.path = self.out_dir / INDEX_FILE
        self.on_message = on_message
        self.conn = None
        # Under the same kind of claim the runs use: two `cnnlab run` starting on an empty OUT
        # must not take the index the other has just created for a foreign one.
        with _claimed(self.path.with_name(INDEX_FILE + ".lock")):
            self._open()

    def _open(self):
        existed = self.path.exists()
        try:
            self._connect()
            usable = self._layout_ok() if existed else False
        except sqlite3.DatabaseError as e:
            usable = None
            reason = str(e)
        if usable is None or (existed and not usable):
            why = f"cannot be read ({reason})" if usable is None else "has another layout"
            self._set_aside(why)
            self._connect()
        if not usable:
            self._create()
            if existed or (self.out_dir / RUNS_DIR).is_dir():
                self.rebuild()

    # ---- opening -----------------------------------------------------------------------
    def _connect(self):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.conn = sqlite3.connect(self.path, timeout=30)
        self.conn.row_factory = sqlite3.Row
        self.conn.execute("PRAGMA journal_mode=WAL")

    def _layout_ok(self) -> bool:
        tables = {r[0] for r in self.conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if tables != {"runs"}:
            return False
        columns = [r[1] for r in self.conn.execute("PRAGMA table_info(runs)")]
        return columns == list(INDEX_COLUMNS)

    def _set_aside(self, why: str):
        if self.conn is not None:
            self.conn.close()
        aside = self.path.with_name(INDEX_FILE + ".unusable")
        for suffix in ("-wal", "-shm"):
            Path(str(self.path) + suffix).unlink(missing_ok=True)
        shutil.move(self.path, aside)
        self.on_message(f"{self.path} {why}; moved to {aside.name}, rebuilding it from the run directories")

    def _create(self):
        columns = ", ".join(f"{name} {kind}" for name, kind in INDEX_COLUMNS.items())
        with self.conn:
            self.conn.execute(f"CREATE TABLE IF NOT EXISTS runs ({columns})")

    def rebuild(self):
        """Re-read every run directory under OUT/runs into the index."""
        from cnnlab.store.rundir import RunDir

        runs_dir = self.out_dir / RUNS_DIR
        with self.conn:
            self.conn.execute("DELETE FROM runs")
        for path in sorted(runs_dir.iterdir()) if runs_dir.is_dir() else []:
            if path.is_dir():
                record = RunDir(path).load()
                if record.config is not None or record.raw_config:
                    self.upsert({**record.summary(), "updated_at": finished_at(path),
                                 "run_dir": f"{RUNS_DIR}/{path.name}"})

    # ---- reading and writing -----------------------------------------------------------
    def upsert(self, row: dict):
        """Insert a run or replace its row; keys outside INDEX_COLUMNS are ignored."""
        values = {name: row.get(name) for name in INDEX_COLUMNS}
        values["updated_at"] = values["updated_at"] or time.strftime("%Y-%m-%dT%H:%M:%S")
        names = ", ".join(values)
        marks = ", ".join(f":{name}" for name in values)
        updates = ", ".join(f"{name} = excluded.{name}" for name in values if name != "run_key")
        with self.conn:  # one transaction per run
            self.conn.execute(f"INSERT INTO runs ({names}) VALUES ({marks}) "
                              f"ON CONFLICT(run_key) DO UPDATE SET {updates}", values)

    def delete(self, run_keys):
        with self.conn:
            self.conn.executemany("DELETE FROM runs WHERE run_key = ?", [(k,) for k in run_keys])

    def rows(self, study: str | None = None) -> list[dict]:
        sql, args = "SELECT * FROM runs", ()
        if study:
            sql, args = sql + " WHERE study = ?", (study,)
        cursor = self.conn.execute(sql + " ORDER BY study, rowid", args)
        return [dict(r) for r in cursor]

    def close(self):
        if self.conn is not None:
            self.conn.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


@contextmanager
def _claimed(lock_path: Path):
    """An exclusive flock on `lock_path` while the block runs (dropped by the kernel if the
    process dies)."""
    import fcntl

    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a", encoding="utf-8") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def finished_at(run_path: Path) -> str | None:
    """When the run's status was written (local time), so a reused run keeps its date."""
    try:
        return time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime((run_path / STATUS_FILE).stat().st_mtime))
    except OSError:
        return None


def open_index(out_dir, on_message=say) -> RunIndex:
    return RunIndex(out_dir, on_message=on_message)
