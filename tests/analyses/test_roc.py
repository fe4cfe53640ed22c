"""ROC curves and AUC (cnnlab.analyses.roc): the areas are scikit-learn's, the curves are kept on a
fixed grid, and a real run measures them through the run's prediction path."""

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from cnnlab.analyses.roc import check
from cnnlab.analyses.roc.measure import GRID, roc


def test_macro_auc_of_known_scores_is_sklearns():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 4, 500)
    scores = rng.random((500, 4)) + 0.8 * np.eye(4)[labels]  # informative, not perfect
    scores /= scores.sum(1, keepdims=True)
    value = roc(scores, labels, 4)
    assert value["macro_auc"] == pytest.approx(roc_auc_score(labels, scores, multi_class="ovr", average="macro"))
    for k in range(4):
        assert value["auc"][k] == pytest.approx(roc_auc_score(labels == k, scores[:, k]))
        curve = np.asarray(value["tpr"][k])
        assert len(curve) == GRID and curve[0] >= 0 and curve[-1] == 1 and (np.diff(curve) >= -1e-12).all()
    assert check(value)


def test_a_class_without_test_images_has_no_curve():
    labels = np.array([0, 0, 1, 1])
    value = roc(np.array([[0.9, 0.1, 0.0], [0.6, 0.4, 0.0], [0.3, 0.7, 0.0], [0.2, 0.8, 0.0]]), labels, 3)
    assert value["auc"][2] is None and value["tpr"][2] is None and value["macro_auc"] == 1.0 and check(value)


def test_perfect_and_inverted_scores():
    labels = np.array([0, 1, 0, 1])
    perfect = np.array([[1.0, 0.0], [0.0, 1.0], [0.9, 0.1], [0.2, 0.8]])
    assert roc(perfect, labels, 2)["macro_auc"] == 1.0
    assert roc(perfect[:, ::-1], labels, 2)["macro_auc"] == 0.0


@pytest.mark.slow
def test_a_trained_run_measures_roc_through_its_own_predictions(tmp_path, capsys):
    """`cnnlab train --analyses roc,confusion`: the stored macro AUC, its report section and the
    metric the report reads; the model that scores well has an AUC well above chance."""
    from cnnlab.cli import main
    from cnnlab.results import load_results

    assert main(["train", "--model", "simple-cnn", "--dataset", "synthetic", "--subset", "256", "--test-subset", "128",
                 "--epochs", "2", "--analyses", "roc,confusion", "--device", "cpu", "--out", str(tmp_path),
                 "--quiet"]) == 0
    (study_dir,) = (tmp_path / "studies").iterdir()
    study = load_results(study_dir)
    (model,) = study.models
    (auc,) = model.values("macro_auc")
    assert 0.6 < auc <= 1.0
    report = (study_dir / "report.md").read_text(encoding="utf-8")
    assert "## ROC curves" in report and (study_dir / "plots" / "roc_curves.png").is_file()
