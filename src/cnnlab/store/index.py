"""A SQLite index of every run in an output directory: one row per run, queryable across studies.

The run directories are the source of truth; the index holds each run's key figures so
that `cnnlab runs` (or any SQL client) can list and compare them without reading files.
WAL mode lets readers query while a study is writing. Only the study driver writes here.
"""

import sqlite3
import time
from pathlib import Path

from cnnlab.errors import UserError

INDEX_FILE = "index.sqlite"

# column -> SQL type; run_key is the primary key, so upserting a run never duplicates it.
COLUMNS = {
    "run_key": "TEXT PRIMARY KEY",
    "study": "TEXT",
    "model": "TEXT",
    "label": "TEXT",
    "seed": "INTEGER",
    "dataset": "TEXT",
    "status": "TEXT",
    "test_acc": "REAL",
    "train_acc": "REAL",
    "test_loss": "REAL",
    "params": "INTEGER",
    "macs": "INTEGER",
    "train_seconds": "REAL",
    "epochs": "INTEGER",
    "updated_at": "TEXT",
    "run_dir": "TEXT",
}


class RunIndex:
    def __init__(self, path, readonly: bool = False):
        self.path = Path(path)
        if readonly:
            if not self.path.is_file():
                raise UserError(f"no results index at {self.path}; run a study first (cnnlab run STUDY --out DIR)")
            self.conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=30)
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.conn = sqlite3.connect(self.path, timeout=30)
            self.conn.execute("PRAGMA journal_mode=WAL")
            columns = ", ".join(f"{name} {kind}" for name, kind in COLUMNS.items())
            self.conn.execute(f"CREATE TABLE IF NOT EXISTS runs ({columns})")
            self.conn.commit()
        self.conn.row_factory = sqlite3.Row

    def upsert(self, row: dict):
        """Insert a run or replace its row; keys outside COLUMNS are ignored."""
        values = {name: row.get(name) for name in COLUMNS}
        values["updated_at"] = values["updated_at"] or time.strftime("%Y-%m-%dT%H:%M:%S")
        names = ", ".join(values)
        marks = ", ".join(f":{name}" for name in values)
        updates = ", ".join(f"{name} = excluded.{name}" for name in values if name != "run_key")
        with self.conn:  # one transaction per run
            self.conn.execute(f"INSERT INTO runs ({names}) VALUES ({marks}) "
                              f"ON CONFLICT(run_key) DO UPDATE SET {updates}", values)

    def rows(self, study: str | None = None) -> list[dict]:
        sql, args = "SELECT * FROM runs", ()
        if study:
            sql, args = sql + " WHERE study = ?", (study,)
        cursor = self.conn.execute(sql + " ORDER BY study, rowid", args)
        return [dict(r) for r in cursor]

    def close(self):
        self.conn.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def open_index(out_dir, readonly: bool = False) -> RunIndex:
    return RunIndex(Path(out_dir) / INDEX_FILE, readonly=readonly)
