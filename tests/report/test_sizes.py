"""Verdicts across training sizes (cnnlab.report.sizes) and the reference table they read
(cnnlab.store.schema.reference): a comparison that flips is flagged, a table of runs stands in
for a larger size, a damaged table is one line."""

import csv

import pytest

from cnnlab.errors import UserError
from cnnlab.results import load_results
from cnnlab.report.sizes import counts, transfers
from cnnlab.results.reference import reference_results
from cnnlab.store.schema.reference import REFERENCE_COLUMNS, ReferenceRun, read_reference

MODELS = (("fc", "FC (3 layers)"), ("simple-cnn", "Simple CNN"), ("residual-cnn", "Residual CNN"))


def _table(path, study, accuracies, seeds=(0, 1, 2)):
    rows = []
    for (name, label), acc in zip(MODELS, accuracies):
        for seed in seeds:
            rows.append(ReferenceRun(study=study.info.name, profile="reference", dataset="mnist-small", model=name,
                                     label=label, seed=seed, epochs=20, train_images=5000, test_images=10000,
                                     batch_size=128, precision="bf16", test_acc=acc + 0.001 * seed, train_acc=0.99,
                                     test_loss=0.1, train_loss=0.01, train_seconds=10.0, cpu="Fake CPU", threads=1,
                                     torch="2.x", commit="abc", code="0" * 16))
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=REFERENCE_COLUMNS)
        writer.writeheader()
        writer.writerows({c: getattr(r, c) for c in REFERENCE_COLUMNS} for r in rows)
    return path


def test_a_comparison_that_flips_with_size_is_flagged(make_study, tmp_path):
    """At the smaller size the FC net beats the residual CNN; at the larger one it is the other way."""
    small = load_results(make_study(models=MODELS, accuracies=[0.95, 0.97, 0.90], seeds=(0, 1, 2)))
    table = _table(tmp_path / "ref.csv", small, [0.94, 0.985, 0.975])
    large = reference_results(small.info, read_reference(table), small.dir)
    found = {frozenset((t.a, t.b)): t for t in transfers(small, large)}
    flipped = found[frozenset(("FC (3 layers)", "Residual CNN"))]
    assert flipped.kind == "opposite" and flipped.small.a.label == "FC (3 layers)"
    assert flipped.large.a.label == "Residual CNN"
    assert found[frozenset(("Simple CNN", "FC (3 layers)"))].kind == "agree"
    assert counts(list(found.values()))["opposite"] == 1
    assert large.info.looks == (3,) and large.info.plan_seeds == 3  # one look at the table's seeds, full level


def test_a_damaged_reference_table_is_one_line(tmp_path):
    path = tmp_path / "ref.csv"
    path.write_text("study,model\nx,y\n", encoding="utf-8")
    with pytest.raises(UserError, match="not a reference table: no column profile"):
        read_reference(path)
    with pytest.raises(UserError, match="no reference table at"):
        read_reference(tmp_path / "none.csv")


def test_a_report_of_two_sizes_in_one_out_shows_the_table_and_figure_and_flags_the_flip(tmp_path, write_fake_study):
    """The same study at 3 and at 30 epochs into one OUT: each report sets the verdicts side by
    side, and the answer flags the comparison that changes direction."""
    from cnnlab.report import render_report

    write, _ = write_fake_study
    models = MODELS[:2]
    small = write(tmp_path, models=models, accuracies=[0.95, 0.90], epochs=3, folder="fake@small")
    large = write(tmp_path, models=models, accuracies=[0.95, 0.99], epochs=30, folder="fake@large")
    md, _ = render_report(large, dpi=30)
    text = md.read_text(encoding="utf-8")
    section = text.split("## Verdicts by training size")[1].split("\n## ")[0]
    assert "5,000 images x 3 epochs (fake@small)" in section and "5,000 images x 30 epochs (this study)" in section
    assert "| yes |" in section and (large / "plots" / "verdicts_by_size.png").is_file()
    answers = text.split("## Answers")[1].split("\n## ")[0]
    assert "changes with training size: FC (3 layers) better at " in answers
    assert "Simple CNN better at full profile, 5,000 images x 30 epochs" in answers
    alone = write(tmp_path / "other", models=models, accuracies=[0.95, 0.99], epochs=30)
    md, _ = render_report(alone, dpi=30)
    assert "This study has been seen at one training size" in md.read_text(encoding="utf-8")  # and how to see more


@pytest.mark.slow
def test_sizes_runs_the_study_at_each_size_and_reports_the_trend(tmp_path, capsys):
    from cnnlab.cli import main
    from tests.studies.test_aa_study import AA_STUDY, ARGS

    study = tmp_path / "aa.toml"
    study.write_text(AA_STUDY.replace("seeds = 5", "seeds = 2"), encoding="utf-8")
    assert main(["run", str(study), "--out", str(tmp_path / "out"), "--sizes", "64,128",
                 *[a for a in ARGS if a != "--no-report"]]) == 0
    folders = sorted(p.name for p in (tmp_path / "out" / "studies").iterdir())
    assert folders == ["aa@128", "aa@64"]
    text = (tmp_path / "out" / "studies" / "aa@128" / "report.md").read_text(encoding="utf-8")
    assert "64 images x 2 epochs (aa@64)" in text and "128 images x 2 epochs (this study)" in text
    assert main(["run", str(study), "--out", str(tmp_path / "out"), "--sizes", "64", *ARGS]) == 2
    assert "two or more positive training subsets" in capsys.readouterr().err
