"""Overfitting and training-stability summaries from hand-made histories."""

import math

import numpy as np
import pytest

from cnnlab.analyses.overfitting.measure import overfitting
from cnnlab.analyses.stability.measure import training_stability


def history(test_losses, train_acc=None, test_acc=None):
    n = len(test_losses)
    train_acc = train_acc or [0.5 + 0.1 * i for i in range(n)]
    test_acc = test_acc or [0.5 + 0.05 * i for i in range(n)]
    return [{"epoch": i + 1, "train_loss": 1.0, "train_acc": train_acc[i], "test_loss": loss,
             "test_acc": test_acc[i], "epoch_seconds": 1.0, "images_per_second": 100.0}
            for i, loss in enumerate(test_losses)]


def test_test_loss_rising_for_two_epochs_after_its_minimum():
    result = overfitting(history([1.0, 0.8, 0.7, 0.75, 0.9]))
    assert result["best_epoch"] == 3 and result["best_test_loss"] == 0.7
    assert result["epochs_after_best"] == 2 and result["test_loss_rose"]
    assert result["test_loss_rise"] == pytest.approx(0.2)
    assert result["gap"] == pytest.approx([0.0, 0.05, 0.1, 0.15, 0.2])
    assert result["final_gap"] == pytest.approx(0.2) and result["max_gap"] == pytest.approx(0.2)


def test_one_epoch_after_the_minimum_is_not_enough():
    result = overfitting(history([1.0, 0.8, 0.7, 0.6, 0.65]))
    assert result["best_epoch"] == 4 and result["epochs_after_best"] == 1
    assert not result["test_loss_rose"]


def test_ties_go_to_the_later_epoch_and_nan_never_wins():
    assert overfitting(history([0.5, 0.7, 0.5, 0.6]))["best_epoch"] == 3
    result = overfitting(history([0.9, 0.8, float("nan"), float("nan")]))
    assert result["best_epoch"] == 2 and result["test_loss_rose"]


def test_empty_history_is_an_error():
    with pytest.raises(ValueError, match="empty"):
        overfitting([])


def test_loss_std_over_the_last_fifth_of_steps():
    losses = [5.0] * 80 + [1.0, 2.0] * 10  # last 20 of 100 steps alternate 1, 2
    result = training_stability(losses)
    assert result["tail_steps"] == 20
    assert result["loss_std_tail"] == pytest.approx(np.std([1.0, 2.0] * 10, ddof=1))
    assert result["loss_mean_tail"] == pytest.approx(1.5)
    assert result["grad_spikes"] is None


def test_gradient_spikes_above_ten_times_the_running_median():
    norms = [1.0 + 0.01 * (i % 5) for i in range(200)]
    norms[50] = 50.0  # spike
    norms[120] = 9.0  # large but under 10x the median: not a spike
    norms[150] = math.inf
    result = training_stability([1.0] * 200, norms)
    assert result["grad_spike_steps"] == [50, 150] and result["grad_spikes"] == 2
