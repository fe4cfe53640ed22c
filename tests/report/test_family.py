"""A study's families of comparisons (report.findings.decide_family): which test a pair gets,
which look it shows, and what the report says of it."""

import numpy as np
import pytest

from cnnlab.report import findings


class _Model(findings.ModelResults):
    """A model's values per seed, given (statistics only)."""

    def __init__(self, label, values, seeds=None, index=0):
        super().__init__(name=label, label=label, kwargs={}, index=index)
        self._seeds = list(seeds if seeds is not None else range(len(values)))
        self._values = dict(zip(self._seeds, values))

    def values(self, metric):
        return list(self._values.values())

    def seeds(self):
        return sorted(self._seeds)

    def seed_values(self, metric):
        return dict(self._values)


def test_models_on_the_same_seeds_are_compared_paired_and_on_other_seeds_with_welch():
    rng = np.random.default_rng(1)
    base = rng.normal(0.8, 0.02, 5)  # what each seed does to every model
    a, b = _Model("A", base + 0.01, index=0), _Model("B", base + rng.normal(0, 0.002, 5), index=1)
    other = _Model("C", base + 0.01, seeds=range(100, 105), index=2)
    (same,) = findings.decide_family([(a, b)], "test_acc", 0.01, pairing=True)
    (apart,) = findings.decide_family([(other, b)], "test_acc", 0.01, pairing=True)
    assert same.paired and same.verdict == "better" and "paired t p" in findings.sentence(same)
    assert not apart.paired and apart.verdict == "inconclusive" and "Welch p" in findings.sentence(apart)
    (unpaired,) = findings.decide_family([(a, b)], "test_acc", 0.01)  # Welch's, the default
    assert not unpaired.paired and unpaired.verdict == "inconclusive"  # the seed's share of the spread stays in


def test_a_pair_decided_at_an_earlier_look_shows_that_look():
    """Looks at 3 and 6 seeds: a pair that crossed at look 1 keeps its verdict and its numbers are
    look 1's (its interval excludes zero), whatever the later seeds did."""
    a = _Model("A", [0.90, 0.905, 0.902, 0.80, 0.95, 0.85], index=0)
    b = _Model("B", [0.80, 0.803, 0.801, 0.85, 0.80, 0.90], index=1)
    (c,) = findings.decide_family([(a, b)], "test_acc", 0.01, looks=(3, 6), pairing=True, plan_seeds=6)
    assert c.verdict == "better" and c.looks == 2 and c.look == 1 and c.diff.n_a == 3
    assert c.diff.ci_low > 0 and "at look 1 of 2" in findings.sentence(c)


def test_a_study_file_chooses_its_test_and_the_report_says_which(make_study):
    """`test = "paired"` in a study file: the loader checks it, study.json records it, the verdicts
    use the paired t-test and the report's note says so; a bad value is one line naming the valid ones."""
    from cnnlab.errors import UserError
    from cnnlab.report.answers import answers
    from cnnlab.report.build import how_to_read
    from cnnlab.results import load_results
    from cnnlab.studies.loader import parse_study

    raw = {"name": "s", "dataset": "synthetic", "epochs": 1, "models": [{"name": "fc"}, {"name": "simple-cnn"}]}
    assert parse_study(raw, "s.toml").test == "welch"
    assert parse_study({**raw, "test": "paired"}, "s.toml").to_dict()["test"] == "paired"
    with pytest.raises(UserError, match=r"^s.toml: key 'test': unknown value 'wilcoxon'; valid: welch, paired$"):
        parse_study({**raw, "test": "wilcoxon"}, "s.toml")
    study = load_results(make_study(test="paired", reference="1.1"))
    assert study.info.test == "paired"
    assert all(c.paired for a in answers(study) for c in a.comparisons)
    assert "(the paired t-test over the seeds both models share)" in how_to_read(study)
    assert "(Welch's)" in how_to_read(load_results(make_study(reference="1.1")))
