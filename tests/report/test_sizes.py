"""Verdicts across training sizes (cnnlab.report.sizes) and the reference table they read
(cnnlab.store.schema.reference): a comparison that flips is flagged, a table of runs stands in
for a larger size, a damaged table is one line."""

import csv

import pytest

from cnnlab.errors import UserError
from cnnlab.report.load import load_results
from cnnlab.report.sizes import counts, reference_results, transfers
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
