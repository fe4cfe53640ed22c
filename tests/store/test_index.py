import sqlite3

import pytest

from cnnlab.errors import UserError
from cnnlab.store.index import INDEX_FILE, open_index


def _row(key, study="s", status="done", acc=0.5):
    return {"run_key": key, "study": study, "model": "fc", "label": "FC", "seed": 0, "dataset": "synthetic",
            "status": status, "test_acc": acc, "params": 10, "run_dir": f"runs/{key}", "not_a_column": 1}


def test_upsert_keeps_one_row_per_run(tmp_path):
    with open_index(tmp_path) as index:
        index.upsert(_row("a", status="failed", acc=None))
        index.upsert(_row("b", study="t"))
        index.upsert(_row("a", status="done", acc=0.9))
        rows = index.rows()
    assert [r["run_key"] for r in rows] == ["a", "b"]
    assert rows[0]["status"] == "done" and rows[0]["test_acc"] == 0.9
    assert rows[0]["updated_at"]  # filled in when the caller gives none


def test_filter_by_study_and_wal_mode(tmp_path):
    with open_index(tmp_path) as index:
        index.upsert(_row("a", study="s"))
        index.upsert(_row("b", study="t"))
    with open_index(tmp_path, readonly=True) as index:
        assert [r["run_key"] for r in index.rows(study="t")] == ["b"]
        assert index.rows(study="nope") == []
    conn = sqlite3.connect(tmp_path / INDEX_FILE)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()


def test_readonly_open_of_missing_index_is_a_user_error_and_creates_nothing(tmp_path):
    with pytest.raises(UserError, match="no results index"):
        open_index(tmp_path / "out", readonly=True)
    assert not (tmp_path / "out").exists()


def test_reader_sees_rows_while_writer_is_open(tmp_path):
    writer = open_index(tmp_path)
    writer.upsert(_row("a"))
    with open_index(tmp_path, readonly=True) as reader:
        assert len(reader.rows()) == 1
        writer.upsert(_row("b"))
        assert len(reader.rows()) == 2
    writer.close()
