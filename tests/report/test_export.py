"""Tidy CSV exports of a real study: results.csv (run x epoch) and `cnnlab runs --csv`
(one row per run), read by pandas exactly as written, without any cleaning."""

import io
import shutil

import pytest
import pandas as pd

from cnnlab.cli import main
from cnnlab.store.index import open_index
from cnnlab.store.rundir import RunDir
from cnnlab.store.schema import INDEX_COLUMNS as COLUMNS
from cnnlab.store.schema import METRIC_KEYS, RESULTS_COLUMNS, RUNS_DIR


def test_results_csv_is_one_row_per_run_and_epoch(tiny_study):
    table = pd.read_csv(tiny_study.dir / "results.csv")
    assert list(table.columns) == list(RESULTS_COLUMNS)  # no "Unnamed: 0" index column
    assert len(table) == 4 and set(table.study) == {"tiny-api"} and set(table.status) == {"done"}
    for column in ("seed", "epoch"):
        assert table[column].dtype == "int64", column
    for column in METRIC_KEYS[1:]:
        assert table[column].dtype == "float64", column
    assert table.usable.dtype == "bool" and table.usable.all()
    for row in table.to_dict("records"):
        stored = RunDir(tiny_study.dir.parent.parent / RUNS_DIR / row["run_key"]).load().metrics[row["epoch"] - 1]
        assert {k: row[k] for k in METRIC_KEYS} == stored  # floats round-trip exactly
    # The notebook API's per-epoch table is the same table.
    pd.testing.assert_frame_equal(table, tiny_study.epochs, check_dtype=False)


def test_cnnlab_report_rewrites_results_csv(tiny_study, tmp_path, capsys):
    out = tmp_path / "out"
    shutil.copytree(tiny_study.dir.parent.parent, out)
    path = out / "studies" / "tiny-api" / "results.csv"
    before = path.read_bytes()
    path.unlink()
    assert main(["report", str(out)]) == 0
    assert path.read_bytes() == before
    assert not list(path.parent.glob(".*.tmp"))  # written atomically: no temp file left behind


def test_runs_csv_to_stdout_and_to_a_file(tiny_study, tmp_path, capsys):
    out = tiny_study.dir.parent.parent
    capsys.readouterr()
    assert main(["runs", "--out", str(out), "--csv"]) == 0
    table = pd.read_csv(io.StringIO(capsys.readouterr().out))
    assert list(table.columns) == [*COLUMNS, "stale"]
    assert len(table) == 4 and not table.stale.any() and table.stale.dtype == "bool"
    for column in ("seed", "params", "macs", "epochs", "threads"):
        assert table[column].dtype == "int64", column
    for column in ("test_acc", "train_acc", "test_loss", "train_seconds"):
        assert table[column].dtype == "float64", column
    with open_index(out) as index:
        rows = {r["run_key"]: r for r in index.rows()}
    for row in table.to_dict("records"):
        assert {k: row[k] for k in ("study", "label", "seed", "test_acc", "params")} == \
            {k: rows[row["run_key"]][k] for k in ("study", "label", "seed", "test_acc", "params")}

    target = tmp_path / "runs.csv"
    assert main(["runs", "--out", str(out), "--study", "tiny-api", "--csv", str(target)]) == 0
    assert "4 run(s) written to" in capsys.readouterr().out
    pd.testing.assert_frame_equal(pd.read_csv(target), table)

    assert main(["runs", "--out", str(out), "--study", "nope", "--csv"]) == 0  # no runs: the header only
    assert pd.read_csv(io.StringIO(capsys.readouterr().out)).columns.tolist() == [*COLUMNS, "stale"]


def test_runs_csv_and_json_exclude_each_other(tiny_study, capsys):
    assert main(["runs", "--out", str(tiny_study.dir.parent.parent), "--csv", "--json"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not allowed with argument" in err


def test_unknown_values_are_empty_cells(tmp_path):
    from cnnlab.io import atomic_write_csv

    atomic_write_csv(tmp_path / "t.csv", [{"a": 1, "b": None}, {"a": 2, "b": 0.5}], ["a", "b"])
    table = pd.read_csv(tmp_path / "t.csv")
    assert table.b.dtype == "float64" and pd.isna(table.b[0]) and table.b[1] == 0.5
