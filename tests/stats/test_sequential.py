"""Looks as seeds accumulate (cnnlab.stats.sequential): boundaries spend what the plan says, the
sequential p-value agrees with them and never rises as looks are added."""

import math

import numpy as np
import pytest
from scipy import stats as sps

from cnnlab.stats import sequential

REPS = 200_000


@pytest.mark.parametrize("kind", sequential.SPENDING)
def test_the_spending_functions_spend_the_level_by_the_plan(kind):
    fractions = np.linspace(0.05, 1, 20)
    spent = [sequential.spent(0.05, t, kind) for t in fractions]
    assert all(b > a for a, b in zip(spent, spent[1:])) and spent[-1] == 0.05
    assert sequential.spent(0.05, 1.7, kind) == 0.05 and sequential.spent(0.05, 0, kind) == 0
    # Pocock-type spends early, O'Brien-Fleming-type keeps it for the end.
    assert (sequential.spent(0.05, 0.3, "pocock") > 0.02 > 0.001 > sequential.spent(0.05, 0.3, "obrien-fleming"))


@pytest.mark.parametrize("info, plan", [((5, 11, 19), 19), ((2, 5, 11, 23, 47), 47), ((3, 7), 19), ((5, 11, 23), 5)])
@pytest.mark.parametrize("sides", [1, 2])
@pytest.mark.parametrize("kind", sequential.SPENDING)
def test_z_boundaries_spend_each_looks_share_exactly(info, plan, sides, kind):
    """Z statistics of a Brownian motion at the looks: the chance of crossing first at look k is
    what the plan spends there (simulated); looks beyond the plan spend nothing."""
    rng = np.random.default_rng(7)
    steps = np.diff((0,) + info)
    z = np.cumsum(rng.normal(0, 1, (REPS, len(info))) * np.sqrt(steps), axis=1) / np.sqrt(info)
    b = np.array(sequential.z_boundaries(info, plan, 0.05, sides, kind))
    crossing = (np.abs(z) if sides == 2 else z) >= b
    first = np.where(crossing.any(1), crossing.argmax(1), -1)
    spent = np.diff([0] + [sequential.spent(0.05, i / plan, kind) for i in info])
    for k, share in enumerate(spent):
        observed = np.mean(first == k)
        assert observed == pytest.approx(share, abs=4 * math.sqrt(share / REPS) + 2e-4), (k, observed, share)
    assert np.mean(first >= 0) <= 0.05 + 4 * math.sqrt(0.05 / REPS)


def test_a_study_looked_at_once_at_its_planned_size_is_tested_at_the_full_level():
    assert sequential.sequential_p([2.5], [4], 4, [4], 2) == pytest.approx(2 * sps.t.sf(2.5, 4))
    assert sequential.sequential_p([2.5], [4], 4, [4], 1) == pytest.approx(sps.t.sf(2.5, 4))
    # The first of several planned looks: the level whose spending at its fraction is its own p-value.
    p = sequential.sequential_p([2.5], [5], 19, [5], 2)
    assert sequential.spent(p, 5 / 19) == pytest.approx(2 * sps.t.sf(2.5, 5))


def test_seeds_beyond_the_plan_cannot_decide():
    """A study run once (planned for its first look) has spent its level there: a later look is
    never crossed, whatever its statistic."""
    assert math.isinf(sequential.t_boundaries([5, 11], 5, [5, 11], 0.05, 2)[1])
    assert sequential.look_p([0.5, 40.0], [5, 11], 5, [5, 11], 1, 2) == 1.0
    assert sequential.sequential_p([0.5, 40.0], [5, 11], 5, [5, 11], 2) == pytest.approx(2 * sps.t.sf(0.5, 5))


@pytest.mark.parametrize("kind", sequential.SPENDING)
def test_the_sequential_p_value_agrees_with_the_boundaries(kind):
    rng = np.random.default_rng(5)
    for _ in range(20):
        stats = list(rng.normal(2.0, 1.5, 3))
        info = dfs = [2, 5, 11]
        p = sequential.sequential_p(stats, info, 11, dfs, 2, kind)
        if 1e-9 < p < 1:  # crossing at p, not a hair below it
            assert sequential.crossed(stats, info, 11, dfs, p * (1 + 1e-9), 2, kind) is not None
            assert sequential.crossed(stats, info, 11, dfs, p * (1 - 1e-6), 2, kind) is None


def test_adding_a_look_never_raises_the_sequential_p_value():
    """Before: the p-value was bisected to a relative 1e-3 and rounded up, so adding a look moved one
    from 0.0303964 (decided) to 0.0304005 (not). Now each look's own repeated p-value depends on
    that look and the ones before only, and the sequential p is their minimum: adding a look can
    only lower it, exactly."""
    rng = np.random.default_rng(6)
    for _ in range(100):
        n = int(rng.integers(2, 6))
        info = np.cumsum(rng.integers(1, 6, n)).astype(float) + 1
        plan = float(info[-1] + rng.integers(0, 10))
        stats = rng.normal(1.5, 1.5, n)
        dfs = info * float(rng.choice([1, 2]))
        ps = [sequential.sequential_p(stats[:k], info[:k], plan, dfs[:k], 2) for k in range(1, n + 1)]
        assert all(b <= a for a, b in zip(ps, ps[1:])), ps


def test_a_pair_decided_by_far_gets_a_tiny_sequential_p_not_an_error():
    """Seen in a run with --until-decided at 48 seeds: p-values near 1e-20 sent the search to
    levels where the boundary became infinite (NaN in the integration)."""
    p = sequential.sequential_p([30.0, 40.0, 60.0], [10, 22, 46], 46, [10, 22, 46], 2)
    assert 0 <= p < 1e-9
    p = sequential.sequential_p([5.5, 7.0, 9.0], [10, 22, 46], 46, [10, 22, 46], 2)
    assert 0 < p < 1e-3 and sequential.crossed([5.5, 7.0, 9.0], [10, 22, 46], 46, [10, 22, 46], p * 1.0001, 2) is not None
    assert all(math.isfinite(b) for b in sequential.z_boundaries((10.0, 22.0, 46.0), 46.0, 1e-30, 2))
