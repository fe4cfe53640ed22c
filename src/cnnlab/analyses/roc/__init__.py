"""One-vs-rest ROC curves and AUC per class, and the macro AUC, on the test images
(cnnlab.analyses.roc.measure, with scikit-learn's roc_curve and roc_auc_score). The macro AUC is
a metric (`macro_auc`) that questions and `cnnlab compare` can use."""

from __future__ import annotations  # annotations name plots.Figure, made when first used


import numpy as np

from cnnlab.numeric import number
from cnnlab.plugins import Analysis, Column, Metric, register_analysis
from cnnlab.report import fmt, plots
from cnnlab.document import Paragraph, Section, Table
from cnnlab.report.findings import by_test_accuracy, extremes
from cnnlab.report.sections import image, not_measured
from cnnlab.stats.summary import summarize

TITLE = "ROC curves"


def measure(run):
    from cnnlab.analyses.roc.measure import measure_roc

    return measure_roc(run.model, run.data, run.inputs, batch_size=run.config.eval_batch_size)


def check(value) -> bool:
    return (isinstance(value, dict) and isinstance(value.get("auc"), list) and isinstance(value.get("tpr"), list)
            and isinstance(value.get("fpr"), list) and len(value["auc"]) == len(value["tpr"])
            and all(a is None or (isinstance(a, (int, float)) and 0 <= a <= 1) for a in value["auc"])
            and all(c is None or (isinstance(c, list) and len(c) == len(value["fpr"])) for c in value["tpr"])
            and (value.get("macro_auc") is None or isinstance(value.get("macro_auc"), (int, float))))


def _macro_auc(run):
    value = run.analysis.get("roc")
    return number(value.get("macro_auc")) if isinstance(value, dict) else None


def _curves(model) -> tuple[np.ndarray, np.ndarray, list] | None:
    """(fpr grid, the mean TPR per class over the model's seeds, the mean AUC per class)."""
    stored = [r.analysis.get("roc") for r in model.done]
    stored = [v for v in stored if isinstance(v, dict) and check(v)]
    if not stored:
        return None
    fpr = np.asarray(stored[0]["fpr"], dtype=float)
    classes = len(stored[0]["auc"])
    stored = [v for v in stored if len(v["auc"]) == classes and len(v["fpr"]) == len(fpr)]
    tpr = np.full((classes, len(fpr)), np.nan)
    aucs = []
    for k in range(classes):
        curves = [v["tpr"][k] for v in stored if v["tpr"][k] is not None]
        if curves:
            tpr[k] = np.mean(curves, axis=0)
        values = [v["auc"][k] for v in stored if v["auc"][k] is not None]
        aucs.append(float(np.mean(values)) if values else None)
    return fpr, tpr, aucs


def plot(items: list[tuple[str, np.ndarray, np.ndarray]]) -> plots.Figure:
    """One panel per model: each class's ROC curve (one against the rest), mean over seeds."""
    rows, cols = plots.grid(len(items), 3)
    fig = plots.figure(figsize=(3.4 * cols + 1, 3.2 * rows), layout="constrained")
    axes = np.atleast_1d(fig.subplots(rows, cols, squeeze=False)).ravel()
    for ax, (label, fpr, tpr) in zip(axes, items):
        for k, curve in enumerate(tpr):
            if not np.isnan(curve).all():
                ax.plot(fpr, curve, linewidth=1, color=plots.color(k), label=str(k))
        ax.plot([0, 1], [0, 1], color="0.6", linewidth=0.75, linestyle="--")
        ax.set(xlabel="false-positive rate", ylabel="true-positive rate", title=plots.literal(label),
               xlim=(0, 1), ylim=(0, 1.01))
        ax.title.set_fontsize(9)
    for ax in axes[len(items):]:
        ax.set_visible(False)
    if items:
        axes[0].legend(fontsize=6, title="class", title_fontsize=6, loc="lower right")
    return fig


def section(study, dpi: int) -> Section:
    s = Section(TITLE)
    found = [(m, c) for m in by_test_accuracy(study.models) for c in [_curves(m)] if c]
    if not found:
        return not_measured(s, "ROC curves")
    items = [(f"{m.label} ({len(m.values('macro_auc'))} seeds)", fpr, tpr) for m, (fpr, tpr, _) in found]
    s.add(image("roc_curves.png", plot(items), dpi,
                "One-vs-rest ROC curve of each class on the test images, mean over seeds, per model"))
    classes = max(len(aucs) for _, (_, _, aucs) in found)
    header = ["Model", "Macro AUC (mean ± sd)", *(f"class {k}" for k in range(classes))]
    rows = [[m.label, fmt.mean_std(summarize(m.values("macro_auc")), digits=4),
             *("-" if a is None else f"{a:.4f}" for a in aucs)] for m, (_, _, aucs) in found]
    s.add(Table(header, rows, caption="AUC of each class against the rest, mean over seeds"))
    s.add(Paragraph("Each class against all the others, scored by the model's probability of that class on the "
                    "test images (scikit-learn's roc_curve and roc_auc_score); the macro AUC is the mean over "
                    "classes, a metric questions and 'cnnlab compare' can use (macro_auc).", note=True))
    return s


def findings(study) -> list[str]:
    ext = extremes(study.models, "macro_auc")
    if not ext:
        return []
    lo, lo_v, hi, hi_v = ext
    return [f"The macro AUC (mean over seeds) ranges from {lo_v:.4f} ({lo.label}) to {hi_v:.4f} ({hi.label})."]


def evidence(models) -> list[str]:
    parts = [f"{m.label} {summarize(m.values('macro_auc')).mean:.4f}" for m in models if m.values("macro_auc")]
    return [f"Macro ROC AUC on the test images (mean over seeds): {', '.join(parts)}."] if parts else []


def example(run):
    grid = np.linspace(0, 1, 101)
    auc = [min(1.0, 0.9 + 0.1 * run.final_acc - 0.01 * run.rng.random()) for _ in range(10)]
    tpr = [list(np.minimum(1.0, grid ** (1 - a) + 0.0)) for a in auc]
    return {"classes": 10, "auc": auc, "macro_auc": float(np.mean(auc)), "fpr": list(grid),
            "tpr": [[float(v) for v in c] for c in tpr]}


register_analysis(Analysis(
    name="roc",
    description="one-vs-rest ROC curves and AUC per class, and the macro AUC, on the test images",
    measure=measure, check=check, title=TITLE, section=section, findings=findings, evidence=evidence,
    metrics=(Metric("macro_auc", "macro ROC AUC (one class against the rest, mean over classes)", _macro_auc,
                    "fraction"),),
    summary_columns=(Column("Macro AUC", "macro_auc", lambda v: f"{v:.4f}", "macro ROC AUC"),),
    order=125, example=example))
