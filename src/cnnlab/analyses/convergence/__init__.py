"""Convergence speed: the epochs and training seconds at which each run's test accuracy first
reaches a target, compared between models with a test that handles runs that never reach it.

The target is the study file's `convergence = { target = 0.40 }`, else DEFAULT_SHARE of the best
compared model's final mean test accuracy: a common accuracy every model is timed to. A run that
never reaches it is censored at its last epoch (counted, never dropped, never given the last
epoch as its time), and pairs of models are compared by the log-rank test on those censored
times (cnnlab.stats.censored), Holm-adjusted over the pairs: "faster" when it rejects, else
inconclusive. Time-to-accuracy is also how MLPerf Training and DAWNBench rank training.
"""

from __future__ import annotations  # annotations name plots.Figure, made when first used

from itertools import combinations

import numpy as np

from cnnlab.numeric import number
from cnnlab.plugins import Analysis, Metric, register_analysis
from cnnlab.report import fmt, plots
from cnnlab.document import Bullets, Paragraph, Section, Table
from cnnlab.report.findings import by_test_accuracy
from cnnlab.report.sections import image, not_measured
from cnnlab.stats.censored import logrank_p
from cnnlab.stats.constants import ALPHA
from cnnlab.stats.multiple import holm
from cnnlab.stats.summary import summarize

TITLE = "Convergence"
DEFAULT_SHARE = 0.9  # of the best compared model's final mean test accuracy: a level every model should reach
KEYS = ("epochs", "test_acc", "seconds")


def measure(run):
    from cnnlab.analyses.convergence.measure import curve

    return curve(run.history.epochs) if run.history.epochs else None


def check(value) -> bool:
    return (isinstance(value, dict) and all(isinstance(value.get(k), list) for k in KEYS)
            and len({len(value[k]) for k in KEYS}) == 1 and len(value["epochs"]) > 0)


def _stored(run) -> dict | None:
    value = run.analysis.get("convergence")
    if check(value):
        return value
    from cnnlab.analyses.convergence.measure import curve

    return curve(run.metrics) if run.metrics else None


def _plateau(run):
    from cnnlab.analyses.convergence.measure import epochs_to_plateau

    value = _stored(run)
    return epochs_to_plateau(value) if value else None


def target_for(models, study=None) -> tuple[float | None, str]:
    """The accuracy the models are timed to, and how it was set."""
    given = number(getattr(getattr(study, "info", None), "convergence_target", None))
    if given is not None:
        return given, "the study's target"
    means = [summarize(m.values("test_acc")).mean for m in models if m.values("test_acc")]
    if not means:
        return None, ""
    return DEFAULT_SHARE * max(means), f"{100 * DEFAULT_SHARE:.0f}% of the best model's final mean test accuracy"


def times(model, target: float) -> list[tuple[float, float, bool]]:
    """(epochs, seconds, reached) of each finished run of `model`."""
    from cnnlab.analyses.convergence.measure import time_to_target

    return [time_to_target(v, target) for v in (_stored(r) for r in model.done) if v]


def verdicts(models, target: float) -> list[str]:
    """Each pair's log-rank verdict on epochs to the target, Holm-adjusted over the pairs."""
    pairs = [(a, b) for a, b in combinations(models, 2) if times(a, target) and times(b, target)]
    tests = []
    for a, b in pairs:
        ta, tb = times(a, target), times(b, target)
        tests.append(logrank_p([t[0] for t in ta], [t[2] for t in ta], [t[0] for t in tb], [t[2] for t in tb]))
    adjusted = holm(tests)
    out = []
    for (a, b), p, q in zip(pairs, tests, adjusted):
        ta, tb = times(a, target), times(b, target)
        censored = sum(not t[2] for t in ta + tb)
        note = f", {censored} run{'s' if censored != 1 else ''} never reached it (censored)" if censored else ""
        if p is None:
            out.append(f"{a.label} vs {b.label}: cannot be decided (no run reached the target, fewer than two "
                       f"seeds a model, or every run reached it in the same epoch){note}.")
            continue
        median = {m.label: float(np.median([t[0] for t in ts])) for m, ts in ((a, ta), (b, tb))}
        faster = min(median, key=median.get)
        stats = f"log-rank p = {fmt.pvalue(p)}, Holm-adjusted p = {fmt.pvalue(q)} over {len(pairs)} pairs{note}"
        if q < ALPHA:
            slower = b.label if faster == a.label else a.label
            out.append(f"{faster} reaches the target significantly sooner than {slower} (median {median[faster]:.1f} "
                       f"against {median[slower]:.1f} epochs; {stats}).")
        else:
            out.append(f"{a.label} vs {b.label}: no significant difference in epochs to the target (medians "
                       f"{median[a.label]:.1f} and {median[b.label]:.1f}; {stats}): inconclusive.")
    return out


def summary_lines(models, target: float, how: str) -> list[str]:
    parts = []
    for m in models:
        ts = times(m, target)
        if ts:
            reached = [t for t in ts if t[2]]
            median = f"median {np.median([t[0] for t in reached]):.1f} epochs, {np.median([t[1] for t in reached]):.1f} s" \
                if reached else "never reached"
            parts.append(f"{m.label} {median} ({len(reached)} of {len(ts)} runs reached it)")
    return [f"Epochs and training seconds to a test accuracy of {fmt.pct(target, 1)} ({how}): " + "; ".join(parts) + "."]


def study_evidence(models, study) -> list[str]:
    target, how = target_for(models, study)
    if target is None:
        return []
    return summary_lines(models, target, how) + verdicts(models, target)


def plot(models, target: float) -> plots.Figure:
    fig = plots.figure(figsize=(6.5, 4), layout="constrained")
    ax = fig.subplots()
    for m in models:
        curves = [v for v in (_stored(r) for r in m.done) if v]
        if not curves:
            continue
        n = min(len(c["epochs"]) for c in curves)
        mean = np.nanmean([[np.nan if a is None else a for a in c["test_acc"][:n]] for c in curves], axis=0)
        ax.plot(curves[0]["epochs"][:n], 100 * mean, marker="o", markersize=3, color=plots.color(m.index),
                label=plots.literal(m.label))
    ax.axhline(100 * target, color="0.3", linestyle="--", linewidth=1, label="target")
    ax.set(xlabel="epoch", ylabel="test accuracy (%)", title="Test accuracy against epochs: when each reaches the target")
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.legend(fontsize=7, loc="lower right")
    ax.grid(alpha=0.3)
    return fig


def section(study, dpi: int) -> Section:
    s = Section(TITLE)
    models = [m for m in by_test_accuracy(study.models) if any(_stored(r) for r in m.done)]
    target, how = target_for(models, study)
    if not models or target is None:
        return not_measured(s, "epochs to a target accuracy")
    rows = []
    for m in models:
        ts = times(m, target)
        reached = [t for t in ts if t[2]]
        rows.append([m.label, f"{len(reached)} of {len(ts)}",
                     f"{np.median([t[0] for t in reached]):.2f}" if reached else fmt.DASH,
                     f"{np.median([t[1] for t in reached]):.1f} s" if reached else fmt.DASH,
                     fmt.mean_std(summarize(m.values("epochs_to_plateau")), digits=1)])
    s.add(Table(["Model", "Runs that reached it", "Median epochs", "Median training seconds",
                 "Epochs to 99% of its own best"], rows,
                caption=f"Target: {fmt.pct(target, 1)} test accuracy ({how})"))
    s.add(image("convergence.png", plot(models, target), dpi, "Mean test accuracy per epoch against the target"))
    lines = verdicts(models, target)
    if lines:
        s.add(Bullets(lines))
    s.add(Paragraph("Epochs and seconds to the target are interpolated within the epoch it was reached in (the first "
                    "epoch counts whole); a run that never reached it is censored at its last epoch, and pairs are "
                    "compared with the log-rank test on censored times, Holm-adjusted over the pairs. Epochs to "
                    "99% of its own best say when each run stopped gaining, whatever its level.", note=True))
    return s


def example(run):
    from cnnlab.analyses.convergence.measure import curve

    return curve(run.metrics)


register_analysis(Analysis(
    name="convergence",
    description="epochs and seconds to a target test accuracy, compared with censoring (log-rank)",
    measure=measure, check=check, after_divergence=True, title=TITLE, section=section,
    study_evidence=study_evidence,
    metrics=(Metric("epochs_to_plateau", "epochs until test accuracy reached 99% of the run's own best",
                    _plateau),),
    order=112, example=example))
