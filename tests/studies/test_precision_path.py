"""One precision path: every measurement of a bf16 run (test accuracy, confusion matrix,
per-class accuracy, memory, activations, timing) is taken in bf16 with channels-last."""

import pytest
import numpy as np

from cnnlab.store.rundir import RunDir
from cnnlab.store.schema import RUNS_DIR
from cnnlab.studies.loader import parse_study
from cnnlab.studies.runner import run_study


@pytest.mark.slow(seconds=25)
def test_confusion_accuracy_equals_final_test_accuracy_for_every_bf16_run(tmp_path):
    study = parse_study({
        "name": "bf16", "dataset": "synthetic", "subset": 256, "epochs": 2, "seeds": 2,
        "analyses": ["confusion", "memory", "activations", "inference"],
        "train": {"batch_size": 64, "precision": "bf16", "augment": True},
        "models": [{"name": "simple-cnn"}, {"name": "cnn-custom-act", "kwargs": {"widths": [8, 8, 8]}}]}, "test")
    info = run_study(study.with_overrides(inference_repeats=1), tmp_path, device="cpu", verbosity="none", report=False)
    assert [r["status"] for r in info["runs"]] == ["done"] * 4
    for entry in info["runs"]:
        record = RunDir(tmp_path / RUNS_DIR / entry["run_key"]).load()
        assert record.usable, record.problems
        final, analysis = record.metrics[-1], record.analysis
        confusion = analysis["confusion"]
        matrix = np.array(confusion["matrix"])
        assert confusion["accuracy"] == final["test_acc"] == np.trace(matrix) / matrix.sum()
        assert matrix.sum() == 500
        assert analysis["precision"] == analysis["memory"]["precision"] == "bf16"
        assert analysis["inference"]["precision"] == "bf16" and analysis["inference"]["channels_last"]
        assert record.config.train["precision"] == "bf16"
