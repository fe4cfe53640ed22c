"""A tiny study end to end: runs, run directories, index, study.json, report, cache."""

import json

import numpy as np
import pytest
import torch.nn as nn

from cnnlab.models import registry
from cnnlab.store.index import open_index
from cnnlab.store.rundir import RunDir
from cnnlab.store.schema import RUNS_DIR, STUDIES_DIR, STUDY_FILE, read_study

from .conftest import ALL_ANALYSES


def _runs(out):
    with open_index(out) as index:
        return index.rows()


def _mtimes(out):
    return {p: p.stat().st_mtime_ns for p in sorted((out / "runs").rglob("*")) if p.is_file()}


@pytest.mark.slow
def test_tiny_study_end_to_end_then_cached(write_study, cli, tmp_path):
    out = tmp_path / "out"
    code, stdout, _ = cli("run", write_study(), "--out", out, "--device", "cpu", "--inference-repeats", 3)
    assert code == 0, stdout
    run_lines = [line for line in stdout.splitlines() if line.startswith("[")]
    assert len(run_lines) == 4 and all(": done" in line and "test acc" in line for line in run_lines)

    info = read_study(out / STUDIES_DIR / "tiny" / STUDY_FILE)
    assert [(r.model, r.seed) for r in info.runs] == [("fc", 0), ("fc", 1), ("simple-cnn", 0), ("simple-cnn", 1)]
    assert info.manifest.train_size == 128 and info.manifest.device
    for entry in info.runs:
        run = out / RUNS_DIR / entry.run_key
        record = RunDir(run).load()
        assert record.status == "done" and record.usable, record.problems
        config = record.config
        assert (config.model, config.seed, config.train["seed"]) == (entry.model, entry.seed, entry.seed)
        assert [r["epoch"] for r in record.metrics] == [1]
        analysis = record.analysis
        assert analysis["params"]["total"] > 0 and analysis["macs"] > 0
        for key in ALL_ANALYSES:
            assert key in analysis, key
        assert np.array(analysis["confusion"]["matrix"]).sum() == 500  # the whole test set
        if entry.model == "simple-cnn":  # a conv net: feature maps saved as arrays
            with np.load(run / "activations.npz", allow_pickle=False) as npz:
                assert npz["images"].dtype == np.uint8 and npz["filters"].ndim == 4
                assert any(k.startswith("layer:") for k in npz.files)
    # Same seed, same model: same initial weights, so the two fc runs differ only by seed.
    assert len({r.run_key for r in info.runs}) == 4

    report_dir = out / "studies" / "tiny"
    assert (report_dir / "report.md").stat().st_size > 0 and (report_dir / "report.html").stat().st_size > 0

    rows = _runs(out)
    assert sorted(r["run_key"] for r in rows) == sorted(r.run_key for r in info.runs)
    assert all(r["status"] == "done" and r["params"] > 0 and r["epochs"] == 1 for r in rows)

    # Second time: every run is a cache hit, nothing in the run directories is rewritten.
    before = _mtimes(out)
    code, stdout, _ = cli("run", write_study(), "--out", out, "--device", "cpu", "--no-report")
    assert code == 0
    assert sum("(cached)" in line for line in stdout.splitlines()) == 4
    assert _mtimes(out) == before
    assert len(_runs(out)) == 4

    code, stdout, _ = cli("runs", "--out", out, "--json")
    assert code == 0 and len(json.loads(stdout)) == 4
    code, stdout, _ = cli("runs", "--out", out, "--study", "other")
    assert code == 0 and "no runs" in stdout


def test_more_seeds_reuse_finished_runs(write_study, cli, tmp_path):
    out = tmp_path / "out"
    path = write_study(models=["fc"], seeds=1, analyses=[])
    assert cli("run", path, "--out", out, "--no-report")[0] == 0
    code, stdout, _ = cli("run", path, "--out", out, "--seeds", 2, "--no-report")
    assert code == 0
    lines = [line for line in stdout.splitlines() if line.startswith("[")]
    assert "(cached)" in lines[0] and "(cached)" not in lines[1]
    assert len(_runs(out)) == 2


class _Broken(nn.Module):
    """Passes the up-front shape check (on the meta device), fails on real data, like a
    run that runs out of memory."""

    def __init__(self, in_shape, num_classes):
        super().__init__()
        self.linear = nn.Linear(int(np.prod(in_shape)), num_classes)

    def forward(self, x):
        if x.device.type != "meta":
            raise RuntimeError("this layer is broken")
        return self.linear(x.flatten(1))


class _Exploding(nn.Module):
    def __init__(self, in_shape, num_classes):
        super().__init__()
        self.linear = nn.Linear(int(np.prod(in_shape)), num_classes)

    def forward(self, x):
        return self.linear(x.flatten(1)) * float("nan")


@pytest.fixture
def odd_models(monkeypatch):
    """Two extra models for this test only (removed from the registry afterwards)."""
    for name, factory in (("test-broken", _Broken),
                          ("test-nan", _Exploding)):
        monkeypatch.setitem(registry._REGISTRY, name, registry.ModelEntry(name, factory, "", "test"))


@pytest.mark.slow
def test_failed_and_diverged_runs_do_not_stop_the_others(odd_models, write_study, cli, tmp_path):
    out = tmp_path / "out"
    path = write_study(models=["test-broken", "test-nan", "fc"], seeds=1,
                       analyses=["overfitting", "confusion", "inference"])
    code, stdout, _ = cli("run", path, "--out", out, "--no-report", "--inference-repeats", 2)
    assert code == 1  # a failed run makes the exit code non-zero
    status = {r["model"]: r for r in _runs(out)}
    assert status["test-broken"]["status"] == "failed"
    assert status["test-nan"]["status"] == "diverged"
    assert status["fc"]["status"] == "done"
    broken = out / status["test-broken"]["run_dir"]
    assert "this layer is broken" in (broken / "error.txt").read_text()
    assert "this layer is broken" in stdout
    diverged = RunDir(out / status["test-nan"]["run_dir"]).load()
    assert diverged.status == "diverged" and diverged.trusted, diverged.problems
    analysis = diverged.analysis
    assert analysis["diverged_epoch"] == 1 and "confusion" not in analysis and "inference" not in analysis

    # Re-running retries the failed run only: done and diverged are results.
    code, stdout, _ = cli("run", path, "--out", out, "--no-report")
    lines = {line.split("] ")[1].split(" seed")[0]: line for line in stdout.splitlines() if line.startswith("[")}
    assert "failed" in lines["test-broken"] and "(cached)" not in lines["test-broken"]
    assert "(cached)" in lines["test-nan"] and "(cached)" in lines["fc"]
    assert len(_runs(out)) == 3


@pytest.mark.slow
def test_report_command(write_study, cli, tmp_path):
    out = tmp_path / "out"
    code, _, stderr = cli("report", out)
    assert code == 2 and "study.json" in stderr
    assert cli("run", write_study(models=["fc"], seeds=1, analyses=[]), "--out", out, "--no-report")[0] == 0
    assert not (out / "studies" / "tiny" / "report.md").exists()
    code, stdout, _ = cli("report", out)
    assert code == 0 and "report.html" in stdout
    assert (out / "studies" / "tiny" / "report.md").exists()
