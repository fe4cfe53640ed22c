import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from cnnlab.data.synthetic import make_synthetic
from cnnlab.io import load_checkpoint
from cnnlab.models import create_model
from cnnlab.store.schema import METRICS_FILE, check_metrics, parse_metrics
from cnnlab.train import Callback, TrainConfig, train

LEARNED = ("train_loss", "train_acc", "test_loss", "test_acc")


@pytest.fixture(scope="module")
def data():
    return make_synthetic(n_train=1000, n_test=300)


def metrics_rows(run_dir) -> list[dict]:
    """A run's metrics.jsonl read through the schema: every line whole, epochs 1..n."""
    rows, torn = parse_metrics((run_dir / METRICS_FILE).read_text(encoding="utf-8"))
    assert torn is None, torn
    return check_metrics(rows)


def fit(data, model="simple-cnn", seed=0, **overrides):
    torch.manual_seed(seed)
    net = create_model(model, data.in_shape, data.num_classes)
    kw = dict(epochs=3, batch_size=64, seed=seed, precision="fp32") | overrides
    return train(net, data, TrainConfig(**kw), device="cpu", verbosity="none"), net


@pytest.mark.slow
@pytest.mark.parametrize("model", ["fc", "simple-cnn"])
def test_trainer_learns_synthetic(data, model):
    history, _ = fit(data, model)
    assert history.status == "done"
    assert history.final["test_acc"] > 0.90
    assert history.epochs[-1]["train_loss"] < history.epochs[0]["train_loss"]
    assert all(row["images_per_second"] > 0 for row in history.epochs)


@pytest.mark.slow
@pytest.mark.parametrize("optimizer,schedule", [("sgd", "cosine"), ("adamw", "onecycle")])
def test_optimizers_and_schedules_learn(data, optimizer, schedule):
    lr = 0.05 if optimizer == "sgd" else 3e-3
    history, _ = fit(data, optimizer=optimizer, schedule=schedule, lr=lr, nesterov=True)
    assert history.final["test_acc"] > 0.85


@pytest.mark.slow(seconds=30)
def test_bf16_and_augmentation_path_learns(data):
    history, _ = fit(data, precision="bf16", augment=True, crop_padding=2, flip=False, label_smoothing=0.1)
    assert history.precision == "bf16"
    assert history.final["test_acc"] > 0.85


@pytest.mark.slow
def test_same_seed_same_metrics(data):
    a, _ = fit(data, epochs=2, augment=True, seed=7)
    b, _ = fit(data, epochs=2, augment=True, seed=7)
    assert [[r[k] for k in LEARNED] for r in a.epochs] == [[r[k] for k in LEARNED] for r in b.epochs]
    c, _ = fit(data, epochs=2, augment=True, seed=8)
    assert [r["train_loss"] for r in a.epochs] != [r["train_loss"] for r in c.epochs]


class _Interrupt(Callback):
    """Raises at the end of epoch `n`, before that epoch's checkpoint is written."""

    def __init__(self, n):
        self.n = n

    def on_epoch_end(self, model, epoch, metrics):
        if epoch == self.n:
            raise KeyboardInterrupt


@pytest.mark.slow
def test_resume_matches_uninterrupted_run(data, tmp_path):
    config = dict(epochs=3, batch_size=64, precision="fp32", augment=True)
    full, _ = fit(data, **config)
    torch.manual_seed(0)
    net = create_model("simple-cnn", data.in_shape, data.num_classes)
    with pytest.raises(KeyboardInterrupt):
        train(net, data, TrainConfig(**config), out_dir=tmp_path, callbacks=[_Interrupt(2)],
              device="cpu", verbosity="none")
    assert len(metrics_rows(tmp_path)) == 1  # the last complete epoch
    torch.manual_seed(123)  # a different init: resume must restore the weights, not rely on the seed
    net = create_model("simple-cnn", data.in_shape, data.num_classes)
    resumed = train(net, data, TrainConfig(**config), out_dir=tmp_path, resume=True, device="cpu", verbosity="none")
    assert [[r[k] for k in LEARNED] for r in resumed.epochs] == [[r[k] for k in LEARNED] for r in full.epochs]
    assert len(metrics_rows(tmp_path)) == 3


class _Poison(Callback):
    def on_epoch_end(self, model, epoch, metrics):
        with torch.no_grad():
            next(model.parameters()).fill_(float("nan"))


def test_nan_loss_marks_run_diverged_with_epoch(data, tmp_path):
    torch.manual_seed(0)
    net = create_model("fc", data.in_shape, data.num_classes)
    history = train(net, data, TrainConfig(epochs=4, precision="fp32"), out_dir=tmp_path,
                    callbacks=[_Poison()], device="cpu", verbosity="none")
    assert history.status == "diverged" and history.diverged_epoch == 2
    assert len(history.epochs) == 1


@pytest.mark.slow
def test_log_steps_records_loss_and_grad_norm(data):
    history, _ = fit(data, epochs=1, log_steps=True)
    steps = -(-len(data.train_labels) // 64)
    assert len(history.steps["loss"]) == len(history.steps["grad_norm"]) == steps
    assert all(g > 0 for g in history.steps["grad_norm"])


@pytest.mark.process(seconds=50)
def test_sigkill_then_resume_equals_uninterrupted(tmp_path):
    """A real kill: the CLI process dies mid-run; running the command again resumes it and
    finishes with identical metrics."""
    base = [sys.executable, "-m", "cnnlab", "train", "--model", "simple-cnn", "--dataset", "synthetic",
            "--epochs", "4", "--subset", "640", "--batch-size", "64", "--precision", "fp32", "--device", "cpu",
            "--quiet", "--no-report"]
    env = os.environ | {"OMP_NUM_THREADS": "1"}
    subprocess.run(base + ["--out", str(tmp_path / "full")], check=True, env=env, capture_output=True)
    killed = tmp_path / "killed"
    proc = subprocess.Popen(base + ["--out", str(killed)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and not list(killed.glob("runs/*/checkpoint.pt")):
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    (run,) = killed.glob("runs/*")
    # Whatever the kill interrupted, the checkpoint is whole; it is the commit, and
    # metrics.jsonl, written from it right after, may lag one epoch behind.
    done = load_checkpoint(run / "checkpoint.pt")["epoch"]
    assert 1 <= done < 4, "the run should have been killed part-way"
    assert len(metrics_rows(run)) in (done - 1, done)
    again = subprocess.run(base + ["--out", str(killed)], check=True, env=env, capture_output=True, text=True)
    assert run.name in again.stdout
    (full,) = (tmp_path / "full").glob("runs/*")
    assert full.name == run.name  # same settings, same code: the same run key
    resumed = metrics_rows(run)
    assert [[r[k] for k in LEARNED] for r in resumed] == [[r[k] for k in LEARNED] for r in metrics_rows(full)]
    assert (run / "status").read_text().strip() == "done"
    assert not list(run.glob(".*.tmp")), "resume sweeps temp files a killed write left behind"
