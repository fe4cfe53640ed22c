"""How fast a run's test accuracy rises: its curve over epochs and training seconds, and when it
first reaches a target (interpolated within the epoch where the history allows).

A history is the trainer's list of per-epoch rows: {"epoch" (1-based), "test_acc",
"train_seconds" (that epoch's training loop), ...}, accuracies as fractions.
"""

import math


def curve(history: list[dict]) -> dict:
    """{"epochs": [1, 2, ...], "test_acc": [...], "seconds": [training seconds up to the end of each epoch]}."""
    if not history:
        raise ValueError("history is empty: no finished epochs to analyse")
    seconds, total = [], 0.0
    for row in history:
        step = row.get("train_seconds")
        total += float(step) if isinstance(step, (int, float)) and math.isfinite(step) else 0.0
        seconds.append(total)
    return {"epochs": [int(row["epoch"]) for row in history],
            "test_acc": [float(row["test_acc"]) if isinstance(row.get("test_acc"), (int, float)) else None
                         for row in history], "seconds": seconds}


def time_to_target(value: dict, target: float) -> tuple[float, float, bool]:
    """(epochs, seconds, reached): when test accuracy first reaches `target`, interpolated linearly
    between the two epochs it lies between (reached in the first epoch: 1 epoch, that epoch's
    seconds); a run that never reaches it is censored at its last epoch and seconds (reached False),
    never dropped and never given a time it did not have."""
    accs, epochs, seconds = value["test_acc"], value["epochs"], value["seconds"]
    previous = None
    for i, acc in enumerate(accs):
        if acc is not None and acc >= target:
            if previous is None or accs[previous] is None or accs[previous] >= acc:
                return float(epochs[i]), float(seconds[i]), True
            share = (target - accs[previous]) / (acc - accs[previous])
            return (epochs[previous] + share * (epochs[i] - epochs[previous]),
                    seconds[previous] + share * (seconds[i] - seconds[previous]), True)
        previous = i
    return float(epochs[-1]), float(seconds[-1]), False


def epochs_to_plateau(value: dict, share: float = 0.99) -> float | None:
    """The first epoch at which test accuracy reaches `share` of the run's own best: when it stopped
    gaining (what a report's "time to convergence" measures by eye), from its history alone."""
    accs = [a for a in value["test_acc"] if a is not None]
    if not accs:
        return None
    best = max(accs)
    return next(float(e) for e, a in zip(value["epochs"], value["test_acc"]) if a is not None and a >= share * best)
