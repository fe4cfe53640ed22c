"""The independent audit of the statistics (issue 28, items 1-11): each case failed before its fix.

Items 2-6 live beside the functions they concern (test_decide.py, test_accuracy_interval.py,
test_answers.py); this file holds the ones that need a family of comparisons or a report.
"""

import dataclasses
import math
from types import SimpleNamespace

import numpy as np
import pytest
from statsmodels.stats.multitest import multipletests

from cnnlab.report import findings
from cnnlab.report.compare import compare_results
from cnnlab.results import ModelResults, load_results
from cnnlab.stats.multiple import holm, holm_levels


@dataclasses.dataclass
class Given(ModelResults):
    """A model whose per-seed values are given (statistics only: no run records needed)."""
    given: dict = dataclasses.field(default_factory=dict)

    def values(self, metric: str) -> list[float]:
        return list(self.given.get(metric, []))

    def seeds(self) -> list[int]:
        return list(range(max((len(v) for v in self.given.values()), default=0)))

    def seed_values(self, metric: str) -> dict[int, float]:
        return dict(enumerate(self.given.get(metric, [])))


def model(label: str, index: int = 0, **given) -> Given:
    return Given(name=label.lower(), label=label, kwargs={}, index=index, given=given)


# --- 1. cnnlab compare: each model's own margin ---------------------------------------------------------------

def _timing_sets(order):
    rng = np.random.default_rng(1)
    seconds = {"Small": 1.0, "Big": 100.0}
    sets = []
    for _ in range(2):  # the same two models run twice alike: A and B
        sets.append(SimpleNamespace(models=[
            model(label, i, epoch_seconds=list(seconds[label] * (1 + rng.normal(0, 0.003, 5))),
                  test_acc=[0.9] * 5) for i, label in enumerate(order)]))
    return sets


def test_compare_takes_each_models_margin_from_its_own_mean():
    """Before: the margin (a % of A's mean) came from the first model listed, so a 1 s and a 100 s model
    got verdicts that depended on their order (the small one 'equivalent within ±1 s', i.e. ±100%)."""
    verdicts = []
    for order in (("Small", "Big"), ("Big", "Small")):
        a, b = _timing_sets(order)
        rows = compare_results(a, b, ["epoch_seconds"], margin=1.0)
        by_model = {r["model"]: r for r in rows}
        assert by_model["Small"]["margin"] == pytest.approx(0.01, rel=0.01)
        assert by_model["Big"]["margin"] == pytest.approx(1.0, rel=0.01)
        verdicts.append({m: r["verdict"] for m, r in by_model.items()})
    assert verdicts[0] == verdicts[1]


# --- 8. the Holm family is the pairs that could be tested --------------------------------------------------------

def test_a_family_counts_only_the_pairs_that_could_be_tested():
    tested = (model("A", test_acc=[0.90, 0.91, 0.905]), model("B", test_acc=[0.80, 0.82, 0.81]))
    one_seed = [(model("C", test_acc=[0.7]), model("D", test_acc=[0.6])),
                (model("E", test_acc=[0.5]), model("F", test_acc=[0.55, 0.56]))]
    comparisons = findings.decide_family([tested, *one_seed], "test_acc", 0.01)
    assert comparisons[0].family == 1
    assert "over 3 comparisons" not in findings.sentence(comparisons[0])
    assert comparisons[0].p_holm == comparisons[0].diff.p


# --- 9. the interval printed beside a verdict agrees with it -------------------------------------------------------

@pytest.mark.parametrize("seed", range(40))
def test_the_printed_interval_excludes_zero_exactly_when_the_verdict_is_better(seed):
    """Before: a 95% CI beside a Holm-adjusted (or later-look) verdict, so "+1.90 [+0.05, +3.75] Holm p
    0.141 inconclusive" could be printed. Now the interval is at the level the verdict used."""
    rng = np.random.default_rng(seed)
    models = [model(f"M{i}", i, test_acc=list(rng.normal(0.80 + 0.012 * i * rng.random(), 0.01, 4)))
              for i in range(4)]
    looks = ((), (2,), (2, 3))[seed % 3]
    for c in findings.compare(models, margin=0.01, looks=looks):
        excludes_zero = c.diff.ci_low > 0 or c.diff.ci_high < 0
        assert excludes_zero == (c.verdict == "better"), (c.diff, c.p_holm, c.level, c.ci_confidence)
        if c.equivalence.p is not None:  # the TOST interval, likewise, lies inside ±margin exactly when equivalent
            inside = -c.margin < c.equivalence.ci_low and c.equivalence.ci_high < c.margin
            assert inside == c.equivalent


def test_holm_levels_are_holms_thresholds():
    p = [0.001, 0.04, 0.012, None, 0.5]
    levels = holm_levels(p, 0.05)
    # Sorted: 0.001 < 0.0125 (rejected), 0.012 < 0.025 (rejected), 0.04 >= 0.05/2: stop; 0.5 gets that level too.
    assert levels == [pytest.approx(0.0125), pytest.approx(0.025), pytest.approx(0.05 / 3), None, pytest.approx(0.025)]
    adjusted = holm(p)
    for q, level, raw in zip(adjusted, levels, p):
        if raw is not None:
            assert (q < 0.05) == (raw < level)


# --- 10. NaN p-values --------------------------------------------------------------------------------------------

def test_holm_keeps_a_nan_p_value_apart_like_statsmodels():
    p = [0.01, float("nan"), 0.04, None]
    adjusted = holm(p)
    assert math.isnan(adjusted[1]) and adjusted[3] is None
    reference = multipletests([0.01, 0.04], method="holm")[1]
    assert adjusted[0] == pytest.approx(reference[0]) and adjusted[2] == pytest.approx(reference[1])


# --- 11. intervals of accuracy differences stay within ±100 points -------------------------------------------------

def test_a_difference_of_accuracies_never_leaves_100_points():
    a, b = model("A", test_acc=[0.99, 0.20]), model("B", test_acc=[0.10, 0.45])
    (c,) = findings.decide_family([(a, b)], "test_acc", 0.01)
    assert -1.0 <= c.diff.ci_low and c.diff.ci_high <= 1.0
    assert "CI [-100.00, +100.00]" in findings.sentence(c)


# --- 7. the scope of the accuracy intervals is said beside other reports' figures ---------------------------------

def test_the_claims_section_says_the_intervals_leave_out_test_image_sampling(make_study):
    from cnnlab.report.build import claims_section
    from cnnlab.document import Document
    from cnnlab.document.markdown import to_markdown

    study = load_results(make_study(models=(("fc", "FC"), ("simple-cnn", "Simple CNN")), accuracies=(0.9, 0.98)))
    assert study.test_images
    text = to_markdown(Document(title="t", subtitle=[], sections=[claims_section(study)]))
    assert f"on these {study.test_images:,} test images" in text and "binomial" in text


# --- issue 27, item 12: report slips ---------------------------------------------------------------------------

def test_the_report_prints_no_markdown_backticks_and_says_how_to_read_the_verdicts_once(full_study):
    """Report text is plain text, escaped per format: a backtick in our own wording showed literally
    in the HTML (the Tuning paragraph); and "How to read the verdicts" was printed twice."""
    _, md, html = full_study
    assert "`" not in html
    assert md.count("How to read the verdicts:") == 1 and html.count("How to read the verdicts:") == 1


# --- issue 27, item 2: timings from a busy machine ----------------------------------------------------------------

def _busy_latency(model, seed, metrics, analysis):
    if model == "fc" and seed == 1:  # one run timed while something else used the cores
        analysis["inference"]["results"][0].update(q1_ms=1.34, median_ms=13.75, q3_ms=332.0)


def _busy_epochs(model, seed, metrics, analysis):
    if model == "simple-cnn" and seed == 0:
        for row, seconds in zip(metrics, (2.4, 21.6, 2.5)):
            row["train_seconds"] = seconds


@pytest.mark.parametrize("edit, metric, reason", [
    (_busy_latency, "latency_ms", "FC, seed 1: the middle half of its timed passes at batch size 1 took 1.34–332.00 ms"),
    (_busy_epochs, "epoch_seconds", "Simple CNN, seed 0: its epochs took 2.5–21.6 s"),
])
def test_timings_whose_spread_says_the_machine_was_busy_are_not_compared(make_study, edit, metric, reason):
    """Before: "Residual CNN 13.75 ms vs FC 79.99 ms" from a run whose quartiles were 1.34 and 332 ms."""
    from cnnlab.report import render_report
    from cnnlab.results.busy import busy

    study_dir = make_study(edit_run=edit, seeds=(0, 1), epochs=3)
    study = load_results(study_dir)
    assert reason in busy(study.models, metric)
    md = render_report(study_dir, dpi=30)[0].read_text(encoding="utf-8")
    assert "Timings from a busy machine" in md and reason in md
    title = {"latency_ms": "Inference latency at batch size 1", "epoch_seconds": "Time per epoch"}[metric]
    findings_text = md.split("## Findings")[1].split("\n## ")[0]
    sentence = next(line for line in findings_text.splitlines() if line.startswith(f"- {title}"))
    assert "not compared" in sentence and "ranges from" not in sentence
    quiet = load_results(make_study(seeds=(0, 1), epochs=3))  # the same study timed on an idle machine
    assert busy(quiet.models, metric) is None


def test_compare_rows_keep_a_and_b_in_their_places():
    """Before: `a`/`b` named the higher/lower set while `mean_a`/`mean_b` were sets A and B."""
    a = SimpleNamespace(models=[model("FC", test_acc=[0.80, 0.81, 0.805])])
    b = SimpleNamespace(models=[model("FC", test_acc=[0.90, 0.91, 0.905])])
    (row,) = compare_results(a, b, ["test_acc"], names=("quick", "full"))
    assert (row["a"], row["b"], row["higher"]) == ("quick", "full", "full")
    assert row["diff"] == pytest.approx(row["mean_a"] - row["mean_b"]) and row["diff"] < 0
    assert row["ci_low"] <= row["diff"] <= row["ci_high"] < 0
    (same_way,) = compare_results(b, a, ["test_acc"], names=("full", "quick"))
    assert same_way["diff"] == pytest.approx(-row["diff"]) and same_way["verdict"] == row["verdict"] == "better"


def test_a_one_epoch_learning_curve_has_one_tick(make_study):
    """Before: x ticks at 0.96, 0.98, 1.00, 1.02, 1.04 for a study of one epoch."""
    from cnnlab.report import plots

    fig = plots.learning_curves(load_results(make_study(epochs=1)).models)
    for ax in fig.axes:
        assert list(ax.get_xticks()) == [1]
    fig = plots.learning_curves(load_results(make_study(epochs=3)).models)
    assert list(fig.axes[0].get_xticks()) == [1, 2, 3]


# --- issue 28: where the spread comes from ------------------------------------------------------------------------

def test_the_spread_is_split_into_seeds_and_test_images(make_study):
    """The seed part is the t half-width of the mean over seeds; the test-image part is binomial on
    the study's test images and does not shrink with seeds."""
    from scipy import stats

    from cnnlab.report import render_report
    from cnnlab.report.noise import split

    study_dir = make_study(seeds=(0, 1, 2), noise=0.01)
    study = load_results(study_dir)
    for m in study.models:
        x, values = split(m, study.test_images), np.array(m.values("test_acc"))
        assert x["seeds_half"] == pytest.approx(stats.t.ppf(0.975, 2) * values.std(ddof=1) / math.sqrt(3))
        p = values.mean()
        assert x["test_half"] == pytest.approx(stats.norm.ppf(0.975) * math.sqrt(p * (1 - p) / study.test_images))
    section = render_report(study_dir, dpi=30)[0].read_text("utf-8").split("## Where the spread comes from")[1]
    section = section.split("\n## ")[0]
    assert f"95% from {study.test_images:,} test images (pts)" in section and "plots/spread.png" in section
    assert "the spread from seed to seed is the larger part" in section
    assert split(model("X", test_acc=[0.9]), 500) is None  # one seed: nothing to split


# --- issue 40: cnnlab compare ---------------------------------------------------------------------------------------

def test_compare_says_when_two_result_sets_were_made_differently(make_study):
    """Before: 5 epochs on 5,000 images against 1 epoch on 600 were compared without a word."""
    from cnnlab.report.compare import setup_differences

    a, b = load_results(make_study(epochs=5)), load_results(make_study(epochs=1))
    assert setup_differences(a, b) == ["epochs 5 vs 1"]
    assert setup_differences(a, load_results(make_study(epochs=5))) == []


def test_compare_names_no_higher_set_when_the_means_are_equal():
    """Before: `higher` said "A" for a difference of 0."""
    a = SimpleNamespace(models=[model("FC", test_acc=[0.80, 0.81, 0.805])])
    b = SimpleNamespace(models=[model("FC", test_acc=[0.80, 0.81, 0.805])])
    (row,) = compare_results(a, b, ["test_acc"])
    assert row["higher"] is None and row["diff"] == 0


@pytest.mark.parametrize("metrics, margin, message", [((), 1.0, "metrics names no metric"),
                                                      (("speed",), 1.0, "unknown metric 'speed'"),
                                                      (("test_acc",), 0, "margin must be a number > 0"),
                                                      (("test_acc",), 101, "at most 100")])
def test_compare_checks_its_request_for_both_front_ends(metrics, margin, message):
    """Before: the margin and metric checks lived in the CLI only, so StudyResult.compare skipped them."""
    from cnnlab.errors import UserError

    a = SimpleNamespace(models=[model("FC", test_acc=[0.80, 0.81, 0.805])])
    with pytest.raises(UserError, match=message):
        compare_results(a, a, metrics, margin)
