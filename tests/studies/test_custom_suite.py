"""A user's own suite: `cnnlab run A.toml B.toml` runs both studies and writes a suite page of
their answers; adding seeds later is a second look, recorded and tested at a stricter level."""

import re

import pytest

from cnnlab.cli import main
from cnnlab.report import plots
from cnnlab.store.schema import STUDY_FILE, SUITE_FILE, read_study, read_suite

STUDY = """
name = "{name}"
title = "{title}"
dataset = "synthetic"
subset = 96
test_subset = 64
epochs = 1
seeds = 2
analyses = ["overfitting"]

[train]
batch_size = 32
precision = "fp32"

[[models]]
name = "fc"
label = "FC"
kwargs = {{ hidden = [16] }}

[[models]]
name = "simple-cnn"
label = "CNN"
kwargs = {{ width = 4, hidden = 16 }}

[[questions]]
title = "{name}: which"
kind = "best"
asks = "Which is more accurate on synthetic images?"
models = ["FC", "CNN"]
costs = ["params"]
"""

ARGS = ("--device", "cpu", "--workers", "1", "--cpus-per-run", "1", "--quiet")


@pytest.fixture
def two_studies(tmp_path):
    paths = []
    for name, title in (("first", "First study"), ("second", "Second study")):
        path = tmp_path / f"{name}.toml"
        path.write_text(STUDY.format(name=name, title=title), encoding="utf-8")
        paths.append(str(path))
    return paths


@pytest.mark.slow
def test_a_suite_of_the_users_studies_answers_each(two_studies, tmp_path, monkeypatch):
    monkeypatch.setattr(plots, "DPI", 30)
    out = tmp_path / "out"
    assert main(["run", *two_studies, "--out", str(out), *ARGS]) == 0
    suite = read_suite(out / SUITE_FILE)
    assert [s.name for s in suite.studies] == ["first", "second"] and suite.title == "Answers of 2 studies"
    md = (out / "report.md").read_text(encoding="utf-8")
    assert md.startswith("# Answers of 2 studies (profile full)")
    for name in ("first", "second"):
        assert f"Question {name}: which: Which is more accurate on synthetic images?" in md
    assert len(re.findall(r"Decided: \d of 1 comparisons", md)) == 2


def test_a_suite_of_two_studies_with_one_name_is_refused(two_studies, tmp_path, capsys):
    assert main(["run", two_studies[0], two_studies[0], "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "are both named 'first'" in err and not (tmp_path / "out").exists()
    assert main(["run", "all", two_studies[0], "--out", str(tmp_path / "out")]) == 2
    assert "give it alone" in capsys.readouterr().err


@pytest.mark.slow
def test_adding_seeds_after_looking_is_a_second_look(two_studies, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(plots, "DPI", 30)
    out = tmp_path / "out"
    assert main(["run", two_studies[0], "--out", str(out), *ARGS]) == 0
    study_json = out / "studies" / "first" / STUDY_FILE
    assert read_study(study_json).looks == (2,)
    capsys.readouterr()
    assert main(["run", two_studies[0], "--out", str(out), "--seeds", "3", *ARGS]) == 0
    assert "(4 cached)" in capsys.readouterr().out  # seeds 0 and 1 of both models are reused: only seed 2 trains
    assert read_study(study_json).looks == (2, 3)
    md = (out / "studies" / "first" / "report.md").read_text(encoding="utf-8")
    assert "looked at 2 times, with 2, 3 seeds per model" in md and "looks at 2, 3 seeds, group-sequential" in md
    assert main(["run", two_studies[0], "--out", str(out), "--seeds", "3", *ARGS]) == 0  # no new seeds: no new look
    assert read_study(study_json).looks == (2, 3)
    # A model joins: the first two were still looked at twice (before, the looks started again at (3,)).
    with open(two_studies[0], "a", encoding="utf-8") as f:
        f.write('\n[[models]]\nname = "fc"\nlabel = "FC small"\nkwargs = { hidden = [4] }\n')
    assert main(["run", two_studies[0], "--out", str(out), "--seeds", "3", *ARGS]) == 0
    assert read_study(study_json).looks == (2, 3)
    assert main(["run", two_studies[0], "--out", str(out), "--seeds", "3", "--epochs", "2", *ARGS]) == 0
    assert read_study(study_json).looks == (3,)  # another study now: its looks start again


@pytest.mark.slow
def test_a_suite_until_decided_looks_again_at_each_study_within_its_limits(two_studies, tmp_path, monkeypatch,
                                                                             capsys):
    monkeypatch.setattr(plots, "DPI", 30)
    out = tmp_path / "out"
    assert main(["run", *two_studies, "--out", str(out), "--until-decided", "--max-seeds", "4", "--budget", "10m",
                 *ARGS]) == 0
    printed = capsys.readouterr().out
    suite = read_suite(out / SUITE_FILE)
    trained = 0
    for name in ("first", "second"):
        info = read_study(out / "studies" / name / STUDY_FILE)
        assert info.until_decided["max_seeds"] == 4 and info.until_decided["budget_seconds"] == 600
        assert info.looks[0] == 2 and info.looks[-1] <= 4
        if len(info.looks) > 1:  # an open comparison: both its models went to 4 seeds, and said so
            assert f"{name}: comparisons still open; CNN, FC to 4 seeds each" in printed
        trained += len(info.runs)
        report = (out / "studies" / name / "report.md").read_text(encoding="utf-8")
        assert "Seeds were added until decided" in report and info.until_decided["why"] in report
    assert suite.invocations[-1].runs_trained == trained  # every look's runs, counted once
