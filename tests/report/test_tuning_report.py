"""The report of a tuned study, from stored results (no training): the Tuning section, and answers
that say whether each verdict is robust to tuning or changes with it."""

import pytest

from cnnlab.report import render_report
from cnnlab.report.answers import answers
from cnnlab.results import load_results
from cnnlab.report.suite import build_suite_document
from cnnlab.document.markdown import to_markdown
from cnnlab.store.schema import SuiteRecord, SuiteStudy

MODELS = (("fc", "FC"), ("simple-cnn", "Simple CNN"))
GRID = [1e-4, 1e-3, 1e-2]
QUESTION = {"kind": "pair", "a": "FC", "b": "Simple CNN", "title": "Q", "asks": "Which is better?"}


@pytest.fixture
def pair(write_fake_study, tmp_path):
    """A study at a shared lr and the same study tuned, side by side in one output directory."""
    write_study, fake_tuning = write_fake_study

    def make(shared_acc, tuned_acc, curves=None, shared=True, noise=0.002):
        root = tmp_path / f"out{len(list(tmp_path.iterdir()))}"
        common = dict(models=MODELS, reference="", questions=(QUESTION,), analyses=["overfitting"], seeds=(0, 1, 2),
                      noise=noise)
        if shared:
            write_study(root, accuracies=shared_acc, **common)
        record = fake_tuning(MODELS, GRID, curves or {"fc": [0.8, 0.5, 0.7], "simple-cnn": [0.6, 0.7, 0.9]})
        chosen = {m.model: m.chosen for m in record.models}
        return write_study(root, accuracies=tuned_acc, folder="fake-tuned", model_train=chosen, tuning=record,
                           **common)
    return make


def test_a_study_at_shared_settings_says_it_was_not_tuned(full_study):
    _, md, _ = full_study
    section = md.split("## Tuning")[1].split("\n## ")[0]
    assert "Not tuned: every model trained at the same shared settings" in section and "--tune" in section


@pytest.mark.slow
def test_the_tuning_section_shows_the_search_the_choice_its_edge_and_the_budget(pair):
    study_dir = pair((0.80, 0.95), (0.80, 0.95), shared=False)
    md_path, html_path = render_report(study_dir, dpi=30)
    section = md_path.read_text("utf-8").split("## Tuning")[1].split("\n## ")[0]
    assert "same grid (lr ∈ {0.0001, 0.001, 0.01})" in section and "tuning seeds (1000, 1001)" in section
    assert "a validation split of 500 of the 5,000 training images" in section and "test images were not used" in section
    assert "![Validation accuracy against the learning rate" in section and (study_dir / "plots/tuning.png").is_file()
    assert "| FC | 80.00 ± 1.41 % ★ | 50.00 ± 1.41 % | 70.00 ± 1.41 % | lr=0.0001 | 6 |" in section
    assert "Simple CNN: the chosen lr=0.01 is the highest value on the grid: the grid was too narrow" in section
    assert "FC: the chosen lr=0.0001 is the lowest value on the grid" in section and "a smaller lr may" in section
    assert "every model had the same 6 tuning runs (3 settings × 2 seeds × 2 epochs)" in section
    assert "No comparison with shared settings: no results of fake at shared settings" in section
    assert "each model at its own tuned setting (see Tuning)" in md_path.read_text("utf-8")
    assert "train.lr=0.01" in md_path.read_text("utf-8")  # the manifest's per-model settings name the choice


@pytest.mark.slow
def test_answers_say_a_verdict_changed_with_tuning_with_both_numbers(pair):
    # Simple CNN better at shared lr, equal when tuned (3 paired seeds: 2 degrees of freedom, so little noise)
    study = load_results(pair((0.80, 0.95), (0.90, 0.90), noise=0.0005))
    assert study.shared is not None and study.shared.dir.name == "fake"
    (answer,) = answers(study)
    assert answer.robust == "changed"
    assert answer.tuning[0] == ("Changes with tuning: 1 of 1 verdicts differ between shared and tuned settings, "
                                "so the shared-settings answer depended on the learning rate.")
    line = answer.tuning[1]
    assert ": changes with tuning; at shared settings Simple CNN better than FC by 1" in line
    assert "at tuned settings equivalent within ±1.00 points" in line
    assert answer.tuning[2].startswith("Settings: shared, every model at lr=0.001; tuned, ")
    assert "Simple CNN at lr=0.01" in answer.tuning[2] and "FC at lr=0.0001" in answer.tuning[2]
    md = render_report(study.dir, dpi=30)[0].read_text("utf-8")
    assert "Shared vs tuned settings: Changes with tuning" in md
    tuning = md.split("## Tuning")[1].split("\n## ")[0]
    assert "| FC | 80" in tuning and "At shared settings" in tuning  # each model's test accuracy, both settings


def test_answers_say_a_verdict_that_holds_is_robust_to_tuning(pair):
    (answer,) = answers(load_results(pair((0.80, 0.95), (0.82, 0.96))))
    assert answer.robust == "robust"
    assert answer.tuning[0] == "Robust to tuning: the decided verdict is the same at shared and at tuned settings."
    assert "Simple CNN vs FC: robust to tuning; at shared settings Simple CNN better than FC" in answer.tuning[1]


def test_inconclusive_at_both_settings_is_not_called_robust(pair):
    """Before: "robust to tuning; at shared settings inconclusive ..., at tuned settings inconclusive"."""
    (answer,) = answers(load_results(pair((0.80, 0.806), (0.81, 0.815), noise=0.02)))
    assert [c.verdict for c in answer.comparisons] == ["inconclusive"]
    assert answer.robust == "undecided"
    assert answer.tuning[0].startswith("Not shown robust to tuning: no comparison here was decided")
    assert ": undecided at both settings; at shared settings inconclusive" in answer.tuning[1]
    assert "robust to tuning;" not in " ".join(answer.tuning)


def test_shared_results_of_another_size_are_not_compared(pair, write_fake_study):
    study_dir = pair((0.80, 0.95), (0.80, 0.95))
    write_study, _ = write_fake_study
    write_study(study_dir.parent.parent / "other", models=MODELS, epochs=5)  # not beside: irrelevant
    import dataclasses

    from cnnlab.io import atomic_write_json
    from cnnlab.store.schema import STUDY_FILE, read_study

    shared_json = study_dir.parent / "fake" / STUDY_FILE
    atomic_write_json(shared_json, dataclasses.replace(read_study(shared_json), epochs=7).to_json())
    study = load_results(study_dir)
    assert study.shared is None and "of another size (epochs 7 vs 3)" in study.shared_note
    assert answers(study)[0].tuning == []


def test_the_suite_page_finds_a_tuned_study_and_says_what_tuning_changed(pair):
    study_dir = pair((0.80, 0.95), (0.90, 0.90))
    suite = SuiteRecord(profile="full", settings={}, studies=[SuiteStudy("fake", "", "Fake", folder="fake-tuned")])
    md = to_markdown(build_suite_document(study_dir.parent.parent, suite))
    assert "Shared vs tuned settings: Changes with tuning: 1 of 1 verdicts differ" in md
    assert "studies/fake-tuned/report" in md


def test_weak_choices_are_said_in_the_answers_and_the_cli_line(pair):
    """Before: a choice at the top of the grid was warned about only in the Tuning section, and a
    choice ahead of the runner-up by less than one validation image was not flagged at all."""
    from cnnlab.console import study_summary
    from cnnlab.store.schema import read_study

    # FC: best at the top of the grid. Simple CNN: 1e-3 ahead of 1e-2 by 0.1 points, under one of 500 images.
    study_dir = pair((0.80, 0.95), (0.82, 0.96), curves={"fc": [0.5, 0.6, 0.7], "simple-cnn": [0.6, 0.801, 0.800]})
    study = load_results(study_dir)
    (answer,) = answers(study)
    evidence = " ".join(answer.evidence)
    assert "Tuning: FC: the chosen lr=0.01 is the highest value on the grid" in evidence
    assert ("Tuning: Simple CNN: the chosen lr=0.001 is ahead of lr=0.01 by 0.10 points of validation accuracy, less "
            "than one of the 500 validation images: the choice between them is a coin toss") in evidence
    md = render_report(study_dir, dpi=30)[0].read_text("utf-8")
    assert "coin toss" in md.split("## Tuning")[1].split("\n## ")[0]
    info = read_study(study_dir / "study.json").to_json()  # what the runner hands the console
    info["manifest"] = {**info["manifest"], "runs_cached": 0, "wall_clock_seconds": 1.0, "device": "cpu"}
    tuned = next(line for line in study_summary(info, study_dir) if line.startswith("tuned:"))
    assert tuned == ("tuned:   FC at lr=0.01 (the highest lr on the grid), Simple CNN at lr=0.001 (ahead of lr=0.01 by "
                     "less than one of the 500 validation images)")
