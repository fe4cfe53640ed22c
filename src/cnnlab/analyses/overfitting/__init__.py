"""Overfitting: the train–test accuracy gap per epoch, and whether test loss rose after its minimum.

Read from the training history alone, so a diverged run gets it too. A study that does not
ask for it still shows the gap: it is computed from metrics.jsonl in the same way.
"""

from __future__ import annotations  # annotations name plots.Figure, made when first used

import numpy as np

from cnnlab.analyses.overfitting.measure import overfitting
from cnnlab.numeric import number
from cnnlab.plugins import Analysis, Metric, register_analysis
from cnnlab.report import fmt, plots
from cnnlab.document import Paragraph, Section, Table
from cnnlab.report.findings import by_test_accuracy, extremes
from cnnlab.report.sections import image, not_measured, with_runs
from cnnlab.stats.summary import summarize

TITLE = "Overfitting"
KEYS = ("epochs", "gap", "final_gap", "best_epoch", "test_loss_rose")


def measure(run):
    return overfitting(run.history.epochs) if run.history.epochs else None


def check(value) -> bool:
    return isinstance(value, dict) and all(k in value for k in KEYS)


def of_run(run) -> dict | None:
    """The stored analysis, else the same function applied to the run's metrics."""
    stored = run.analysis.get("overfitting")
    if isinstance(stored, dict):
        return stored
    return overfitting(run.metrics) if run.metrics else None


def _final_gap(run):
    over = of_run(run)
    return number(over["final_gap"]) if over else None


def _gap_size(run):
    gap = _final_gap(run)
    return None if gap is None else abs(gap)


def _loss_rose(run):
    over = of_run(run)
    return None if not over else float(bool(over.get("test_loss_rose")))


def plot(models) -> plots.Figure:
    fig = plots.figure(figsize=(6.5, 4), layout="constrained")
    ax = fig.subplots()
    for m in models:
        gaps = plots.stack([[None if a is None or b is None else a - b for a, b in zip(r.curve("train_acc"),
                                                                                        r.curve("test_acc"))]
                            for r in m.done])
        if gaps.size:
            plots.mean_band(ax, np.arange(1, gaps.shape[1] + 1), gaps, 100.0, color=plots.color(m.index),
                            label=plots.literal(m.label))
    ax.axhline(0, color="0.5", linewidth=0.8)
    ax.set(xlabel="epoch", ylabel="train − test accuracy (points)", title="Train–test gap per epoch")
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return fig


def section(study, dpi: int) -> Section:
    s = Section(TITLE)
    models = [m for m in with_runs(study.models) if m.values("gap")]
    if not models:
        return not_measured(s, "train and test accuracy per epoch")
    s.add(image("train_test_gap.png", plot(models), dpi,
                "Train minus test accuracy per epoch, mean over seeds with a ± 1 std band"))
    rows = []
    for m in by_test_accuracy(models):
        analyses = [a for a in (of_run(r) for r in m.done) if a]
        rows.append([m.label, fmt.mean_std(summarize(m.values("gap")), 100, unit="pts"),
                     fmt.mean_std(summarize(m.values("best_test_acc")), 100, unit="%"),
                     fmt.mean_std(summarize(m.values("test_acc")), 100, unit="%"),
                     ", ".join(str(a["best_epoch"]) for a in analyses) or fmt.DASH,
                     f"{sum(bool(a['test_loss_rose']) for a in analyses)} of {len(analyses)}"])
    s.add(Table(["Model", "Final gap (train − test)", "Best test acc", "Final test acc",
                 "Lowest test loss at epoch (per seed)", "Test loss rose for 2+ epochs after its minimum"], rows))
    s.add(Paragraph("A growing gap while test loss rises from its minimum is the usual sign of overfitting; "
                    "the gap uses the running train accuracy of each epoch (cnnlab.analyses.overfitting).",
                    note=True))
    return s


def findings(study) -> list[str]:
    ext = extremes(study.models, "gap")
    if not ext:
        return []
    lo, lo_v, hi, hi_v = ext
    return [f"At the last epoch the train–test accuracy gap (mean over seeds) ranges from {100 * lo_v:.2f} "
            f"points ({lo.label}) to {100 * hi_v:.2f} points ({hi.label})."]


def example(run):
    return overfitting(run.metrics)


register_analysis(Analysis(
    name="overfitting",
    description="train–test accuracy gap per epoch and the epoch of lowest test loss",
    measure=measure, check=check, after_divergence=True,
    metrics=(Metric("gap", "train–test accuracy gap at the last epoch", _final_gap, "fraction"),
             Metric("gap_size", "size of the train–test accuracy gap at the last epoch, |train − test|", _gap_size,
                    "fraction"),
             Metric("test_loss_rose", "1 when test loss rose for 2+ epochs after its minimum (overfitting), else 0",
                    _loss_rose)),
    title=TITLE, section=section, findings=findings, order=110, example=example))
