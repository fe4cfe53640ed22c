import pytest

from cnnlab.store.schema import RunConfig, check_analysis, metrics_row
from cnnlab.store.rundir import RunDir


def test_status_roundtrip_and_clear(tmp_path):
    run = RunDir(tmp_path / "abc")
    assert run.status() is None and run.key == "abc"
    run.set_status("failed")
    run.write_error("ValueError: bad\nthing", "Traceback ...")
    assert run.status() == "failed"
    assert run.error() == "ValueError: bad thing"  # one line
    run.clear_status()
    assert run.status() is None and run.error() is None
    assert not (run.path / "traceback.txt").exists()
    with pytest.raises(ValueError, match="done"):
        run.set_status("finished")


def test_unknown_status_text_reads_as_none(tmp_path):
    run = RunDir(tmp_path)
    (tmp_path / "status").write_text("garbage\n")
    assert run.status() is None


def _config(epochs=2, analyses=("overfitting",)):
    return RunConfig(study="s", model="fc", model_kwargs={}, seed=0, dataset="synthetic", subset=None,
                     train={"epochs": epochs}, analyses=analyses, code="c" * 16,
                     runtime={"device": "cpu", "threads": 1, "torch": "x"}, label="FC")


def _row(epoch, acc=0.5):
    return metrics_row(epoch=epoch, train_loss=1.0, train_acc=acc, test_loss=1.0, test_acc=acc, epoch_seconds=1.0,
                       train_seconds=1.0, images_per_second=10.0, lr=0.1)


def _finished(tmp_path):
    from cnnlab.analyses.overfitting.measure import overfitting

    run = RunDir(tmp_path)
    run.write_config(_config())
    rows = [_row(1), _row(2, acc=0.75)]
    run.write_metrics(rows)
    analysis = {"params": {"total": 1, "trainable": 1}, "macs": 1, "flops": 2, "train_seconds": 2.0, "device": "cpu",
                "precision": "fp32", "step_mode": "eager", "sharing": {"runs_per_device": 1},
                "overfitting": overfitting(rows)}
    run.write_analysis(check_analysis(analysis, ("overfitting",), "done"))
    run.set_status("done")
    return run


def test_a_complete_run_loads_as_trusted(tmp_path):
    record = _finished(tmp_path).load()
    assert record.trusted and record.usable and record.config == _config()
    assert record.final("test_acc") == 0.75 and record.seed == 0 and record.model == "fc"
    assert record.summary()["test_acc"] == 0.75 and record.summary()["epochs"] == 2


@pytest.mark.parametrize("damage,problem", [
    (lambda p, edit: edit(p / "metrics.jsonl", lambda b: b[:-20], raw=True), "line 2 is not JSON"),
    (lambda p, edit: (p / "metrics.jsonl").write_text("garbage\n"), "line 1 is not JSON"),
    (lambda p, edit: (p / "metrics.jsonl").unlink(), "metrics.jsonl is missing"),
    (lambda p, edit: edit(p / "metrics.jsonl", lambda rows: rows[:1]), "has 1 epoch, the run has 2"),
    (lambda p, edit: (p / "analysis.json").write_text("{"), "analysis.json is missing or not JSON"),
    (lambda p, edit: (p / "analysis.json").write_text('{"macs": 1}'), "lacks 'params'"),
    (lambda p, edit: (p / "config.json").write_text('{"schema": 1}'), "older cnnlab"),
    (lambda p, edit: (p / "metrics.jsonl").write_bytes(b"\xff\xfe\n"), "metrics.jsonl is missing or unreadable"),
])
def test_damaged_records_are_not_trusted(tmp_path, damage, problem, damage_file):
    run = _finished(tmp_path)
    damage(run.path, damage_file)
    record = run.load()
    assert not record.trusted and not record.usable
    assert problem in record.problems[0]


def test_write_metrics_refuses_rows_that_break_the_schema(tmp_path):
    from cnnlab.store.schema import RecordError

    with pytest.raises(RecordError, match="row 1 is epoch 2"):
        RunDir(tmp_path).write_metrics([_row(2)])
    with pytest.raises(RecordError, match="not a finite number"):
        RunDir(tmp_path).write_metrics([{**_row(1), "test_loss": float("nan")}])
    assert not (tmp_path / "metrics.jsonl").exists()
