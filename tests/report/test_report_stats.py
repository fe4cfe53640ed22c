import math

import numpy as np
import pytest
from scipy import stats as sps

from cnnlab.report.findings import ONE_SEED, Comparison, sentence
from cnnlab.results import ModelResults
from cnnlab.stats.multiple import holm
from cnnlab.stats.summary import summarize
from cnnlab.stats.ttest import welch

A = [0.981, 0.984, 0.979, 0.983]
B = [0.972, 0.976, 0.970]


def test_summary_matches_scipy_t_interval():
    s = summarize(A)
    lo, hi = sps.t.interval(0.95, df=len(A) - 1, loc=np.mean(A), scale=sps.sem(A))
    assert s.n == 4
    assert s.mean == pytest.approx(np.mean(A))
    assert s.std == pytest.approx(np.std(A, ddof=1))
    assert (s.ci_low, s.ci_high) == (pytest.approx(lo), pytest.approx(hi))


def test_summary_of_one_or_no_value_has_no_spread():
    one = summarize([0.5])
    assert (one.n, one.mean, one.std, one.ci_low, one.ci_high) == (1, 0.5, None, None, None)
    assert summarize([]).mean is None
    # Missing measurements are dropped, not averaged as zero.
    assert summarize([0.5, None, float("nan")]).n == 1


def test_welch_is_scipys_statistic_at_the_degrees_of_freedom_it_uses():
    """scipy's Welch statistic and Satterthwaite's degrees of freedom, moved towards min(n) - 1
    as `ttest.welch_df` says (with few seeds Satterthwaite's own reject too often)."""
    from cnnlab.stats.ttest import welch_df

    d = welch(A, B)
    ref = sps.ttest_ind(A, B, equal_var=False)
    df = welch_df(ref.df, len(A), len(B))
    assert d.diff == pytest.approx(np.mean(A) - np.mean(B))
    assert d.df == pytest.approx(df) and d.df < ref.df
    assert d.p == pytest.approx(2 * sps.t.sf(abs(ref.statistic), df))
    half = sps.t.ppf(0.975, df) * d.diff / ref.statistic
    assert (d.ci_low, d.ci_high) == (pytest.approx(d.diff - half), pytest.approx(d.diff + half))
    # The interval excludes 0 exactly when the test rejects at 5%.
    assert (d.ci_low > 0) == (d.p < 0.05)


def test_welch_with_one_seed_gives_no_p_value():
    d = welch([0.98], B)
    assert d.diff == pytest.approx(0.98 - np.mean(B))
    assert d.p is None and d.ci_low is None and d.df is None


def test_welch_with_no_variation_gives_no_p_value():
    d = welch([0.9, 0.9], [0.8, 0.8])
    assert d.p is None
    assert d.diff == pytest.approx(0.1)


def test_holm_on_known_values():
    # m = 3: sorted p 0.01, 0.02, 0.04 -> 0.03, 0.04, 0.04 (monotone), order preserved, None kept.
    assert holm([0.04, None, 0.01, 0.02]) == [pytest.approx(0.04), None, pytest.approx(0.03), pytest.approx(0.04)]
    assert holm([0.6, 0.5]) == [pytest.approx(1.0), pytest.approx(1.0)]
    assert holm([]) == []


def _pair(a_values, b_values, p_holm):
    a, b = ModelResults("a", "Model A", {}, 0), ModelResults("b", "Model B", {}, 1)
    return Comparison(a=a, b=b, diff=welch(a_values, b_values), p_holm=p_holm, margin=0.01)


def test_a_label_ending_in_s_takes_an_apostrophe_alone():
    a, b = ModelResults("depth-12", "12 layers", {}, 0), ModelResults("depth-2", "Depth 2", {}, 1)
    text = sentence(Comparison(a=a, b=b, diff=welch(A, B), p_holm=welch(A, B).p, margin=0.01), 1)
    assert text.startswith("12 layers' test accuracy is higher than Depth 2's by") and "layers's" not in text


def test_sentences_claim_only_what_the_test_supports():
    significant = _pair(A, B, welch(A, B).p)
    text = sentence(significant, 1)
    assert "Model A's test accuracy is higher than Model B's by" in text
    assert "Welch p =" in text and "n = 4 and 3 seeds" in text

    # A raw p below 5% that Holm's correction lifts above it is not a claim.
    corrected = _pair(A, B, 0.2)
    text = sentence(corrected, 6)
    assert text.startswith("No significant difference") and "Holm-adjusted p = 0.200 over 6 comparisons" in text

    one_seed = _pair([0.99], [0.50], None)
    text = sentence(one_seed, 1)
    assert ONE_SEED in text
    assert "higher" not in text and "better" not in text


def test_a_tiny_noisy_difference_is_not_significant():
    rng = np.random.default_rng(0)
    a, b = 0.9 + rng.normal(0, 0.01, 3), 0.9005 + rng.normal(0, 0.01, 3)
    d = welch(a, b)
    assert d.p > 0.05 and d.ci_low < 0 < d.ci_high
    assert not math.isnan(d.p)


def test_p_clause_never_reads_equals_less_than():
    from cnnlab.report import fmt

    assert fmt.p_clause("Welch p", 0.0001) == "Welch p < 0.001"
    assert fmt.p_clause("Welch p", 0.0123) == "Welch p = 0.012"
