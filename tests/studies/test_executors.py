"""Executors: the same study under `local`, `local --workers 2` and Ray gives the same
per-epoch metrics; a worker killed mid-run is retried; the index holds each run once."""

import os
import signal
import subprocess
import sys
import time

import pytest

from cnnlab.store.index import open_index
from cnnlab.store.rundir import RunDir
from cnnlab.store.schema import RUNS_DIR
from cnnlab.studies.loader import load_study
from cnnlab.studies.runner import run_study

LEARNED = ("train_loss", "train_acc", "test_loss", "test_acc")


def _study(write_study, epochs=2, subset=400):
    # 2 models x 2 seeds = 4 runs; only the analyses that do not time anything.
    return write_study(models=["fc", "simple-cnn"], seeds=2, epochs=epochs, subset=subset,
                       analyses=["overfitting", "confusion"])


def _metrics(out):
    """{(model, seed): [learned figures per epoch]} from every run directory under `out`."""
    result = {}
    for run in sorted((out / RUNS_DIR).iterdir()):
        record = RunDir(run).load()
        assert record.usable, (run.name, record.problems)
        result[(record.model, record.seed)] = [[row[k] for k in LEARNED] for row in record.metrics]
    return result


def _index_keys(out):
    with open_index(out) as index:
        return [row["run_key"] for row in index.rows()]


@pytest.fixture(scope="module")
def local_reference(tmp_path_factory):
    """The study under the default local executor, one thread per run."""
    from .conftest import study_toml

    path = tmp_path_factory.mktemp("study") / "study.toml"
    path.write_text(study_toml(models=("fc", "simple-cnn"), seeds=2, epochs=2, subset=400,
                               analyses=("overfitting", "confusion")))
    out = tmp_path_factory.mktemp("local")
    run_study(load_study(path), out, device="cpu", verbosity="none", report=False, cpus_per_run=1)
    return _metrics(out)


@pytest.mark.process(seconds=30)
def test_workers_give_the_same_metrics_as_local(write_study, tmp_path, cli, local_reference):
    code, stdout, stderr = cli("run", _study(write_study), "--out", tmp_path / "out", "--device", "cpu",
                               "--workers", "2", "--cpus-per-run", "1", "--no-report", "--quiet")
    assert code == 0, stderr
    assert _metrics(tmp_path / "out") == local_reference
    assert len(local_reference) == 4
    keys = _index_keys(tmp_path / "out")
    assert len(keys) == 4 and len(set(keys)) == 4
    assert stdout.count("seed ") >= 4 and "[ETA" in stdout  # a line per run, with the pace so far


@pytest.mark.ray
def test_ray_gives_the_same_metrics_as_local(write_study, tmp_path, local_reference):
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        info = run_study(load_study(_study(write_study)), tmp_path / "out", device="cpu", verbosity="none",
                         report=False, executor="ray", cpus_per_run=1)
    finally:
        ray.shutdown()
    assert [r["status"] for r in info["runs"]] == ["done"] * 4
    assert info["manifest"]["executor"] == "ray"
    assert _metrics(tmp_path / "out") == local_reference
    keys = _index_keys(tmp_path / "out")
    assert len(keys) == 4 and len(set(keys)) == 4


def _worker_pids():
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    if b"cnnlab.studies.worker" in f.read():
                        pids.append(int(entry))
            except OSError:
                pass
    return pids


@pytest.mark.process(seconds=50)
def test_killed_worker_is_retried_and_each_run_indexed_once(write_study, tmp_path, local_reference):
    out = tmp_path / "out"
    # Longer epochs than the reference so that the kill lands mid-run.
    path = _study(write_study, epochs=3, subset=600)
    proc = subprocess.Popen([sys.executable, "-m", "cnnlab", "run", str(path), "--out", str(out), "--device", "cpu",
                             "--workers", "2", "--cpus-per-run", "1", "--no-report", "--quiet"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and not list(out.glob("runs/*/checkpoint.pt")):
        time.sleep(0.05)
    victims = _worker_pids()
    assert victims, "no worker process found"
    os.kill(victims[0], signal.SIGKILL)
    stdout, stderr = proc.communicate(timeout=600)
    assert proc.returncode == 0, stderr
    runs = list((out / "runs").iterdir())
    assert len(runs) == 4 and all((r / "status").read_text().strip() == "done" for r in runs)
    keys = _index_keys(out)
    assert len(keys) == 4 and len(set(keys)) == 4


def test_ray_missing_is_a_one_line_error(write_study, tmp_path, cli, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray now raises ImportError
    code, _, stderr = cli("run", _study(write_study), "--out", tmp_path / "out", "--executor", "ray")
    assert code == 2
    assert stderr.startswith("error: ") and stderr.count("\n") == 1
    assert 'pip install -e ".[ray]"' in stderr
    assert not (tmp_path / "out").exists()


def test_workers_with_ray_is_rejected(write_study, tmp_path, cli):
    code, _, stderr = cli("run", _study(write_study), "--out", tmp_path / "out", "--executor", "ray",
                          "--workers", "2")
    assert code == 2 and "--workers is for --executor local" in stderr
    assert not (tmp_path / "out").exists()


def test_default_workers_and_device_sharing_on_the_cpu():
    import torch

    from cnnlab.data.synthetic import make_synthetic
    from cnnlab.studies.policy import default_workers, runs_per_device

    data = make_synthetic(n_train=10, n_test=10)
    assert default_workers("local", torch.device("cpu"), data, runs=12) == 1  # one run gets all the cores
    assert default_workers("ray", torch.device("cpu"), data, runs=12) == 1
    assert runs_per_device("local", 1, "cpu") == 1 and runs_per_device("local", 3, "cpu") == 3
    assert runs_per_device("ray", 1, "cpu") is None


def test_a_run_whose_worker_died_before_writing_anything_is_failed_with_its_seed(write_study, tmp_path):
    import torch

    from cnnlab.studies.executors import make_job, mark_failed
    from cnnlab.studies.plan import plan_runs

    spec = plan_runs(load_study(_study(write_study)), torch.device("cpu"), n_train=400, threads=1)[3]
    run_dir = tmp_path / "runs" / spec.key  # empty: the worker died before its first write
    run_dir.mkdir(parents=True)
    job = make_job(spec, run_dir, "cpu", None, False, 3, 1, 1)
    summary = mark_failed(job, "worker died 2 times: MemoryError")
    assert (summary["status"], summary["label"], summary["seed"]) == ("failed", spec.label, 1)
    assert (run_dir / "status").read_text().strip() == "failed"
    assert "MemoryError" in (run_dir / "error.txt").read_text()
