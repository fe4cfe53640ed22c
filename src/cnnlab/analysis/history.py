"""What a training history says about overfitting and stability.

A history is the trainer's list of per-epoch rows: {"epoch" (1-based), "train_loss",
"train_acc", "test_loss", "test_acc", ...}, accuracies as fractions.
"""

import math

import numpy as np


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


def training_stability(step_losses, step_grad_norms=None, tail_fraction: float = 0.2,
                       spike_factor: float = 10.0, window: int = 100) -> dict:
    """Loss noise at the end of training and gradient-norm spikes.

    - loss_std_tail: standard deviation (ddof=1) of the per-step loss over the last
      `tail_fraction` (20%) of steps; loss_mean_tail alongside to put it in scale.
    - grad_spikes: steps whose gradient norm exceeds `spike_factor` (10) times the running
      median of the previous `window` (100) steps, or is not finite. A step with fewer
      than 10 finite norms before it has too little history to call it a spike.
    Returns {"steps", "tail_steps", "loss_std_tail", "loss_mean_tail", "nonfinite_losses",
             "grad_spikes", "grad_spike_steps", "spike_factor", "window"}.
    """
    losses = np.asarray(step_losses, dtype=np.float64)
    n = len(losses)
    tail = losses[n - max(math.ceil(tail_fraction * n), 2):] if n >= 2 else losses
    tail = tail[np.isfinite(tail)]
    result = {"steps": n, "tail_steps": int(len(tail)),
              "loss_std_tail": float(np.std(tail, ddof=1)) if len(tail) >= 2 else None,
              "loss_mean_tail": float(np.mean(tail)) if len(tail) else None,
              "nonfinite_losses": int((~np.isfinite(losses)).sum()),
              "grad_spikes": None, "grad_spike_steps": [], "spike_factor": spike_factor, "window": window}
    if step_grad_norms is not None:
        spikes = grad_spike_steps(step_grad_norms, spike_factor, window)
        result.update(grad_spikes=len(spikes), grad_spike_steps=spikes)
    return result


def grad_spike_steps(norms, factor: float = 10.0, window: int = 100, min_history: int = 10) -> list[int]:
    """Indices of steps whose norm is > factor x the median of the previous `window` finite norms."""
    norms = np.asarray(norms, dtype=np.float64)
    spikes = []
    for i in range(len(norms)):
        previous = norms[max(0, i - window):i]
        previous = previous[np.isfinite(previous)]
        if not np.isfinite(norms[i]):
            spikes.append(i)
        elif len(previous) >= min_history and norms[i] > factor * np.median(previous):
            spikes.append(i)
    return spikes
