"""TensorBoard event files of real runs, read back with TensorBoard's own EventAccumulator."""

import math
import sys

import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from cnnlab.analyses.grad_flow.measure import GradFlowRecorder
from cnnlab.data.synthetic import make_synthetic
from cnnlab.models import create_model
from cnnlab.store.rundir import RunDir
from cnnlab.store.schema import RUNS_DIR
from cnnlab.studies.run_one import execute_run
from cnnlab.studies.loader import parse_study
from cnnlab.studies.plan import plan_runs
from cnnlab.train import TrainConfig, train, trainer
from cnnlab.train import tensorboard as tb
from cnnlab.train.tensorboard import EPOCH_TAGS, TensorBoardLogger, run_log_dir

LEARNED = ("train_loss", "train_acc", "test_loss", "test_acc", "lr")


def _events(log_dir, purge: bool = True) -> EventAccumulator:
    events = EventAccumulator(str(log_dir), size_guidance={"scalars": 0}, purge_orphaned_data=purge)
    events.Reload()
    return events


def _steps(events, tag) -> list[int]:
    return [e.step for e in events.Scalars(tag)]


def test_event_tags_of_a_real_run(tiny_study):
    """The study run by the API: per-epoch curves and per-layer gradient norms, each at
    the values the run stored (float32 in the event file)."""
    run = tiny_study.runs.iloc[-1]  # Simple CNN, seed 1
    run_dir = tiny_study.dir.parent.parent / RUNS_DIR / run.run_key
    record = RunDir(run_dir).load()
    events = _events(run_log_dir(run_dir, tiny_study.name, run.label, run.seed, record.config.train))
    assert record.usable, record.problems
    analysis = record.analysis["grad_flow"]
    layers = analysis["layer_names"]
    assert events.Tags()["scalars"] == list(EPOCH_TAGS.values()) + \
        [f"grad_norm/{k:02d}_{name}" for k, name in enumerate(layers, start=1)]
    assert events.Tags()["tensors"] == ["run/text_summary"]
    (row,) = record.metrics
    steps = 128 // 32  # subset 128, batch size 32
    for key, tag in EPOCH_TAGS.items():
        (event,) = events.Scalars(tag)
        assert event.step == steps - 1 and event.value == pytest.approx(row[key], rel=1e-6), tag
    names = analysis["names"]
    for k, name in enumerate(layers, start=1):
        logged = events.Scalars(f"grad_norm/{k:02d}_{name}")
        assert [e.step for e in logged] == analysis["steps"] == list(range(steps))  # grad_flow_every = 1
        assert [e.value for e in logged] == pytest.approx([r[names.index(name)] for r in analysis["grad_norm"]],
                                                          rel=1e-6)


def test_tensorboard_lists_runs_as_study_label_seed(tiny_study):
    """`tensorboard --logdir OUT/tensorboard`: the run names TensorBoard's own loader finds."""
    from tensorboard.backend.event_processing.plugin_event_multiplexer import EventMultiplexer

    out = tiny_study.dir.parent.parent
    runs = EventMultiplexer().AddRunsFromDirectory(str(out / "tensorboard")).Runs()
    assert set(runs) == {f"tiny-api/{r.label}/seed{r.seed}-lr{r.lr:g}-{r.run_key}" for r in tiny_study.runs.itertuples()}
    assert "Fully connected, 3 layers" in {name.split("/")[1] for name in runs}  # labels as written
    assert not any((out / "runs" / key / "tensorboard").exists() for key in tiny_study.runs.run_key)


def test_log_dir_names_are_one_safe_folder_each(tmp_path):
    log_dir = run_log_dir(tmp_path / "out" / "runs" / "abc123", "../study", "a/b\\c: ..", 2)
    assert log_dir == tmp_path / "out" / "tensorboard" / "study" / "a_b_c" / "seed2-abc123"
    elsewhere = tmp_path / "elsewhere"
    assert run_log_dir(elsewhere, "s", "CNN", 0) == elsewhere / "tensorboard" / "s" / "CNN" / "seed0-elsewhere"


def test_runs_at_other_settings_and_tuning_runs_read_apart(tmp_path):
    """Before: a model's runs at shared and at tuned settings both showed as "FC/seed0-<key>", and a
    tuning run's validation accuracy was logged as accuracy/test."""
    from cnnlab.train.tensorboard import TUNING_TAGS

    run = tmp_path / "out" / "runs" / "k1"
    assert run_log_dir(run, "s", "FC", 0, {"lr": 1e-3, "weight_decay": 0.0}).name == "seed0-lr0.001-k1"
    assert run_log_dir(run, "s", "FC", 0, {"lr": 0.01, "weight_decay": 5e-4}).name == "seed0-lr0.01-wd0.0005-k1"
    assert run_log_dir(run, "s", "FC", 1, {"lr": 0.1}, tuning=True).name == "tune-seed1-lr0.1-k1"
    assert TUNING_TAGS["test_acc"] == "accuracy/validation" and "accuracy/test" not in TUNING_TAGS.values()


def _study(epochs: int):
    return parse_study({"name": "tb", "dataset": "synthetic", "subset": 256, "epochs": epochs, "seeds": [0],
                        "analyses": ["grad_flow"], "train": {"batch_size": 64, "precision": "fp32",
                                                            "grad_flow_every": 2},
                        "models": [{"name": "simple-cnn", "label": "CNN", "kwargs": {"width": 8, "hidden": 16}}]},
                       "test")


@pytest.mark.slow
def test_resumed_run_continues_its_curves_without_duplicates(tmp_path, monkeypatch):
    """The run dies after writing epoch 2's curves but before committing epoch 2: the retry
    resumes after epoch 1 and trains epoch 2 again. Each step shows once, with the new values."""
    (spec,) = plan_runs(_study(epochs=3), torch.device("cpu"), n_train=256, threads=torch.get_num_threads())
    data = make_synthetic().subset(256)
    commit = trainer._commit_epoch

    def dies_at_epoch_2(out_dir, epoch, *args):
        if epoch == 2:
            raise RuntimeError("killed before epoch 2 was committed")
        commit(out_dir, epoch, *args)

    monkeypatch.setattr(trainer, "_commit_epoch", dies_at_epoch_2)
    assert execute_run(spec, tmp_path, "cpu", data=data)["status"] == "failed"
    log_dir = run_log_dir(tmp_path, "tb", "CNN", 0, spec.train)
    assert _steps(_events(log_dir), "loss/test") == [3, 7]  # epoch 2's curves were written
    monkeypatch.setattr(trainer, "_commit_epoch", commit)
    summary = execute_run(spec, tmp_path, "cpu", data=data)
    assert summary["status"] == "done" and summary["resumed_from"] == 1

    events = _events(log_dir)
    record = RunDir(tmp_path).load()
    assert record.usable, record.problems
    metrics = record.metrics
    for key, tag in EPOCH_TAGS.items():
        assert _steps(events, tag) == [3, 7, 11], tag
        if key not in ("images_per_second",):  # timing differs between attempts; the rest must not
            assert [e.value for e in events.Scalars(tag)] == pytest.approx([r[key] for r in metrics], rel=1e-6)
    grad_tags = [t for t in events.Tags()["scalars"] if t.startswith("grad_norm/")]
    assert len(grad_tags) == 4
    for tag in grad_tags:
        assert _steps(events, tag) == list(range(0, 12, 2)), tag
    # The purge marker does the work: the files themselves hold epoch 2 twice.
    raw = _events(log_dir, purge=False)
    assert _steps(raw, "loss/test") == [3, 7, 7, 11]


def _fit(data, callbacks, epochs=2):
    torch.manual_seed(0)
    model = create_model("simple-cnn", data.in_shape, data.num_classes, width=8, hidden=16)
    config = TrainConfig(epochs=epochs, batch_size=64, precision="fp32", augment=True, grad_flow_every=1)
    return train(model, data, config, callbacks=callbacks, device="cpu", verbosity="none")


@pytest.mark.slow
def test_tensorboard_changes_no_number_and_is_optional(tmp_path, monkeypatch, capsys):
    data = make_synthetic(n_train=256, n_test=100)
    plain = _fit(data, [])
    recorder = GradFlowRecorder(every=1)
    logged = _fit(data, [recorder, TensorBoardLogger(tmp_path / "tb", 4, grad_flow=recorder)])
    alone = GradFlowRecorder(every=1)
    _fit(data, [alone])
    assert [[r[k] for k in LEARNED] for r in logged.epochs] == [[r[k] for k in LEARNED] for r in plain.epochs]
    assert recorder.to_dict() == alone.to_dict()  # the recorder records what it records without TensorBoard
    assert len(_events(tmp_path / "tb").Tags()["scalars"]) == len(EPOCH_TAGS) + 4

    # Without the tensorboard package: said once per process, and the runs go on unchanged.
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)
    monkeypatch.setattr(tb, "_said_missing", False)
    capsys.readouterr()
    runs = [_fit(data, [TensorBoardLogger(tmp_path / f"none{i}", 4)]) for i in range(2)]
    err = capsys.readouterr().err
    assert err.count("tensorboard is not installed") == 1 and "pip install tensorboard" in err
    assert not (tmp_path / "none0").exists()
    for run in runs:
        assert [[r[k] for k in LEARNED] for r in run.epochs] == [[r[k] for k in LEARNED] for r in plain.epochs]


def test_a_write_error_is_said_and_the_run_goes_on(tmp_path):
    data = make_synthetic(n_train=128, n_test=50)
    (tmp_path / "taken").write_text("a file where the log directory should go")
    messages = []
    history = _fit(data, [TensorBoardLogger(tmp_path / "taken" / "tb", 2, on_message=messages.append)], epochs=1)
    assert history.status == "done" and math.isfinite(history.final["test_loss"])
    assert len(messages) == 1 and messages[0].startswith("TensorBoard: cannot open event files in")


def test_the_logger_leaves_every_step_to_the_cuda_graph(tmp_path):
    """It writes at epoch ends only, so it never forces a step out of graph replay."""
    recorder = GradFlowRecorder(every=5)
    logger = TensorBoardLogger(tmp_path, steps_per_epoch=10, grad_flow=recorder)
    assert not any(logger.wants_backward(step) for step in range(30))
