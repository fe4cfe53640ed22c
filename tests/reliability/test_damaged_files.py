"""Damaged files of a finished or interrupted run, and a damaged index: the next `cnnlab run`
says in one line what it found and what it does about it, and ends with the numbers of a
run that was never damaged. Nothing damaged is trusted, nothing intact is thrown away:
a finished run with damaged records resumes from its checkpoint and is re-analysed, not
retrained; a damaged checkpoint of an unfinished run is set aside and the run starts over."""

import json
import pickle
import shutil
import sqlite3

import pytest
import torch

from cnnlab.store.rundir import RunDir

from .conftest import RUN_OPTIONS, final_results, messages, one_message


def _nan_accuracy(rows):
    rows[-1]["test_acc"] = float("nan")
    return rows


def _without(key):
    def change(obj):
        del obj[key]
        return obj
    return change


def _with(key, value):
    def change(obj):
        obj[key] = value
        return obj
    return change


# damaged file -> (how, given the file and the damage_file fixture; text the one message line must contain)
FINISHED_RUN = {
    "metrics.jsonl torn last line": ("metrics.jsonl", lambda p, edit: edit(p, lambda b: b[:-20], raw=True), "line 2"),
    "metrics.jsonl garbage": ("metrics.jsonl", lambda p, edit: p.write_bytes(b"\x00garbage {{{\n" * 20), "line 1"),
    "metrics.jsonl missing": ("metrics.jsonl", lambda p, edit: p.unlink(), "metrics.jsonl is missing"),
    "metrics.jsonl empty": ("metrics.jsonl", lambda p, edit: p.write_bytes(b""), "metrics.jsonl has 0 epochs"),
    "metrics.jsonl not UTF-8": ("metrics.jsonl", lambda p, edit: p.write_bytes(b'{"epoch": "\xff\xfe"}\n'),
                                "metrics.jsonl is missing or unreadable"),
    "metrics.jsonl NaN accuracy": ("metrics.jsonl", lambda p, edit: edit(p, _nan_accuracy), "not a finite number"),
    "metrics.jsonl an epoch missing": ("metrics.jsonl", lambda p, edit: edit(p, lambda rows: rows[1:]), "has 1 epoch,"),
    "metrics.jsonl epochs out of order": ("metrics.jsonl", lambda p, edit: edit(p, lambda rows: rows[::-1]),
                                          "is epoch 2"),
    "analysis.json torn": ("analysis.json", lambda p, edit: edit(p, lambda b: b[:100], raw=True), "analysis.json"),
    "analysis.json missing": ("analysis.json", lambda p, edit: p.unlink(), "analysis.json is missing"),
    "analysis.json not an object": ("analysis.json", lambda p, edit: p.write_text("[]"),
                                    "analysis.json is missing or not"),
    "analysis.json malformed confusion": ("analysis.json", lambda p, edit: edit(p, _with("confusion", 3)),
                                          "'confusion'"),
    "analysis.json lacks an analysis": ("analysis.json", lambda p, edit: edit(p, _without("grad_flow")),
                                        "'grad_flow'"),
    "analysis.json unknown key": ("analysis.json", lambda p, edit: edit(p, _with("accuracy", 1.0)), "'accuracy'"),
    "activations.npz missing": ("activations.npz", lambda p, edit: p.unlink(), "activations.npz is missing"),
    "activations.npz torn": ("activations.npz", lambda p, edit: p.write_bytes(p.read_bytes()[:-50]),
                             "activations.npz"),
    "config.json torn": ("config.json", lambda p, edit: edit(p, lambda b: b[:40], raw=True), "config.json"),
    "config.json of an older cnnlab": ("config.json", lambda p, edit: edit(p, _with("schema", 1)), "schema 1"),
}


@pytest.mark.parametrize("case", list(FINISHED_RUN))
def test_damaged_record_of_a_finished_run_is_reanalysed(case, finished, reference, cli, damage_file):
    name, damage, reason = FINISHED_RUN[case]
    study, out, run = finished
    damage(run / name, damage_file)
    code, stdout, stderr = cli("run", study, "--out", out, *RUN_OPTIONS)
    assert code == 0 and "Traceback" not in stderr, stderr
    message = one_message(stderr)
    assert reason in message and "running it again" in message, message
    assert "(resumed after epoch 2)" in stdout  # from its intact checkpoint: analysed again, not retrained
    assert final_results(out) == reference[2]


def _garbage(path):
    path.write_bytes(b"\x00not a checkpoint" * 100)


def _foreign(path):
    torch.save({"weights": torch.zeros(3)}, path)


def _other_settings(path):
    checkpoint = torch.load(path, weights_only=True)
    checkpoint["config_hash"] = "0" * 16
    torch.save(checkpoint, path)


class _Payload:
    """A pickled object, not tensors: torch.load(weights_only=True) must refuse it."""


CHECKPOINTS = {
    "truncated": (lambda p: p.write_bytes(p.read_bytes()[: p.stat().st_size // 2]), "unusable"),
    "empty": (lambda p: p.write_bytes(b""), "unusable"),
    "garbage": (_garbage, "unusable"),
    "a pickle of an object": (lambda p: p.write_bytes(pickle.dumps(_Payload())), "unusable"),
    "of another file format": (_foreign, "unusable"),
    "of other training settings": (_other_settings, "other training settings"),
}


def _interrupt(run):
    """As if killed after its last epoch's commit, before the analyses."""
    for name in ("status", "analysis.json", "activations.npz"):
        (run / name).unlink()


@pytest.mark.parametrize("case", list(CHECKPOINTS))
def test_damaged_checkpoint_of_an_unfinished_run_is_set_aside_and_the_run_starts_over(case, finished, reference, cli):
    damage, reason = CHECKPOINTS[case]
    study, out, run = finished
    _interrupt(run)
    damage(run / "checkpoint.pt")
    code, stdout, stderr = cli("run", study, "--out", out, *RUN_OPTIONS)
    assert code == 0 and "Traceback" not in stderr, stderr
    message = one_message(stderr)
    assert reason in message and "checkpoint.pt.unusable" in message and "starts over" in message, message
    assert stdout.count("resumed") == 0  # trained from the start
    assert (run / "checkpoint.pt.unusable").is_file()
    (run / "checkpoint.pt.unusable").unlink()
    assert final_results(out) == reference[2]


@pytest.mark.slow
def test_train_command_with_a_corrupt_checkpoint_starts_over(cli, tmp_path, monkeypatch):
    """The issue's `cnnlab train` case: an interrupted run's checkpoint is garbage."""
    monkeypatch.chdir(tmp_path)
    argv = ["train", "--model", "fc", "--dataset", "synthetic", "--subset", "64", "--epochs", "2", "--out", "out",
            "--quiet", "--no-report", "--device", "cpu"]
    assert cli(*argv)[0] == 0
    (run,) = (tmp_path / "out" / "runs").iterdir()
    expected = RunDir(run).load()
    assert expected.usable, expected.problems
    (run / "status").unlink()
    _garbage(run / "checkpoint.pt")
    code, stdout, stderr = cli(*argv)
    assert code == 0 and "Traceback" not in stderr, stderr
    message = one_message(stderr)
    assert "checkpoint.pt.unusable" in message
    strip = ("epoch_seconds", "train_seconds", "images_per_second")
    rows = [{k: v for k, v in row.items() if k not in strip} for row in expected.metrics]
    record = RunDir(run).load()
    again = [{k: v for k, v in row.items() if k not in strip} for row in record.metrics]
    assert record.usable and again == rows and len(rows) == 2 and "test accuracy" in stdout


def _foreign_database(path):
    path.unlink()
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE photos (id INTEGER PRIMARY KEY, caption TEXT)")
    conn.execute("INSERT INTO photos VALUES (1, 'cat')")
    conn.commit()
    conn.close()


def _older_layout(path):
    conn = sqlite3.connect(path)
    conn.execute("ALTER TABLE runs DROP COLUMN precision")
    conn.commit()
    conn.close()


def _wrong_row(path):
    conn = sqlite3.connect(path)
    conn.execute("UPDATE runs SET test_acc = 0.01, status = 'failed'")
    conn.commit()
    conn.close()


def _a_directory(path):
    path.unlink()
    path.mkdir()
    (path / "something").write_text("x")


INDEXES = {
    "corrupt": (lambda p: p.write_bytes(b"SQLite format 3\x00" + b"\xff" * 4000), "cannot be read"),
    "garbage": (lambda p: p.write_bytes(b"not a database at all " * 100), "cannot be read"),
    "empty": (lambda p: p.write_bytes(b""), "has another layout"),
    "someone else's database": (_foreign_database, "has another layout"),
    "an older layout": (_older_layout, "has another layout"),
    "a directory": (_a_directory, "cannot be read"),
    "a row that disagrees with its run": (_wrong_row, None),
    "deleted": (lambda p: p.unlink(), None),
}


@pytest.mark.parametrize("case", list(INDEXES))
def test_damaged_index_is_rebuilt_from_the_run_directories(case, finished, reference, cli):
    damage, reason = INDEXES[case]
    study, out, _ = finished
    damage(out / "index.sqlite")
    code, stdout, stderr = cli("run", study, "--out", out, *RUN_OPTIONS)
    assert code == 0 and "Traceback" not in stderr, stderr
    if reason:
        message = one_message(stderr)
        assert reason in message and "rebuilding it from the run directories" in message, message
    else:
        assert messages(stderr) == []
    assert "(cached)" in stdout  # the run itself was intact
    results = final_results(out)
    assert results == reference[2]


@pytest.mark.parametrize("case", ["corrupt", "empty", "someone else's database", "an older layout"])
def test_runs_command_rebuilds_a_damaged_index(case, finished, reference, cli):
    damage, reason = INDEXES[case]
    _, out, run = finished
    damage(out / "index.sqlite")
    code, stdout, stderr = cli("runs", "--out", out, "--json")
    assert code == 0 and "Traceback" not in stderr, stderr
    message = one_message(stderr)
    assert reason in message
    (row,) = json.loads(stdout)
    assert row["run_key"] == run.name and row["status"] == "done"
    assert row["test_acc"] == reference[2]["index"][0]["test_acc"]


def test_corrupt_study_json_is_rewritten(finished, reference, cli):
    study, out, _ = finished
    (out / "studies" / "kill" / "study.json").write_bytes(b'{"runs": [')
    code, stdout, stderr = cli("run", study, "--out", out, *RUN_OPTIONS)
    assert code == 0 and messages(stderr) == [], stderr
    assert final_results(out) == reference[2]


def test_damaged_run_directory_in_another_place_does_not_matter(finished, reference, cli):
    """A stray file under runs/ (not a run) is neither indexed nor an error."""
    study, out, _ = finished
    (out / "runs" / "notes.txt").write_text("my notes")
    shutil.rmtree(out / "studies")
    code, _, stderr = cli("run", study, "--out", out, *RUN_OPTIONS)
    assert code == 0 and messages(stderr) == [], stderr
    (out / "runs" / "notes.txt").unlink()
    assert final_results(out) == reference[2]
