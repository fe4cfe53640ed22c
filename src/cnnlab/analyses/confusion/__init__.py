"""Confusion matrix on the test set, computed by the `evaluate` that measured test accuracy
(cnnlab.analyses.confusion.measure), so its accuracy is the run's final test accuracy, exactly."""

from __future__ import annotations  # annotations name plots.Figure, made when first used

import numpy as np

from cnnlab.plugins import Analysis, register_analysis
from cnnlab.report import fmt, plots
from cnnlab.document import Bullets, Section, Table
from cnnlab.report.findings import by_test_accuracy
from cnnlab.results import stored_matrix
from cnnlab.report.sections import image, not_measured

TITLE = "Confusion matrices"


def measure(run):
    from cnnlab.analyses.confusion.measure import confusion_matrix

    return confusion_matrix(run.model, run.data, run.inputs, batch_size=run.config.eval_batch_size)


def check(value) -> bool:
    return isinstance(value, dict) and all(k in value for k in ("classes", "matrix", "per_class_accuracy",
                                                                "accuracy", "count"))


def view(c) -> dict | None:
    matrix = stored_matrix(c, "matrix")
    if matrix is None or matrix.shape[0] != matrix.shape[1]:
        return None
    classes = c.get("classes")
    if not isinstance(classes, list) or len(classes) != matrix.shape[0]:
        classes = [str(i) for i in range(matrix.shape[0])]
    return {"matrix": matrix, "classes": [str(x) for x in classes]}


def plot(items: list[tuple[str, np.ndarray, list[str]]]) -> plots.Figure:
    """One panel per model: rows = true class, normalised to sum to 100 %."""
    rows, cols = plots.grid(len(items), 3)
    k = max(m.shape[0] for _, m, _ in items)
    side = 3.2 if k <= 10 else 4.5
    fig = plots.figure(figsize=(side * cols + 1, side * rows), layout="constrained")
    axes = np.atleast_1d(fig.subplots(rows, cols, squeeze=False)).ravel()
    for ax, (label, matrix, classes) in zip(axes, items):
        totals = matrix.sum(axis=1, keepdims=True)
        frac = np.divide(matrix, totals, out=np.zeros_like(matrix, dtype=float), where=totals > 0) * 100
        im = ax.imshow(frac, cmap="Blues", vmin=0, vmax=100)
        n = len(classes)
        ticks = range(n) if n <= 20 else range(0, n, max(1, n // 10))
        ax.set_xticks(list(ticks), [plots.literal(classes[i][:10]) for i in ticks], rotation=90, fontsize=6)
        ax.set_yticks(list(ticks), [plots.literal(classes[i][:10]) for i in ticks], fontsize=6)
        if n <= 10:
            for i in range(n):
                for j in range(n):
                    ax.text(j, i, f"{frac[i, j]:.0f}", ha="center", va="center", fontsize=5,
                            color="white" if frac[i, j] > 60 else "black")
        ax.set(xlabel="predicted", ylabel="true", title=plots.literal(label))
        ax.title.set_fontsize(9)
    for ax in axes[len(items):]:
        ax.set_visible(False)
    fig.colorbar(im, ax=list(axes[:len(items)]), shrink=0.8, label="% of true class")
    return fig


def section(study, dpi: int) -> Section:
    s = Section(TITLE)
    items, per_class = [], []
    for m in by_test_accuracy(study.models):
        views = [v for v in (view(r.analysis.get("confusion")) for r in m.done) if v]
        views = [v for v in views if v["matrix"].shape == views[0]["matrix"].shape]
        if not views:
            continue
        total = sum(v["matrix"] for v in views)
        items.append((f"{m.label} ({len(views)} seed{'s' if len(views) > 1 else ''})", total, views[0]["classes"]))
        per_class.append((m, total, views[0]["classes"]))
    if not items:
        return not_measured(s, "confusion matrices")
    s.add(image("confusion_matrices.png", plot(items), dpi,
                "Confusion matrices, rows normalised to the true class, summed over seeds"))
    sentences = []
    for m, matrix, classes in per_class:
        off = matrix.copy()
        np.fill_diagonal(off, 0)
        if off.sum() > 0:
            i, j = np.unravel_index(int(np.argmax(off)), off.shape)
            sentences.append(f"{m.label}: the most frequent confusion is true {classes[i]} predicted as "
                             f"{classes[j]} ({int(off[i, j])} test images over all seeds).")
    if sentences:
        s.add(Bullets(sentences))
    classes = per_class[0][2]
    if len(classes) <= 20 and all(len(c) == len(classes) for _, _, c in per_class):
        rows = []
        for k, name in enumerate(classes):
            row = [name]
            for _, matrix, _ in per_class:
                total = matrix[k].sum()
                row.append(fmt.pct(matrix[k, k] / total, 1) if total else fmt.DASH)
            rows.append(row)
        s.add(Table(["Class"] + [m.label for m, _, _ in per_class], rows,
                    caption="Per-class test accuracy (all seeds pooled)."))
    return s


def example(run):
    import numpy as np

    matrix = run.rng.integers(0, 5, size=(10, 10))
    np.fill_diagonal(matrix, int(100 * run.final_acc))
    return {"classes": [str(d) for d in range(10)], "matrix": matrix.tolist(), "per_class_accuracy": [0.9] * 10,
            "accuracy": run.final_acc, "count": int(matrix.sum())}


register_analysis(Analysis(
    name="confusion",
    description="confusion matrix and per-class accuracy on the test set",
    measure=measure, check=check, title=TITLE, section=section, order=120, example=example))
