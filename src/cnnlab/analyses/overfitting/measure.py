"""What a training history says about overfitting.

A history is the trainer's list of per-epoch rows: {"epoch" (1-based), "train_loss",
"train_acc", "test_loss", "test_acc", ...}, accuracies as fractions.
"""

import math


def overfitting(history: list[dict], patience: int = 2) -> dict:
    """Train-test accuracy gap per epoch, the epoch of lowest test loss, and whether the
    test loss then stayed above that minimum for `patience` (2) or more epochs.

    Returns {"epochs": [...], "gap": [train_acc - test_acc, ...], "final_gap", "max_gap",
             "best_epoch", "best_test_loss", "final_test_loss", "epochs_after_best",
             "test_loss_rise" (final - best), "test_loss_rose": bool}.
    Ties for the lowest loss go to the later epoch, so every epoch after the best is
    strictly worse; non-finite losses (a diverged run) never count as the best.
    """
    if not history:
        raise ValueError("history is empty: no finished epochs to analyse")
    epochs = [int(row["epoch"]) for row in history]
    gap = [float(row["train_acc"]) - float(row["test_acc"]) for row in history]
    losses = [float(row["test_loss"]) for row in history]
    finite = [i for i, loss in enumerate(losses) if math.isfinite(loss)]
    if finite:
        best = min(finite, key=lambda i: (losses[i], -i))
        after = len(history) - 1 - best
        best_epoch, best_loss, rise = epochs[best], losses[best], losses[-1] - losses[best]
    else:
        best_epoch, best_loss, after, rise = None, None, 0, None
    return {"epochs": epochs, "gap": gap, "final_gap": gap[-1], "max_gap": max(gap),
            "best_epoch": best_epoch, "best_test_loss": best_loss, "final_test_loss": losses[-1],
            "epochs_after_best": after, "test_loss_rise": rise, "test_loss_rose": after >= patience}
