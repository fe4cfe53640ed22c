"""Timings from a busy machine: when a spread says the device was shared, times are not compared.

Every timing is recorded with its spread (inference: the quartiles of its timed passes; training:
each epoch's time, and each seed's). On an idle machine they stay within tens of percent; a
run that shared its cores with other work shows it as a spread of several times: one FC run's
epochs took 21.6 s, another's 2.4 s, and an inference latency had q1 1.34 ms and q3 332 ms.
Such numbers describe the machine's load, not the model, so the report names the spread and
does not set the models' times against each other.
"""

from cnnlab.results import ModelResults

BUSY_SPREAD = 2.0  # slowest / fastest of one measurement's parts; idle CPUs stay well under it
MIN_GAP = 1.0  # seconds (training) or milliseconds (inference): tinier gaps are scheduling noise, not load
TIMED_METRICS = {"epoch_seconds": "train_seconds", "train_seconds": "train_seconds",
                 "latency_ms": 1, "throughput": 256}  # metric -> per-epoch key, or the inference batch size


def _inference_spread(run, batch_size: int) -> tuple[float, float] | None:
    inference = run.analysis.get("inference")
    rows = inference.get("results") if isinstance(inference, dict) else None
    for row in rows or ():
        if isinstance(row, dict) and row.get("batch_size") == batch_size:
            q1, q3 = row.get("q1_ms"), row.get("q3_ms")
            if isinstance(q1, (int, float)) and isinstance(q3, (int, float)) and q1 > 0:
                return float(q1), float(q3)
    return None


def _apart(low: float, high: float) -> bool:
    return high > BUSY_SPREAD * low and high - low > MIN_GAP


def busy_reason(model: ModelResults, metric: str) -> str | None:
    """Why `model`'s `metric` (a timing) looks measured on a busy machine, or None."""
    source = TIMED_METRICS.get(metric)
    if source is None:
        return None
    if isinstance(source, int):  # inference at one batch size: the quartiles of each run's timed passes
        for run in model.done:
            spread = _inference_spread(run, source)
            if spread and _apart(*spread):
                return (f"{model.label}, seed {run.seed}: the middle half of its timed passes at batch size {source} "
                        f"took {spread[0]:.2f}–{spread[1]:.2f} ms")
        return None
    for run in model.done:  # the epochs of one run (the first pays for warm-up, so it is left out)
        times = [t for t in run.curve(source)[1:] if t]
        if len(times) >= 2 and _apart(min(times), max(times)):
            return f"{model.label}, seed {run.seed}: its epochs took {min(times):.1f}–{max(times):.1f} s"
    values = [v for v in model.values(metric) if v]
    if len(values) >= 2 and _apart(min(values), max(values)):
        return f"{model.label}: its seeds took {min(values):.1f}–{max(values):.1f} s"
    return None


def busy(models: list[ModelResults], metric: str) -> str | None:
    """One sentence on why the models' `metric` is not compared, or None when its timings look sound."""
    reasons = [r for m in models for r in [busy_reason(m, metric)] if r]
    if not reasons:
        return None
    return (f"not compared: {'; '.join(reasons)}, more than {BUSY_SPREAD:g}× apart, so the machine was busy or "
            "shared while they ran; time them again on an idle machine")
