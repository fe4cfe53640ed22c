import sqlite3

from cnnlab.store.index import open_index
from cnnlab.store.schema import INDEX_FILE
from cnnlab.store.schema import RunConfig
from cnnlab.store.rundir import RunDir


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
    with open_index(tmp_path) as index:
        assert [r["run_key"] for r in index.rows(study="t")] == ["b"]
        assert index.rows(study="nope") == []
    conn = sqlite3.connect(tmp_path / INDEX_FILE)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()


def test_reader_sees_rows_while_writer_is_open(tmp_path):
    writer = open_index(tmp_path)
    writer.upsert(_row("a"))
    with open_index(tmp_path) as reader:
        assert len(reader.rows()) == 1
        writer.upsert(_row("b"))
        assert len(reader.rows()) == 2
    writer.close()


def _one_run(out):
    config = RunConfig(study="s", model="fc", model_kwargs={}, seed=3, dataset="synthetic", subset=None,
                       train={"epochs": 1}, analyses=(), code="c" * 16,
                       runtime={"device": "cpu", "threads": 1, "torch": "x"}, label="FC")
    run = RunDir(out / "runs" / config.key)
    run.write_config(config)
    run.set_status("failed")
    return config.key


def test_damaged_or_foreign_index_is_set_aside_and_rebuilt_from_the_runs(tmp_path):
    key = _one_run(tmp_path)
    for content in (b"not a database at all" * 100, b""):
        (tmp_path / INDEX_FILE).write_bytes(content)
        messages = []
        with open_index(tmp_path, on_message=messages.append) as index:
            rows = index.rows()
        assert [(r["run_key"], r["study"], r["seed"], r["status"], r["code"]) for r in rows] == [
            (key, "s", 3, "failed", "c" * 16)]
        assert len(messages) == 1 and "rebuilding it from the run directories" in messages[0]
        assert (tmp_path / (INDEX_FILE + ".unusable")).exists()

    conn = sqlite3.connect(tmp_path / INDEX_FILE)  # an older layout: one column fewer
    conn.execute("ALTER TABLE runs DROP COLUMN precision")
    conn.commit()
    conn.close()
    messages = []
    with open_index(tmp_path, on_message=messages.append) as index:
        assert [r["run_key"] for r in index.rows()] == [key]
    assert "another layout" in messages[0]


def test_a_deleted_index_is_rebuilt_silently(tmp_path):
    key = _one_run(tmp_path)
    messages = []
    with open_index(tmp_path, on_message=messages.append) as index:
        assert [r["run_key"] for r in index.rows()] == [key]
    assert messages == []
