"""Group-sequential looks (cnnlab.stats.sequential) and the paired design (findings.decide_family):
boundaries spend what they promise, the error rates hold over looks, and the verdicts use them."""

import math

import numpy as np
import pytest
from scipy import stats as sps

from cnnlab.report import findings
from cnnlab.stats import sequential
from cnnlab.stats.power import power_difference, power_equivalence
from cnnlab.stats.sequential import looks_alpha
from cnnlab.stats.ttest import tost
from cnnlab.stats.ttest import paired, welch

FIRST = looks_alpha(0.05, 1)  # 3.04%: the first look's level
REPS = 200_000


@pytest.mark.parametrize("info", [(3, 5, 10), (1, 2, 3, 4, 5), (4, 9, 19)])
@pytest.mark.parametrize("sides", [1, 2])
def test_z_boundaries_spend_each_looks_share_exactly(info, sides):
    """Z statistics of a Brownian motion at the looks: the chance of crossing first at look k is
    first / k² (simulated), where Bonferroni over looks would only bound it."""
    rng = np.random.default_rng(7)
    steps = np.diff((0,) + info)
    z = np.cumsum(rng.normal(0, 1, (REPS, len(info))) * np.sqrt(steps), axis=1) / np.sqrt(info)
    b = np.array(sequential.z_boundaries(info, FIRST, sides))
    crossing = (np.abs(z) if sides == 2 else z) >= b
    first = np.where(crossing.any(1), crossing.argmax(1), -1)
    for k, share in enumerate(sequential.spend(FIRST, len(info))):  # one-sided: per side, as TOST uses it
        observed = np.mean(first == k)
        assert observed == pytest.approx(share, abs=4 * math.sqrt(share / REPS) + 2e-4), (k, observed, share)


def _paired_t(d, looks):
    return np.stack([d[:, :n].mean(1) / (d[:, :n].std(1, ddof=1) / math.sqrt(n)) for n in looks], axis=1)


@pytest.mark.parametrize("looks", [(3, 6, 12), (5, 10, 20), (3, 6, 12, 24), (2, 3, 4, 5, 6, 7, 8)])
def test_a_false_better_stays_below_5_percent_over_every_look(looks):
    """Two equal models on paired seeds, tested at every look as seeds accumulate: the chance of a
    false 'better' at any look stays below 5% (looked at every time at 3.04%, it would be 6-9%)."""
    rng = np.random.default_rng(11)
    d = rng.normal(0, 1, (REPS, looks[-1]))
    t = _paired_t(d, looks)
    dfs = [n - 1 for n in looks]
    c = np.array(sequential.t_boundaries(dfs, dfs, FIRST, 2))
    rate = np.mean((np.abs(t) >= c).any(1))
    naive = np.mean((2 * sps.t.sf(np.abs(t), dfs) < FIRST).any(1))
    assert rate < 0.05 and naive > 0.055, (rate, naive)
    # Every look holds at least its Bonferroni share: later looks are tested less strictly.
    shares = [FIRST / k ** 2 for k in range(1, len(looks) + 1)]
    nominal = [2 * sps.t.sf(ck, df) for ck, df in zip(c, dfs)]
    assert all(n >= s * 0.999 for n, s in zip(nominal, shares)) and nominal[1] > 1.3 * shares[1]


@pytest.mark.parametrize("looks", [(3, 6, 12), (5, 10, 20)])
def test_a_false_equivalence_at_the_margin_stays_below_5_percent_over_every_look(looks):
    """True difference exactly at the margin, paired seeds: sequential TOST (both one-sided
    statistics past the one-sided boundary at one look) claims equivalence less than 5% of the time."""
    rng = np.random.default_rng(12)
    margin, sd = 1.0, 1.0
    d = rng.normal(margin, sd, (REPS // 2, looks[-1]))
    se = np.stack([d[:, :n].std(1, ddof=1) / math.sqrt(n) for n in looks], axis=1)
    mean = np.stack([d[:, :n].mean(1) for n in looks], axis=1)
    statistic = np.minimum((mean + margin) / se, (margin - mean) / se)
    dfs = [n - 1 for n in looks]
    c = np.array(sequential.t_boundaries(dfs, dfs, FIRST, 1))
    spent = sum(sequential.spend(FIRST, len(looks)))  # 4.1%: what the looks spend
    assert np.mean((statistic >= c).any(1)) < min(spent + 0.002, 0.05)


def test_the_sequential_p_value_is_the_tests_own_for_one_look_and_agrees_with_the_boundaries():
    assert sequential.sequential_p([2.5], [4], [4], 2) == pytest.approx(2 * sps.t.sf(2.5, 4))
    assert sequential.sequential_p([2.5], [4], [4], 1) == pytest.approx(sps.t.sf(2.5, 4))
    rng = np.random.default_rng(5)
    for _ in range(30):
        stats = list(rng.normal(2.0, 1.5, 3))
        info = dfs = [2, 5, 11]
        p = sequential.sequential_p(stats, info, dfs, 2)
        if p < 1:  # crossing at p (rounded up), not a little below it
            assert sequential.crossed(stats, info, dfs, p, 2) is not None
            assert sequential.crossed(stats, info, dfs, p / 1.01, 2) is None
        # Adding a look never makes a pair less decided.
        assert sequential.sequential_p(stats[:2], info[:2], dfs[:2], 2) >= p * (1 - 1e-3)


def test_paired_t_and_tost_match_scipy():
    rng = np.random.default_rng(3)
    a = rng.normal(0.80, 0.01, 6)
    b = a - 0.004 + rng.normal(0, 0.002, 6)  # strongly paired
    d = paired(a, b)
    assert d.p == pytest.approx(sps.ttest_rel(a, b).pvalue) and d.df == 5
    assert d.p < welch(a, b).p  # the pairing removes what the seed does to both
    e = tost(a, b, 0.01, paired=True)
    assert e.p == pytest.approx(max(sps.ttest_1samp(a - b, -0.01, alternative="greater").pvalue,
                                    sps.ttest_1samp(a - b, 0.01, alternative="less").pvalue))


@pytest.mark.parametrize("n", [3, 5, 8])
def test_paired_powers_match_simulation(n):
    rng = np.random.default_rng(n)
    diff, sd, alpha, margin = 0.8, 1.0, 0.01, 1.5
    d = rng.normal(diff, sd, (100_000, n))
    p = sps.ttest_1samp(d, 0.0, axis=1).pvalue
    assert power_difference(diff, sd, n, n, alpha, paired=True) == pytest.approx(np.mean(p < alpha), abs=0.005)
    se = d.std(1, ddof=1) / math.sqrt(n)
    t = sps.t.ppf(1 - alpha, n - 1)
    shown = (d.mean(1) - t * se > -margin) & (d.mean(1) + t * se < margin)
    assert power_equivalence(diff, sd, margin, n, n, alpha, paired=True) == pytest.approx(np.mean(shown), abs=0.005)


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
    (c,) = findings.decide_family([(a, b)], "test_acc", 0.01, looks=(3, 6), pairing=True)
    assert c.verdict == "better" and c.looks == 2 and c.look == 1 and c.diff.n_a == 3
    assert c.diff.ci_low > 0 and "at look 1 of 2" in findings.sentence(c)


@pytest.mark.parametrize("looks", [(3, 6, 12), (5, 10, 20)])
def test_the_family_wise_false_better_rate_holds_for_three_equal_models_over_every_look(looks):
    """Three equal models on paired seeds, all three pairs looked at at every look (what
    --until-decided does at most: it stops looking at decided or hopeless pairs, which can only
    remove chances). Holm rejects something only when a pair crosses at the first level / 3, so
    the family-wise chance of a false 'better' is the chance that any pair crosses there."""
    rng = np.random.default_rng(21)
    reps = REPS // 4
    seeds = rng.normal(0, 1, (reps, looks[-1], 1))  # what a seed does to every model: cancels in pairs
    x = seeds + rng.normal(0, 1, (reps, looks[-1], 3))
    dfs = [n - 1 for n in looks]
    c = np.array(sequential.t_boundaries(dfs, dfs, FIRST / 3, 2))
    any_pair = np.zeros(reps, dtype=bool)
    for i, j in ((0, 1), (0, 2), (1, 2)):
        any_pair |= (np.abs(_paired_t(x[:, :, i] - x[:, :, j], looks)) >= c).any(1)
    assert np.mean(any_pair) < 0.05, np.mean(any_pair)


def test_a_study_file_chooses_its_test_and_the_report_says_which(make_study):
    """`test = "paired"` in a study file: the loader checks it, study.json records it, the verdicts
    use the paired t-test and the report's note says so; a bad value is one line naming the valid ones."""
    from cnnlab.errors import UserError
    from cnnlab.report.answers import answers
    from cnnlab.report.build import how_to_read
    from cnnlab.report.load import load_results
    from cnnlab.studies.loader import parse_study

    raw = {"name": "s", "dataset": "synthetic", "epochs": 1, "models": [{"name": "fc"}, {"name": "simple-cnn"}]}
    assert parse_study(raw, "s.toml").test == "welch"
    assert parse_study({**raw, "test": "paired"}, "s.toml").to_dict()["test"] == "paired"
    with pytest.raises(UserError, match=r"^s.toml: key 'test': unknown value 'wilcoxon'; valid: welch, paired$"):
        parse_study({**raw, "test": "wilcoxon"}, "s.toml")
    study = load_results(make_study(test="paired", reference="1.1"))
    assert study.info.test == "paired"
    assert all(c.paired for a in answers(study) for c in a.comparisons)
    assert "this study uses the paired t-test" in how_to_read(study)
    assert "this study uses Welch's" in how_to_read(load_results(make_study(reference="1.1")))


def test_a_pair_decided_by_far_gets_a_tiny_sequential_p_not_an_error():
    """Seen in a run with --until-decided at 48 seeds: p-values near 1e-20 sent the search to
    levels where 1 - share rounds to 1 and the boundary became infinite (NaN in the integration)."""
    p = sequential.sequential_p([30.0, 40.0, 60.0], [10, 22, 46], [10, 22, 46], 2)
    assert 0 < p < 1e-9
    p = sequential.sequential_p([5.5, 7.0, 9.0], [10, 22, 46], [10, 22, 46], 2)
    assert 0 < p < 1e-3 and sequential.crossed([5.5, 7.0, 9.0], [10, 22, 46], [10, 22, 46], p, 2) is not None
    assert all(math.isfinite(b) for b in sequential.z_boundaries((10.0, 22.0, 46.0), 1e-30, 2))
