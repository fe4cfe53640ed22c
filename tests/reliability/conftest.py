"""Shared by the reliability tests: a tiny study whose runs write every kind of result file,
the final results of an output directory in a form two runs can be compared by, directory
snapshots, and the command line run in this process."""

import hashlib
import re
import shutil
import sys
import warnings

import numpy as np
import pytest
import torch

from cnnlab.cli import main
from cnnlab.store.rundir import RunDir
from cnnlab.store.schema import RUNS_DIR, STUDIES_DIR, STUDY_FILE, read_study

# One run, 2 epochs of 4 steps: every file a run writes (checkpoint, metrics, activations,
# analysis, status) and every analysis that does not time anything (timings differ between
# two runs of the same thing, so they cannot be compared).
KILL_STUDY = """\
name = "kill"
dataset = "synthetic"
epochs = 2
seeds = 1
subset = 64
analyses = ["overfitting", "confusion", "activations", "grad_flow", "stability", "receptive_field"]

[train]
batch_size = 16
precision = "fp32"

[[models]]
name = "simple-cnn"
kwargs = { width = 4, hidden = 16 }
"""
RUN_OPTIONS = ["--device", "cpu", "--cpus-per-run", "1", "--no-report", "--quiet"]

TIMING_METRICS = ("epoch_seconds", "train_seconds", "images_per_second")
TIMING_INDEX = ("train_seconds", "updated_at")
EPOCH_LINE = re.compile(r" epoch \d+/\d+ ")  # the trainer's progress lines (stderr)


@pytest.fixture(autouse=True)
def single_thread():
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)  # runs set their own (--cpus-per-run); give the rest theirs back


def _print_warning(message, category, filename, lineno, file=None, line=None):
    sys.stderr.write(warnings.formatwarning(message, category, filename, lineno, line))


@pytest.fixture
def cli(capfd):
    """`cnnlab ARGS` in this process; (exit code, stdout, stderr) as written to the file
    descriptors, so that what C code prints counts too. Python warnings are printed as
    the command line prints them (pytest would otherwise collect them out of sight)."""
    def run(*args):
        with warnings.catch_warnings():
            warnings.simplefilter("default")
            warnings.showwarning = _print_warning
            code = main([str(a) for a in args])
        out, err = capfd.readouterr()
        return code, out, err
    return run


def messages(stderr: str) -> list[str]:
    """stderr without the trainer's per-epoch progress lines."""
    return [line for line in stderr.splitlines() if line.strip() and not EPOCH_LINE.search(line)]


def one_message(stderr: str) -> str:
    lines = messages(stderr)
    assert len(lines) == 1, f"expected one line saying why, got:\n{stderr}"
    return lines[0]


def snapshot(root) -> dict:
    """Every path under `root` with its size and modification time: equal snapshots mean
    nothing was created, deleted or rewritten."""
    out = {}
    for path in sorted(root.rglob("*")):
        st = path.lstat()
        out[str(path.relative_to(root))] = (path.is_dir(), st.st_size, st.st_mtime_ns)
    return out


def _array_digest(array: np.ndarray) -> tuple:
    return array.dtype.str, array.shape, hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()


def final_results(out) -> dict:
    """What a study's output directory says, read through the schema, minus what depends on
    timing: per run its config (without provenance), status, metrics rows, analysis.json,
    activation arrays and any damage the reader found; the index rows; study.json's runs;
    and any temporary file left behind."""
    from cnnlab.store.index import open_index

    runs = {}
    for run in sorted((out / RUNS_DIR).iterdir()):
        record = RunDir(run).load()
        analysis = dict(record.analysis)
        analysis.pop("train_seconds")
        with np.load(run / "activations.npz") as npz:
            activations = {name: _array_digest(npz[name]) for name in npz.files}
        runs[run.name] = {
            "config": record.config,
            "status": record.status,
            "problems": record.problems,
            "metrics": [{k: v for k, v in row.items() if k not in TIMING_METRICS} for row in record.metrics],
            "analysis": analysis,
            "activations": activations,
            "files": sorted(p.name for p in run.iterdir()),
        }
    with open_index(out, on_message=pytest.fail) as index:
        rows = [{k: v for k, v in row.items() if k not in TIMING_INDEX} for row in index.rows()]
    study = read_study(out / STUDIES_DIR / "kill" / STUDY_FILE)
    return {
        "runs": runs,
        "index": rows,
        "study_runs": study.runs,
        "study_finished": study.manifest.finished is not None,
        "temp_files": sorted(str(p.relative_to(out)) for p in out.rglob(".*.tmp")),
    }


@pytest.fixture(scope="session")
def reference(tmp_path_factory):
    """The kill study run once without interruption: (study file, output dir, final results)."""
    root = tmp_path_factory.mktemp("reference")
    study = root / "kill.toml"
    study.write_text(KILL_STUDY)
    out = root / "out"
    threads = torch.get_num_threads()
    try:
        assert main(["run", str(study), "--out", str(out), *RUN_OPTIONS]) == 0
    finally:
        torch.set_num_threads(threads)
    results = final_results(out)
    (run,) = results["runs"].values()
    assert run["status"] == "done" and run["problems"] == [] and run["config"] is not None
    assert len(run["metrics"]) == 2 and run["analysis"]["activations"]["layers"]
    assert results["temp_files"] == []
    return study, out, results


@pytest.fixture
def finished(reference, tmp_path):
    """A copy of the reference output directory to damage: (study file, output dir, run dir)."""
    study, out, _ = reference
    copy = tmp_path / "out"
    shutil.copytree(out, copy)
    (run,) = (copy / "runs").iterdir()
    return study, copy, run
