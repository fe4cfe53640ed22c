import json
import subprocess
import sys

import pytest

from cnnlab import __version__
from cnnlab.cli import main
from cnnlab.store.rundir import RunDir


def run_cli(args, tmp_path, capsys):
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("args,message", [
    (["train", "--model", "resnet-9000"], "unknown model 'resnet-9000'; valid models: "),
    (["train", "--dataset", "imagenet"], "unknown dataset 'imagenet'; valid datasets: "),
    (["train", "--epochs", "0"], "--epochs: must be a positive integer up to 100,000, got 0"),
    (["train", "--epochs", "-3"], "--epochs: must be a positive integer up to 100,000, got -3"),
    (["train", "--batch-size", "0"], "--batch-size: must be a positive integer up to 1,048,576, got 0"),
    (["train", "--lr", "0"], "--lr: must be a number in (0, 10], got 0"),
    (["train", "--lr", "fast"], "--lr: expected a number in (0, 10], got 'fast'"),
    (["train", "--optimizer", "lion"], "--optimizer: unknown optimizer 'lion'; valid: sgd, adam, adamw"),
    (["train", "--grad-clip", "-1"], "--grad-clip: must be a number in [0, 1,000,000], got -1"),
    (["run", "mnist-fc-vs-cnn", "--grad-clip", "inf"], "--grad-clip: must be a number in [0, 1,000,000], got inf"),
    (["train", "--dataset", "cifar10", "--offline"], "not found offline"),
    (["train", "--device", "tpu"], "device"),
    (["frobnicate"], "invalid choice: 'frobnicate'"),
    (["train", "--optimiser", "sgd"], "unrecognized arguments: --optimiser sgd; did you mean --optimizer?"),
])
def test_bad_input_exits_2_with_one_line_and_writes_nothing(args, message, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out_dir = tmp_path / "out"
    code, out, err = run_cli(args + ["--out", str(out_dir)] if args[0] == "train" else args, tmp_path, capsys)
    assert code == 2
    assert message in err
    assert err.count("\n") == 1 and err.startswith("error: ")
    assert not out_dir.exists() and not (tmp_path / "runs").exists()


def test_runs_without_results_is_a_user_error_and_creates_nothing(tmp_path, capsys):
    code, _, err = run_cli(["runs", "--out", str(tmp_path / "out")], tmp_path, capsys)
    assert code == 2 and "no results in" in err and err.count("\n") == 1
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_train_writes_a_standard_run_that_runs_and_report_read(tmp_path, capsys):
    out_dir = tmp_path / "r"
    code, out, err = run_cli(["train", "--model", "fc", "--dataset", "synthetic", "--epochs", "2",
                              "--quiet", "--out", str(out_dir), "--grad-flow-every", "5"], tmp_path, capsys)
    assert code == 0, err
    assert "test accuracy" in out and str(out_dir / "runs") in out and "report.html" in out
    assert "epoch 2/2" in err  # plain log lines when not a terminal
    (run,) = (out_dir / "runs").iterdir()
    record = RunDir(run).load()
    assert record.status == "done" and record.usable, record.problems
    assert len(record.metrics) == 2
    assert {"confusion", "overfitting", "grad_flow"} <= set(record.analysis)

    code, out, _ = run_cli(["runs", "--out", str(out_dir), "--json"], tmp_path, capsys)
    (row,) = json.loads(out)
    assert code == 0 and row["run_key"] == run.name and row["status"] == "done" and row["stale"] is False
    assert row["test_acc"] > 0.5 and row["epochs"] == 2
    code, out, _ = run_cli(["report", str(out_dir)], tmp_path, capsys)
    assert code == 0 and "report.md" in out

    code, out, _ = run_cli(["train", "--model", "fc", "--dataset", "synthetic", "--epochs", "2", "--quiet",
                            "--out", str(out_dir), "--grad-flow-every", "5"], tmp_path, capsys)
    assert code == 0 and run.name in out  # the same run, reused


def test_version_and_help_list_every_subcommand():
    version = subprocess.run([sys.executable, "-m", "cnnlab", "--version"], capture_output=True, text=True)
    assert version.returncode == 0 and __version__ in version.stdout
    help_text = subprocess.run([sys.executable, "-m", "cnnlab", "--help"], capture_output=True, text=True).stdout
    for command in ("train", "datasets", "models", "inspect"):
        assert command in help_text


def test_datasets_lists_where_each_was_found(tmp_path, capsys):
    code, out, _ = run_cli(["datasets", "--data-dir", str(tmp_path)], tmp_path, capsys)
    assert code == 0
    assert "mnist-small" in out and "bundled" in out
    assert "NOT FOUND" in out and str(tmp_path) in out
    code, out, _ = run_cli(["datasets", "--json"], tmp_path, capsys)
    assert {row["name"] for row in json.loads(out)} >= {"mnist", "fashion-mnist", "cifar10", "synthetic"}


def test_train_takes_the_study_size_runtime_and_every_training_option(tmp_path, capsys):
    """`cnnlab train` options reach the run as they would through `cnnlab.train_model`."""
    out_dir = tmp_path / "out"
    code, out, err = run_cli(["train", "--model", "fc", "--dataset", "synthetic", "--subset", "64", "--epochs", "1",
                              "--test-subset", "100", "--optimizer", "sgd", "--momentum", "0.5", "--nesterov",
                              "--eval-batch-size", "50", "--no-flip", "--crop-padding", "2", "--analyses", "confusion",
                              "--cpus-per-run", "1", "--device", "cpu", "--precision", "fp32", "--quiet",
                              "--no-report", "--out", str(out_dir)], tmp_path, capsys)
    assert code == 0, err
    (run,) = (out_dir / "runs").iterdir()
    record = RunDir(run).load()
    assert record.usable, record.problems
    config, analysis = record.config, record.analysis
    assert {k: config.train[k] for k in ("optimizer", "momentum", "nesterov", "eval_batch_size", "flip",
                                         "crop_padding", "precision")} == {
        "optimizer": "sgd", "momentum": 0.5, "nesterov": True, "eval_batch_size": 50, "flip": False,
        "crop_padding": 2, "precision": "fp32"}
    assert (config.subset, config.test_subset, config.analyses) == (64, 100, ("confusion",))
    assert config.runtime["threads"] == 1
    assert "confusion" in analysis and "overfitting" not in analysis
    assert sum(sum(row) for row in analysis["confusion"]["matrix"]) == 100  # the test subset, evaluated


def test_the_eta_goes_model_by_model_and_says_when_a_model_is_not_timed_yet(monkeypatch, capsys):
    """Before: "ETA 1 min 34 s" from the FC runs' pace with two Residual CNN runs of 490 s and 338 s to go."""
    from types import SimpleNamespace

    from cnnlab import console
    from cnnlab.console import RunProgress

    clock = [1000.0]
    monkeypatch.setattr(console.time, "time", lambda: clock[0])
    specs = [SimpleNamespace(label=label, model="m") for label in ("FC", "FC", "Residual CNN", "Residual CNN")]
    progress = RunProgress(quiet=True)
    progress.start(specs)

    def done(i, label, seconds, wall):
        clock[0] += wall
        progress.run_done(i, 4, {"label": label, "seed": i, "status": "done", "cached": False, "train_seconds": seconds,
                                 "test_acc": 0.9, "train_acc": 0.9, "params": 1, "epochs": 1, "resumed_from": None,
                                 "error": None, "run_dir": "x", "role": "eval"})
        return capsys.readouterr().out

    line = done(1, "FC", 10.0, 12.0)
    assert "[ETA at least 12.0 s (Residual CNN not timed yet)]" in line  # one more FC run at 12 s of wall each
    line = done(2, "FC", 10.0, 12.0)
    assert "[ETA unknown (Residual CNN not timed yet)]" in line  # only untimed runs left: no figure claimed
    line = done(3, "Residual CNN", 400.0, 480.0)
    # wall per training second (504 / 420 = 1.2) x the Residual CNN's 400 s for the one run left
    assert "[ETA 8 min 00 s]" in line
    assert "ETA" not in done(4, "Residual CNN", 400.0, 480.0)


def test_the_eta_counts_the_times_of_cached_runs():
    """Before: a look that added seeds started with every first seed cached, so the ETA said
    "unknown" and flipped to "at least" as models got their first new run."""
    from types import SimpleNamespace

    from cnnlab.console import RunProgress

    progress = RunProgress(quiet=True)
    progress.start([SimpleNamespace(label=label, model="m") for label in ("FC", "FC", "CNN", "CNN")])
    summary = dict(status="done", test_acc=0.9, train_acc=0.9, params=1, epochs=1, resumed_from=None, error=None,
                   run_dir="x", role="eval")
    progress.run_done(1, 4, {**summary, "label": "FC", "seed": 0, "cached": True, "train_seconds": 10.0})
    progress.run_done(2, 4, {**summary, "label": "CNN", "seed": 0, "cached": True, "train_seconds": 100.0})
    assert progress.eta() == "ETA 1 min 50 s"  # one FC (10 s) and one CNN (100 s) to come, at 1 s per second


def test_a_full_disk_behind_the_output_is_one_line(tmp_path):
    """Before: `cnnlab settings --json > /dev/full` ended in an OSError traceback."""
    with open("/dev/full", "w") as full:
        done = subprocess.run([sys.executable, "-m", "cnnlab", "settings", "--json"], stdout=full,
                              stderr=subprocess.PIPE, text=True)
    assert done.returncode == 2 and done.stderr == "error: cannot write the output: No space left on device\n"


def test_one_epoch_is_said_in_the_singular_everywhere():
    from types import SimpleNamespace

    from cnnlab.console import size_text

    study = SimpleNamespace(dataset="d", subset=None, test_subset=None, epochs=1, seeds=(0,), train={})
    assert size_text(study) == "d, 1 epoch x 1 seed"
