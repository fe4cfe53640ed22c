"""Tuning in the schema: a tuning run's key says its role, split and setting while an evaluation
run's key hashes exactly as before tuning existed; study.json's tuning reads back, and files
written without it still read."""

import json
import sqlite3

import pytest

from cnnlab.errors import UserError
from cnnlab.store.index import open_index
from cnnlab.store.rundir import RunDir
from cnnlab.store.schema import (INDEX_FILE, ModelTuning, RecordError, RunConfig, StudyRecord, TuningPoint,
                                 TuningRecord, TuningRun, read_study, stable_hash)

BASE = dict(study="s", model="fc", model_kwargs={}, seed=0, dataset="synthetic", subset=None,
            train={"lr": 0.001, "epochs": 1}, analyses=(), code="c0de", runtime={"device": "cpu", "threads": 1,
                                                                                 "torch": "2.x"}, label="FC")
TUNE = dict(role="tune", validation={"fraction": 0.1, "seed": 0}, setting={"lr": 0.001})


def test_an_evaluation_run_hashes_as_before_tuning_existed():
    before = {"study": "s", "profile": "full", "model": "fc", "model_kwargs": {}, "seed": 0, "dataset": "synthetic",
              "subset": None, "test_subset": None, "train": {"lr": 0.001, "epochs": 1}, "analyses": [],
              "code": "c0de", "runtime": {"device": "cpu", "threads": 1, "torch": "2.x"}}
    config = RunConfig(**BASE)
    assert config.identity() == before and config.key == stable_hash(before)
    assert "role" not in config.to_json()


def test_a_tuning_runs_key_says_its_role_split_and_setting():
    tune = RunConfig(**{**BASE, "seed": 1000}, **TUNE)
    assert tune.identity()["role"] == "tune" and tune.identity()["validation"] == {"fraction": 0.1, "seed": 0}
    other_split = RunConfig(**{**BASE, "seed": 1000}, **{**TUNE, "validation": {"fraction": 0.2, "seed": 0}})
    plain = RunConfig(**{**BASE, "seed": 1000})
    assert len({tune.key, other_split.key, plain.key}) == 3
    assert tune.name == "FC lr=0.001 seed 1000"


def test_config_json_round_trips_roles_and_refuses_a_tuning_run_without_its_split(tmp_path):
    tune = RunConfig(**BASE, **TUNE)
    run = RunDir(tmp_path / tune.key)
    run.write_config(tune)
    record = run.load()
    assert record.config == tune and record.summary()["role"] == "tune"
    assert record.summary()["setting"] == {"lr": 0.001}
    raw = tune.to_json()  # what config.json holds
    with pytest.raises(RecordError, match="validation split and setting"):
        RunConfig.from_json({**raw, "validation": None})
    with pytest.raises(RecordError, match="role 'probe'"):
        RunConfig.from_json({**raw, "role": "probe"})
    older = {k: v for k, v in raw.items() if k not in ("role", "validation", "setting")}
    assert RunConfig.from_json(older).role == "eval"  # config.json written before roles existed


def test_the_index_has_a_role_column_and_an_older_index_is_rebuilt_with_it(tmp_path):
    for config in (RunConfig(**BASE), RunConfig(**{**BASE, "seed": 1000}, **TUNE)):
        RunDir(tmp_path / "runs" / config.key).write_config(config)
    conn = sqlite3.connect(tmp_path / INDEX_FILE)  # an index from before the role column
    conn.execute("CREATE TABLE runs (run_key TEXT PRIMARY KEY, study TEXT)")
    conn.commit()
    conn.close()
    messages = []
    with open_index(tmp_path, on_message=messages.append) as index:
        roles = sorted((r["seed"], r["role"]) for r in index.rows())
    assert roles == [(0, "eval"), (1000, "tune")] and "another layout" in messages[0]


def _record() -> TuningRecord:
    runs = (TuningRun("k1", 1000, "done", 0.5, 1.2, 3.0), TuningRun("k2", 1001, "diverged", None, None, 2.0))
    points = (TuningPoint({"lr": 0.001}, runs[:1] * 2, mean=0.5, loss=1.2), TuningPoint({"lr": 0.01}, runs[1:]))
    model = ModelTuning("FC", "fc", points, chosen={"lr": 0.001}, edge={"lr": "lowest"}, runs=3, seconds=8.0)
    return TuningRecord(grid={"lr": [0.001, 0.01]}, seeds=(1000, 1001), epochs=2,
                        validation={"fraction": 0.1, "seed": 0, "train_size": 90, "validation_size": 10},
                        rule="best mean", models=(model,), shared="s")


def test_study_json_keeps_the_tuning_and_reads_files_without_it(tmp_path):
    path = tmp_path / "study.json"
    record = StudyRecord(name="s", tuning=_record())
    path.write_text(json.dumps(record.to_json()))
    assert read_study(path).tuning == record.tuning
    path.write_text(json.dumps({k: v for k, v in record.to_json().items() if k != "tuning"}))
    assert read_study(path).tuning is None
    path.write_text(json.dumps({**record.to_json(), "tuning": ["damaged"]}))
    with pytest.raises(UserError, match="'tuning' must be an object"):
        read_study(path)
