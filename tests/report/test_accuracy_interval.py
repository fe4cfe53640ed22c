"""The bounded (logit-scale) interval for accuracies: never outside [0, 1], the t interval where that one is fine."""

import numpy as np
import pytest
from scipy import stats as sps

from cnnlab.stats.summary import accuracy_interval, summarize, summarize_accuracy


@pytest.mark.parametrize("values", [
    [0.99, 0.60], [0.60, 0.99], [0.02, 0.45], [1.0, 0.2], [0.0, 0.01], [1.0, 0.996, 0.994],
    [0.999, 0.995, 0.5], [0.11, 0.9, 0.5, 0.01],
])
def test_accuracy_interval_never_leaves_zero_to_one(values):
    t = summarize(values)
    low, high = accuracy_interval(values)
    assert 0.0 <= low <= t.mean <= high <= 1.0
    for confidence in (0.5, 0.99):
        low, high = accuracy_interval(values, confidence)
        assert 0.0 <= low <= high <= 1.0


def test_where_the_t_interval_runs_out_of_range_the_bounded_one_does_not():
    t = summarize([0.99, 0.60])
    assert t.ci_low < 0 and t.ci_high > 1  # the bug the issue reports: two seeds, "95% CI [-168%, 327%]"
    s = summarize_accuracy([0.99, 0.60])
    assert (s.n, s.mean, s.std) == (t.n, t.mean, t.std)
    assert 0 <= s.ci_low < 0.6 and 0.99 < s.ci_high <= 1


@pytest.mark.parametrize("values", [[0.50, 0.52, 0.49, 0.51], [0.47, 0.55, 0.51], [0.981, 0.984, 0.979, 0.983]])
def test_for_seeds_close_together_it_is_close_to_the_t_interval(values):
    lo, hi = sps.t.interval(0.95, df=len(values) - 1, loc=np.mean(values), scale=sps.sem(values))
    low, high = accuracy_interval(values)
    # Each end within 0.2 accuracy points (0.002) of the t interval's, the width within 2%.
    assert low == pytest.approx(lo, abs=2e-3) and high == pytest.approx(hi, abs=2e-3)
    assert high - low == pytest.approx(hi - lo, rel=0.02)


def test_it_is_the_back_transformed_t_interval_of_the_logits():
    values = [0.7, 0.9, 0.8]
    logits = np.log(np.array(values) / (1 - np.array(values)))
    lo, hi = sps.t.interval(0.9, df=2, loc=logits.mean(), scale=sps.sem(logits))
    expit = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    assert accuracy_interval(values, 0.9) == (pytest.approx(expit(lo)), pytest.approx(expit(hi)))


def test_accuracy_interval_edge_cases():
    assert accuracy_interval([0.9]) == (None, None)
    assert accuracy_interval([]) == (None, None)
    assert accuracy_interval([0.9, None, float("nan")]) == (None, None)  # missing values are dropped
    # No spread, no interval (before: a zero-width "95% CI [99.80, 99.80]").
    assert accuracy_interval([0.9, 0.9, 0.9]) == (None, None)
    assert summarize([0.998, 0.998]).ci_low is None and summarize_accuracy([0.998, 0.998]).ci_high is None
    assert accuracy_interval([1.0, 1.0, 0.9999999]) == (None, None)  # apart by less than eps
    one = summarize_accuracy([0.9])
    assert (one.n, one.mean, one.ci_low, one.ci_high) == (1, 0.9, None, None)
    with pytest.raises(ValueError, match="fractions"):
        accuracy_interval([98.1, 97.9])  # percentages, not fractions


def test_eps_is_half_a_test_image():
    """An accuracy of 1.0 on 500 test images is moved half an image inside, not 1e-4: the
    docstring's rule, which the reports now follow (before: [73.1, 100.0] and [0, 100])."""
    low, high = summarize_accuracy([1.0, 0.996, 0.994], images=500).ci_low, \
        summarize_accuracy([1.0, 0.996, 0.994], images=500).ci_high
    assert low == pytest.approx(0.971, abs=5e-4) and high == pytest.approx(0.9997, abs=1e-4)
    assert accuracy_interval([1.0, 0.996, 0.994])[0] < 0.75  # the old default eps
    two = summarize_accuracy([1.0, 0.996], images=500)
    assert two.ci_low > 0.05 and two.ci_high < 1.0  # two seeds: wide, but no longer [0, 100]
    assert summarize_accuracy([1.0, 0.996]).ci_low < 1e-6
