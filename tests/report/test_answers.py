"""The answer to each course question, on fake but schema-valid results with controlled
accuracies: the wording must follow the statistics in both directions."""

import pytest

from cnnlab.report import findings, fmt
from cnnlab.report.answers import ANSWERS, CUSTOM_LAYER_MODELS, CUSTOM_VS_STANDARD, answer
from cnnlab.report.load import load_results

MODELS = {
    "1.1": (("fc", "FC"), ("simple-cnn", "Simple CNN"), ("residual-cnn", "Residual CNN")),
    "1.2": (("fc-deep", "Deep FC"), ("residual-cnn", "Residual CNN"), ("residual-cnn-reg", "Regularised CNN")),
    "2.1": (("kernel-3x3", "3x3"), ("kernel-5x5", "5x5"), ("kernel-7x7", "7x7"), ("kernel-1x1-3x3", "1x1+3x3")),
    "2.2": (("depth-2", "2 layers"), ("depth-4", "4 layers"), ("depth-6", "6 layers"), ("depth-12", "12 layers"),
            ("depth-12-residual", "12 layers, residual")),
    "3.1": tuple((n, n.replace("cnn-", "")) for n in CUSTOM_LAYER_MODELS),
    "3.2": (("resnet-basic", "Basic"), ("resnet-bottleneck", "Bottleneck"), ("resnet-wide", "Wide")),
}


def study(make_study, question, accuracies=None, seeds=(0, 1, 2), noise=0.002, **kw):
    models = MODELS[question]
    if accuracies is None:  # far apart: every difference is significant
        accuracies = [0.5 + 0.06 * i for i in range(len(models))]
    return load_results(make_study(models=models, accuracies=accuracies, seeds=seeds, noise=noise,
                                   reference=question, **kw))


def assert_follows_statistics(result):
    text = " ".join(result.evidence)
    for c in result.comparisons:
        sentence = findings.sentence(c, len(result.comparisons))
        assert sentence in text
        said = f"{fmt.possessive(c.a.label)} test accuracy is higher than {fmt.possessive(c.b.label)}"
        assert (said in sentence) == c.significant
        if not c.significant:
            assert sentence.startswith("No significant difference") and "95% CI [" in sentence
    if any(c.significant for c in result.comparisons):
        assert "significant" in result.claim
    else:
        assert "better than" not in result.claim and "higher than" not in result.claim


@pytest.mark.parametrize("question", list(ANSWERS))
def test_significant_differences_are_claimed(make_study, question):
    result = answer(study(make_study, question))
    assert result.question == question and result.asks and result.figures
    assert result.comparisons and all(c.significant for c in result.comparisons)
    assert_follows_statistics(result)
    assert "Test accuracy (mean over seeds, 95% CI)" in result.evidence[0]
    assert "Parameters (measured)" in " ".join(result.evidence)
    if question != "3.1":  # accuracies rise in study order; 2.2's claim is about the plain stacks
        best = MODELS[question][-2 if question == "2.2" else -1][1]
        assert f"{best} is the most accurate" in result.claim


@pytest.mark.parametrize("question", list(ANSWERS))
def test_no_significant_difference_means_no_claim(make_study, question):
    result = answer(study(make_study, question, accuracies=[0.9] * len(MODELS[question]), seeds=(0, 1),
                          noise=0.01))
    assert result.comparisons and not any(c.significant for c in result.comparisons)
    assert_follows_statistics(result)
    assert "No significant difference" in result.claim or "differs significantly" in result.claim
    assert "not resolved" in result.replication and "replicated" not in result.replication.split(":")[0].lower()


def test_one_seed_is_never_a_claim(make_study):
    result = answer(study(make_study, "1.1", seeds=(0,)))
    assert "fewer than two seeds" in result.claim and "better than" not in result.claim
    assert all(not c.significant for c in result.comparisons)


def test_replication_checks_each_ordering_of_the_course_report(make_study):
    # Their claim: 1x1+3x3 > 3x3 > 5x5 > 7x7.
    same = answer(study(make_study, "2.1", accuracies={"kernel-1x1-3x3": 0.8, "kernel-3x3": 0.74,
                                                        "kernel-5x5": 0.68, "kernel-7x7": 0.62}))
    assert same.replication.startswith("Replicated: of the course report's 6 test-accuracy orderings")
    assert "6 replicated, 0 contradicted" in same.replication and "(the same order;" in same.replication
    reversed_ = answer(study(make_study, "2.1", accuracies={"kernel-1x1-3x3": 0.62, "kernel-3x3": 0.68,
                                                             "kernel-5x5": 0.74, "kernel-7x7": 0.8}))
    assert reversed_.replication.startswith("Not replicated") and "6 contradicted" in reversed_.replication
    assert "a different order" in reversed_.replication


@pytest.mark.parametrize("reg_gap, effect", [(0.02, "significantly narrows"), (0.15, "significantly widens"),
                                             (0.08, "makes no significant difference to")])
def test_regularisation_effect_on_the_gap_follows_its_test(make_study, reg_gap, effect):
    result = answer(study(make_study, "1.2", gaps={"residual-cnn": 0.08, "residual-cnn-reg": reg_gap}))
    gap = next(e for e in result.evidence if e.startswith("Train–test gap at the last epoch"))
    assert ("train–test gap is higher than" in gap) == effect.startswith("significantly")
    assert f"Regularisation (BatchNorm, dropout, weight decay, augmentation) {effect} the final" in result.claim


def test_kernel_answer_compares_effective_and_theoretical_fields(make_study):
    result = answer(study(make_study, "2.1"))
    # fake records: theoretical field 8 px at features.conv2, effective 5 px
    assert "3x3 5 vs 8 px" in " ".join(result.evidence)
    assert "smaller than the theoretical one in every model" in result.claim
    assert result.figures[0][0] == "effective_receptive_fields.png"


def test_depth_answer_reports_gradients_and_residual_connections(make_study):
    result = answer(study(make_study, "2.2"))
    text = " ".join(result.evidence)
    assert "12 layers: first-layer gradient norm" in text and "first/last-layer ratio" in text
    assert "Residual connections at 12 layers:" in result.claim


def test_custom_layers_use_planned_comparisons(make_study):
    result = answer(study(make_study, "3.1"))
    assert len(result.comparisons) == len(CUSTOM_VS_STANDARD)
    assert {frozenset((c.a.name, c.b.name)) for c in result.comparisons} == {frozenset(p) for p in CUSTOM_VS_STANDARD}
    assert f"Holm's correction over these {len(CUSTOM_VS_STANDARD)} only" in " ".join(result.evidence)
    assert "time per epoch" in " ".join(result.evidence)


def test_residual_blocks_report_accuracy_per_parameter_memory_and_stability(make_study):
    text = " ".join(answer(study(make_study, "3.2")).evidence)
    assert "per 100K parameters" in text and "per 100 MiB of peak training memory" in text
    assert "Training stability (measured)" in text and "gradient-norm spikes" in text


def test_a_model_without_runs_is_named(make_study):
    result = answer(load_results(make_study(models=MODELS["1.1"][:2], accuracies=(0.8, 0.9), reference="1.1")))
    assert result.evidence[0] == "Not measured (no finished runs): residual-cnn."
