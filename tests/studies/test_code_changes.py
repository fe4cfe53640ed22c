"""A run is reused only for the code that made it: a change to a model file retrains, and
the old run shows as stale in `cnnlab runs` until it is pruned."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import cnnlab

pytestmark = pytest.mark.process(seconds=45)  # eight cnnlab processes


def _cnnlab(src, *args):
    env = {**os.environ, "PYTHONPATH": str(src), "OMP_NUM_THREADS": "1"}
    result = subprocess.run([sys.executable, "-m", "cnnlab", *map(str, args)], capture_output=True, text=True,
                            env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_a_code_change_retrains_and_the_old_run_is_stale(write_study, tmp_path):
    src = tmp_path / "src"
    shutil.copytree(Path(cnnlab.__file__).parent, src / "cnnlab", ignore=shutil.ignore_patterns("__pycache__"))
    study = write_study(models=["fc"], seeds=1, epochs=1, subset=128, analyses=[])
    out = tmp_path / "out"
    run = ("run", study, "--out", out, "--device", "cpu", "--cpus-per-run", 1, "--no-report", "--quiet")
    assert "(cached)" not in _cnnlab(src, *run)
    model_file = src / "cnnlab" / "models" / "basic.py"

    model_file.write_text(model_file.read_text() + "\n# a comment changes no result\n")
    assert "(cached)" in _cnnlab(src, *run)

    model_file.write_text(model_file.read_text() + "\nUNUSED_BUT_CODE = 1\n")
    assert "(cached)" not in _cnnlab(src, *run)
    assert len(list((out / "runs").iterdir())) == 2

    rows = json.loads(_cnnlab(src, "runs", "--out", out, "--json"))
    assert sorted(r["stale"] for r in rows) == [False, True]
    stale = next(r for r in rows if r["stale"])
    assert "stale" in _cnnlab(src, "runs", "--out", out)
    logs = {p.name for p in (out / "tensorboard" / "tiny" / "fc").iterdir()}
    named = {r["run_key"]: f"seed0-lr{r['lr']:g}-{r['run_key']}" for r in rows}
    assert logs == set(named.values())  # one TensorBoard run per run
    assert "removed 1 run(s)" in _cnnlab(src, "runs", "--out", out, "--prune-stale")
    assert not (out / stale["run_dir"]).exists()
    assert {p.name for p in (out / "tensorboard" / "tiny" / "fc").iterdir()} == logs - {named[stale["run_key"]]}
    rows = json.loads(_cnnlab(src, "runs", "--out", out, "--json"))
    assert [r["stale"] for r in rows] == [False]
    assert "(cached)" in _cnnlab(src, *run)  # the current run is still there
