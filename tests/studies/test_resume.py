"""A study killed mid-run (SIGKILL, no chance to clean up) resumes from the last checkpoint."""

import os
import signal
import subprocess
import sys
import time

import pytest

from cnnlab.store.index import open_index
from cnnlab.store.rundir import RunDir
from cnnlab.store.schema import STUDIES_DIR, STUDY_FILE, read_study


def _cnnlab(*args):
    return [sys.executable, "-m", "cnnlab", *[str(a) for a in args]]


def _metrics(run):
    record = RunDir(run).load()
    assert record.trusted, record.problems
    return record.metrics


@pytest.mark.process(seconds=25)
def test_killed_run_resumes_from_checkpoint(write_study, tmp_path):
    # Epochs of about a second, so the kill lands in epoch 2 of the first run with time to spare.
    text = write_study(models=["simple-cnn"], seeds=2, epochs=4, subset=1000, analyses=["overfitting"]).read_text()
    path = write_study(text.replace('name = "simple-cnn"', 'name = "simple-cnn"\nkwargs = { width = 16, hidden = 32 }'))
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(_cnnlab("run", path, "--out", out, "--device", "cpu", "--no-report", "--quiet"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, start_new_session=True)
    deadline = time.monotonic() + 120
    checkpoints = []
    while not checkpoints and time.monotonic() < deadline and proc.poll() is None:
        checkpoints = list(out.glob("runs/*/checkpoint.pt"))
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)  # its own session: only this cnnlab process
    proc.communicate()
    assert len(checkpoints) == 1, "the first epoch never finished"
    run = checkpoints[0].parent
    assert not (run / "status").exists(), "killed before the run finished"
    first = _metrics(run)
    # study.json is there while the study runs, listing the runs not finished yet as pending.
    info = read_study(out / STUDIES_DIR / "tiny" / STUDY_FILE)
    assert [r.status for r in info.runs] == ["pending", "pending"]
    assert info.manifest.finished is None
    assert 1 <= len(first) < 4

    done = subprocess.run(_cnnlab("run", path, "--out", out, "--device", "cpu", "--no-report", "--quiet"),
                          capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    assert f"resumed after epoch {len(first)}" in done.stdout
    assert (run / "status").read_text().strip() == "done"
    rows = _metrics(run)
    assert [r["epoch"] for r in rows] == [1, 2, 3, 4]
    assert rows[:len(first)] == first  # the finished epochs were kept, not trained again

    with open_index(out) as index:
        keys = [r["run_key"] for r in index.rows()]
    assert len(keys) == 2 and len(set(keys)) == 2 and run.name in keys
