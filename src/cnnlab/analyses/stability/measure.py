"""What a training history says about the stability of training.

A history is the trainer's list of per-epoch rows: {"epoch" (1-based), "train_loss",
"train_acc", "test_loss", "test_acc", ...}, accuracies as fractions.
"""

import math

import numpy as np


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
