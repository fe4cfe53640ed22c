"""Convergence speed (cnnlab.analyses.convergence): epochs and seconds to a target accuracy,
runs that never reach it censored and counted, pairs compared by the log-rank test."""

import pytest

from cnnlab.analyses.convergence import target_for, verdicts
from cnnlab.analyses.convergence.measure import curve, epochs_to_plateau, time_to_target
from cnnlab.results import ModelResults
from cnnlab.stats.censored import logrank_p
from cnnlab.store.schema import RunRecord


def _history(accs, seconds=10.0):
    return [{"epoch": i + 1, "test_acc": a, "train_seconds": seconds} for i, a in enumerate(accs)]


def test_the_time_to_a_target_is_interpolated_within_its_epoch():
    value = curve(_history([0.30, 0.50, 0.70]))
    assert value["seconds"] == [10.0, 20.0, 30.0]
    assert time_to_target(value, 0.60) == (pytest.approx(2.5), pytest.approx(25.0), True)
    assert time_to_target(value, 0.20) == (1.0, 10.0, True)  # within the first epoch: it counts whole
    assert time_to_target(value, 0.90) == (3.0, 30.0, False)  # never reached: censored at its last epoch
    assert epochs_to_plateau(curve(_history([0.30, 0.695, 0.70, 0.69]))) == 2.0


def _model(label, index, histories):
    m = ModelResults(name=label, label=label, kwargs={}, index=index)
    m.runs = [RunRecord(key=f"{label}{i}", status="done", raw_config={"seed": i}, metrics=h)
              for i, h in enumerate(histories)]
    return m


def test_a_model_that_never_reaches_the_target_is_censored_not_dropped():
    """Slow reaches the target in 2 of 4 runs: the two that never do count as censored at their
    last epoch. Dropping them would leave Slow's two good runs to look as fast as Fast's."""
    fast = _model("Fast", 0, [_history([0.5, 0.8, 0.85]) for _ in range(4)])
    slow = _model("Slow", 1, [_history([0.3, 0.5, 0.85])] * 2 + [_history([0.3, 0.4, 0.5])] * 2)
    target, how = target_for([fast, slow])
    assert target == pytest.approx(0.9 * 0.85) and "90% of the best" in how
    (line,) = verdicts([fast, slow], target)
    assert "2 runs never reached it (censored)" in line
    dropped = verdicts([fast, _model("Slow", 1, [_history([0.3, 0.5, 0.85])] * 2)], target)[0]
    assert "censored" not in dropped
    # The censored runs are what makes Slow slower: the test sees them.
    p_with = logrank_p([2.4] * 4, [True] * 4, [3.0, 3.0, 3.0, 3.0], [True, True, False, False])
    p_without = logrank_p([2.4] * 4, [True] * 4, [3.0, 3.0], [True, True])
    assert p_with < p_without


def test_no_verdict_when_no_run_reaches_the_target():
    never = [_model(x, i, [_history([0.1, 0.2])] * 3) for i, x in enumerate("AB")]
    (line,) = verdicts(never, 0.9)
    assert "cannot be decided" in line and "better" not in line and "sooner" not in line


def test_the_study_file_sets_the_target_once(tmp_path):
    from cnnlab.errors import UserError
    from cnnlab.studies.loader import parse_study

    raw = {"name": "s", "dataset": "synthetic", "epochs": 1, "models": [{"name": "fc"}, {"name": "simple-cnn"}]}
    assert parse_study({**raw, "convergence": {"target": 0.4}}, "s.toml").convergence_target == 0.4
    assert parse_study({**raw, "convergence": {"target": 0.4}}, "s.toml").to_dict()["convergence_target"] == 0.4
    for bad, message in (({"target": 40}, "fraction in \\(0, 1\\)"), ({"level": 0.4}, "unknown key; valid: target")):
        with pytest.raises(UserError, match=message):
            parse_study({**raw, "convergence": bad}, "s.toml")


@pytest.mark.slow
def test_a_tiny_study_with_roc_and_convergence_writes_their_sections_figures_and_verdicts(tmp_path, capsys):
    from cnnlab.cli import main

    assert main(["analyses"]) == 0
    listed = capsys.readouterr().out
    assert "\nconvergence " in listed and "\nroc " in listed
    study = tmp_path / "s.toml"
    study.write_text("""name = "s"
dataset = "synthetic"
subset = 256
test_subset = 128
epochs = 3
seeds = 3
analyses = ["roc", "convergence"]
convergence = { target = 0.5 }
[train]
batch_size = 32
precision = "fp32"
[[models]]
name = "fc"
label = "FC"
kwargs = { hidden = [16] }
[[models]]
name = "simple-cnn"
label = "CNN"
[[questions]]
title = "Q"
kind = "best"
models = ["FC", "CNN"]
evidence = ["roc", "convergence"]
""", encoding="utf-8")
    assert main(["run", str(study), "--out", str(tmp_path / "out"), "--device", "cpu", "--workers", "1", "--quiet"]) == 0
    directory = tmp_path / "out" / "studies" / "s"
    report = (directory / "report.md").read_text(encoding="utf-8")
    assert "## Convergence" in report and "## ROC curves" in report
    assert "Target: 50.0 % test accuracy (the study's target)" in report
    assert (directory / "plots" / "convergence.png").is_file() and (directory / "plots" / "roc_curves.png").is_file()
    answers = report.split("## Answers")[1].split("\n## ")[0]
    assert "Macro ROC AUC on the test images" in answers and "Epochs and training seconds to a test accuracy of 50.0 %" in answers
    assert "log-rank p" in answers or "cannot be decided" in answers
