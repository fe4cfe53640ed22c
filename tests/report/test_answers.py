"""The answers to the built-in studies' questions, on fake but schema-valid results with controlled
accuracies (no training): the wording must follow the verdicts, every verdict its statistics."""

import math
import re
from pathlib import Path

import pytest

import cnnlab
from cnnlab.errors import UserError
from cnnlab.report import findings
from cnnlab.report.answers import answers
from cnnlab.stats.power import power_difference
from cnnlab.results import load_results
from cnnlab.studies.loader import load_builtin_studies

BUILTIN = {s.reference: s for s in load_builtin_studies()}
MODELS = {ref: tuple((m.name, m.label) for m in s.models) for ref, s in BUILTIN.items()}


def results(make_study, reference, accuracies=None, seeds=(0, 1, 2), noise=0.002, **kw):
    models = MODELS[reference]
    if accuracies is None:  # far apart: every difference is significant
        accuracies = [0.5 + 0.06 * i for i in range(len(models))]
    return load_results(make_study(models=models, accuracies=accuracies, seeds=seeds, noise=noise,
                                   reference=reference, **kw))


def assert_follows_verdicts(result):
    text = " ".join(result.evidence)
    for c in result.comparisons:
        sentence = findings.sentence(c, len(result.comparisons), "size of the train–test gap" if c.metric == "gap_size"
                                     else "test accuracy")
        assert sentence in text
        assert (" is higher than " in sentence) == (c.verdict == "better")
        assert ("are within ±" in sentence) == (c.verdict == "equivalent")
        assert ("inconclusive" in sentence) == (c.verdict == "inconclusive")


@pytest.mark.parametrize("reference", sorted(BUILTIN))
def test_clear_differences_are_better(make_study, reference):
    study = results(make_study, reference)
    found = answers(study)
    assert len(found) == len(BUILTIN[reference].questions)
    for result in found:
        assert result.asks and result.question.startswith(reference)
        if result.kind == "gap":
            continue  # the gap has its own test below
        assert result.comparisons and all(c.verdict == "better" for c in result.comparisons)
        assert result.decided == len(result.comparisons)
        assert_follows_verdicts(result)
        assert "Test accuracy (mean over seeds, 95% CI)" in result.evidence[0]
    first = found[0]
    if first.kind == "best":  # accuracies rise in study order: the last model listed wins
        labels = [label for _, label in MODELS[reference] if label in {m.label for c in first.comparisons
                                                                      for m in (c.a, c.b)}]
        assert f"{labels[-1]} is the most accurate" in first.claim


@pytest.mark.parametrize("reference", sorted(BUILTIN))
def test_seeds_within_a_fraction_of_a_point_are_equivalent(make_study, reference):
    """Models whose seeds lie within ±0.3 points of each other, margin 1 point: equivalent."""
    study = results(make_study, reference, accuracies=[0.9] * len(MODELS[reference]), seeds=(0, 1, 2, 3),
                    noise=0.001)
    for result in answers(study):
        if result.kind == "gap":
            continue  # the gap has its own spread (conftest: 0.02 per epoch, the same for every seed)
        assert result.comparisons and all(c.verdict == "equivalent" for c in result.comparisons), result.claim
        assert_follows_verdicts(result)
        assert "within ±1.00 points" in result.claim or "equivalent" in result.claim
        assert "better than" not in result.claim


def _paired_power(diff, sd, n, alpha, reps=40_000):
    """Simulated: the share of experiments (n paired seeds, per-seed differences of spread sd) the
    paired t-test at alpha decides."""
    import numpy as np
    from scipy import stats

    rng = np.random.default_rng(3)
    d = rng.normal(diff, sd, (reps, n))
    return float(np.mean(stats.ttest_1samp(d, 0.0, axis=1).pvalue < alpha))


def _welch_power(diff, sd, n, alpha, reps=40_000):
    """Simulated: the share of experiments (n seeds per model) Welch's test at alpha decides."""
    import numpy as np
    from scipy import stats

    from cnnlab.stats.ttest import welch_df

    rng = np.random.default_rng(3)
    a, b = rng.normal(diff, sd, (reps, n)), rng.normal(0.0, sd, (reps, n))
    va, vb = a.var(1, ddof=1) / n, b.var(1, ddof=1) / n
    df = welch_df((va + vb) ** 2 / (va ** 2 / (n - 1) + vb ** 2 / (n - 1)), n, n)
    return float(np.mean(2 * stats.t.sf(np.abs(a.mean(1) - b.mean(1)) / np.sqrt(va + vb), df) < alpha))


@pytest.mark.parametrize("test", ["welch", "paired"])
def test_a_noisy_pair_is_inconclusive_with_the_seeds_that_would_decide(make_study, test):
    """A large seed-to-seed spread: neither verdict. The detectable difference and the seeds that
    would decide hold their 80% power for the study's test (Welch's, or the paired one over the
    per-seed differences) at the family's Holm level, on average over what the true spread may be
    (so at the observed spread, taken as exact, more: by simulation). A study run once has spent
    its level: the seeds are those of a study planned for them."""
    study = results(make_study, "1.1", accuracies=[0.80, 0.84, 0.82], seeds=(0, 1, 2), noise=0.03, test=test)
    (result,) = answers(study)
    open_ = [c for c in result.comparisons if c.verdict == "inconclusive"]
    assert open_, [c.verdict for c in result.comparisons]
    paired = test == "paired"
    for c in open_:
        assert c.paired == paired and c.test == ("paired t-test" if paired else "Welch's t-test")
        x, y = c.a.values("test_acc"), c.b.values("test_acc")
        if paired:
            sd, power = math.sqrt(_var([u - v for u, v in zip(x, y)])), _paired_power
        else:
            sd = math.sqrt(((len(x) - 1) * _var(x) + (len(y) - 1) * _var(y)) / (len(x) + len(y) - 2))
            power = _welch_power
        n, alpha = len(x), c.level / c.family
        spread_df = n - 1 if paired else 2 * n - 2
        assert power_difference(c.detectable, sd, n, n, alpha, paired, spread_df) == pytest.approx(0.8, abs=1e-4)
        assert power(c.detectable, sd, n, alpha) > 0.85  # at the observed spread taken as exact
        assert c.needed.fresh
        if c.needed.verdict == "better":
            assert power_difference(c.diff.diff, sd, c.needed.n, c.needed.n, alpha, paired, spread_df) >= 0.8
            assert power_difference(c.diff.diff, sd, c.needed.n - 1, c.needed.n - 1, alpha, paired, spread_df) < 0.8
            assert power(c.diff.diff, sd, c.needed.n, alpha) >= 0.79  # the simulation agrees it is enough
        sentence = findings.sentence(c)
        assert "inconclusive" in sentence and f"about {c.needed.n} seeds per model" in sentence
        assert "in a study planned for them from the start" in sentence
        assert ("paired t p" if paired else "Welch p") in sentence



def _var(values):
    mean = sum(values) / len(values)
    return sum((v - mean) ** 2 for v in values) / (len(values) - 1)


def test_one_seed_is_never_a_claim(make_study):
    (result,) = answers(results(make_study, "1.1", seeds=(0,)))
    assert "fewer than two seeds" in result.claim and "better than" not in result.claim
    assert all(c.verdict == "untested" for c in result.comparisons)


def test_intervals_of_accuracies_stay_within_0_and_100(make_study):
    """Two seeds far apart near 100 %: the t-interval would pass 100 %, the reported one does not."""
    study = results(make_study, "1.1", accuracies=[0.90, 0.93, 0.95], seeds=(0, 1), noise=0.02)
    text = answers(study)[0].evidence[0]
    bounds = [float(x) for x in re.findall(r"\[(-?[\d.]+), (-?[\d.]+)\]", text) for x in x]
    assert bounds and all(0 <= b <= 100 for b in bounds), text


@pytest.mark.slow
def test_replication_checks_each_claimed_ordering(make_study):
    # Their claim: 1x1+3x3 > 3x3 > 5x5 > 7x7.
    same = answers(results(make_study, "2.1", accuracies={"kernel-1x1-3x3": 0.8, "kernel-3x3": 0.74,
                                                         "kernel-5x5": 0.68, "kernel-7x7": 0.62}))[0]
    assert same.replication.startswith("Replicated: of seed report 000's 6 test-accuracy orderings")
    assert "6 replicated, 0 contradicted" in same.replication and "(the same order;" in same.replication
    reversed_ = answers(results(make_study, "2.1", accuracies={"kernel-1x1-3x3": 0.62, "kernel-3x3": 0.68,
                                                              "kernel-5x5": 0.74, "kernel-7x7": 0.8}))[0]
    assert reversed_.replication.startswith("Not replicated") and "6 contradicted" in reversed_.replication
    assert "a different order" in reversed_.replication
    alike = answers(results(make_study, "2.1", accuracies=[0.8] * 4, seeds=(0, 1, 2, 3), noise=0.001))[0]
    assert "not borne out (equivalent within ±1.00 points)" in alike.replication


@pytest.mark.parametrize("reg_gap, effect", [(0.02, "significantly narrows"), (0.15, "significantly widens"),
                                             (0.08, "within ±1.00 points")])
def test_regularisation_effect_on_the_gap_follows_its_verdict(make_study, reg_gap, effect):
    study = results(make_study, "1.2", gaps={"residual-cnn": 0.08, "residual-cnn-reg": reg_gap})
    gap = next(a for a in answers(study) if a.kind == "gap")
    assert effect in gap.claim
    assert_follows_verdicts(gap)


def test_kernel_answer_compares_effective_and_theoretical_fields(make_study):
    result = answers(results(make_study, "2.1"))[0]
    # fake records: theoretical field 8 px at features.conv2, effective 5 px
    text = " ".join(result.evidence)
    assert "3x3 5 vs 8 px" in text and "smaller than the theoretical one in every model" in text
    assert "within 0." in text or "within" in text  # the parameter counts, compared
    assert result.figures[0][0] == "effective_receptive_fields.png"


@pytest.mark.slow
def test_depth_answers_report_gradients_the_ordering_and_residual_connections(make_study):
    best, ordering, residual = answers(results(make_study, "2.2"))
    assert "first-layer gradient norm" in " ".join(best.evidence) and "first/last-layer ratio" in " ".join(best.evidence)
    assert ordering.kind == "ordering" and "The ordering 2 layers < 4 layers < 6 layers < 12 layers holds" in ordering.claim
    assert residual.kind == "pair" and len(residual.comparisons) == 1
    reversed_ = answers(results(make_study, "2.2", accuracies=[0.8, 0.74, 0.68, 0.62, 0.5]))[1]
    assert "holds for 0 of 3 steps" in reversed_.claim and "reversed" in reversed_.claim


@pytest.mark.slow
def test_custom_layers_use_their_planned_pairs(make_study):
    result, activations = answers(results(make_study, "3.1"))
    planned = BUILTIN["3.1"].questions[0]["pairs"]
    assert {frozenset((c.a.label, c.b.label)) for c in result.comparisons} == {frozenset(p) for p in planned}
    assert all(c.family == len(planned) for c in result.comparisons)
    text = " ".join(result.evidence)
    assert "Measured costs, Custom conv vs Baseline" in text and "training time per epoch" in text
    # The activations are timed to a common accuracy, as the course report timed their convergence.
    timed = " ".join(activations.evidence)
    assert "Epochs and training seconds to a test accuracy of" in timed and "log-rank p" in timed


def test_residual_blocks_report_accuracy_per_parameter_memory_and_stability(make_study):
    text = " ".join(answers(results(make_study, "3.2"))[0].evidence)
    assert "per 100K parameters" in text and "per 100 MiB of peak memory" in text
    assert "Training stability (measured)" in text and "gradient-norm spikes" in text


def test_a_model_without_runs_is_named(make_study):
    models = MODELS["1.1"]
    study = load_results(make_study(models=models, accuracies=(0.8, 0.9, 0.85), reference="1.1",
                                    statuses={(models[2][0], s): None for s in (0, 1)}))
    result = answers(study)[0]
    assert result.evidence[0] == f"Not measured (no finished runs): {models[2][1]}."


def test_a_later_look_is_tested_group_sequentially(make_study):
    """Seeds added after a look: each pair's sequential p over its looks is what Holm adjusts and
    what the first look's level judges; the sentence names the look and the boundaries."""
    study = results(make_study, "1.1", looks=(3, 6), seeds=tuple(range(6)))
    c = answers(study)[0].comparisons[0]
    assert c.looks == 2 and c.look_seeds == ((3, 3), (6, 6))
    assert c.level == 0.05  # the family's level over all its looks
    assert c.p_sequential is not None and c.p_holm >= c.p_sequential
    text = findings.sentence(c)
    assert f"at look {c.look} of 2" in text and "looks at 3, 6 seeds, group-sequential boundaries" in text


def test_the_engine_knows_no_model_by_name():
    """Questions and claims live in the study files: no built-in model name in the engine."""
    names = {m.name for s in BUILTIN.values() for m in s.models}
    package = Path(cnnlab.__file__).parent
    modules = [package / "report" / m for m in ("answers.py", "claims.py", "findings.py", "build.py", "suite.py")]
    for path in modules + sorted((package / "stats").glob("*.py")):
        text = path.read_text(encoding="utf-8")
        found = [n for n in names if re.search(rf"[\"'`]{re.escape(n)}[\"'`]", text)]
        assert not found, f"{path.relative_to(package)} names models {found}"


def test_every_answer_names_the_population_its_verdicts_speak_for(make_study):
    """Honest scope: the intervals and verdicts cover the spread from seed to seed on the study's
    own test images, so each answer says which images, not "the test distribution"."""
    study = results(make_study, "1.1")
    for result in answers(study):
        assert "speak for these 10,000 test images" in result.decided_text()


def test_every_question_kind_is_one_class_that_parses_and_answers():
    """One class per kind (cnnlab.report.questions): every kind the study files may name has one,
    it needs the model references the study.json schema expects, and it checks its own fields."""
    from cnnlab.choices import QUESTION_KINDS, QUESTION_NEEDS
    from cnnlab.report.questions import KINDS
    from cnnlab.studies.loader import parse_study

    assert list(KINDS) == list(QUESTION_KINDS)
    for name, kind in KINDS.items():
        assert kind.name == name and kind.needs == QUESTION_NEEDS[name]
    raw = {"name": "s", "dataset": "synthetic", "epochs": 1, "models": [{"name": "fc"}, {"name": "simple-cnn"}]}
    with pytest.raises(UserError, match=r"key 'questions\[0\]\.b': the two models of a pair must differ"):
        parse_study({**raw, "questions": [{"kind": "pair", "a": "fc", "b": "fc"}]}, "s.toml", check_models=False)
    with pytest.raises(UserError, match=r"key 'questions\[0\]\.pairs\[0\]': expected a list of at least 2"):
        parse_study({**raw, "questions": [{"kind": "pairs", "pairs": [["fc"]]}]}, "s.toml", check_models=False)
    study = parse_study({**raw, "questions": [{"kind": "ordering", "models": ["simple-cnn", "fc"]}]}, "s.toml",
                        check_models=False)
    assert study.questions[0]["models"] == ["simple-cnn", "fc"]


# --- what a new user hit, round 5 (issue 40) ---------------------------------------------------------------

def test_a_gap_that_changes_sign_is_not_called_narrower(make_study):
    """Before: residual CNN +0.15 points, regularised -2.94 points (train accuracy measured with
    augmentation and dropout on) was "regularisation significantly narrows the gap". The question
    now compares the size of the gap, and says why a gap can be negative."""
    study = results(make_study, "1.2", gaps={"residual-cnn": 0.0015, "residual-cnn-reg": -0.0294})
    gap = next(a for a in answers(study) if a.kind == "gap")
    assert "narrows" not in gap.claim and "widens" in gap.claim and "|train − test|" in gap.claim
    text = " ".join(gap.evidence)
    assert "ended with test accuracy above train accuracy" in text and "augmentation and dropout on" in text
    assert "test loss rose for 2+ epochs after its minimum" in text
    assert_follows_verdicts(gap)


def test_a_gap_question_does_not_judge_test_accuracy_claims(make_study):
    """Before: the gap question's claims line judged the course report's test-accuracy claim by the
    gap verdict, so one report called the same pair "replicated" and "contradicted"."""
    study = results(make_study, "1.2", gaps={"residual-cnn": 0.02, "residual-cnn-reg": 0.15})
    accuracy, gap = answers(study)
    assert "contradicted" not in gap.replication and "not test accuracy" in gap.replication
    assert "orderings" in accuracy.replication


def test_times_measured_on_a_shared_device_are_left_out_of_the_answers(make_study):
    """Before: the report said the runs shared their device, so their times were not comparable,
    and the answers listed times per epoch all the same."""
    shared = answers(results(make_study, "1.1", sharing=2))[0]
    text = " ".join(shared.evidence)
    assert "Training time per epoch" not in text and "Not compared here: " in text and "--workers 1" in text
    alone = " ".join(answers(results(make_study, "1.1", sharing=1))[0].evidence)
    assert "Training time per epoch" in alone and "Not compared here" not in alone


def test_the_next_step_follows_the_plan_and_never_contradicts_the_command(make_study):
    """Before: "cnnlab run my-study.toml --until-decided --max-seeds 6 ... --seeds 43 ..., or add
    --until-decided". A study run once has spent its level: the next step plans anew; one planned
    for more seeds continues with its own command."""
    from cnnlab.report.build import next_step_text

    once = results(make_study, "1.1", accuracies=[0.80, 0.81, 0.82], seeds=(0, 1, 2), noise=0.02)
    text = next_step_text(once, answers(once)[0].comparisons)
    assert "spent its 5% level" in text and "--until-decided --max-seeds" in text
    command = text.split("from the start: ")[1].split(" (")[0]
    assert command.count("--until-decided") == 1 and "--seeds" not in command and "--out" in command
    planned = results(make_study, "1.1", accuracies=[0.80, 0.82, 0.84], seeds=(0, 1, 2), noise=0.01, looks=(3,),
                      plan_seeds=20)
    text = next_step_text(planned, answers(planned)[0].comparisons)
    assert "within this study's plan (20 seeds per model)" in text and text.count("--until-decided") >= 1
