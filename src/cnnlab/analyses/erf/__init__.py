"""Effective receptive field (Luo et al. 2016) of the centre unit of the last feature map,
next to the theoretical field at the same place (the receptive_field analysis)."""

from __future__ import annotations  # annotations name plots.Figure, made when first used

import numpy as np

from cnnlab.analyses.receptive_field import features_rf
from cnnlab.analyses.receptive_field import of_run as receptive_field_rows
from cnnlab.numeric import number
from cnnlab.plugins import Analysis, Metric, register_analysis
from cnnlab.report import fmt, plots
from cnnlab.document import Paragraph, Section, Table
from cnnlab.results import stored_matrix
from cnnlab.report.sections import first_done, image, not_measured
from cnnlab.stats.summary import summarize

TITLE = "Effective receptive fields"


def measure(run):
    from cnnlab.analyses.erf.measure import features_erf

    return features_erf(run.model, run.data.in_shape, run.precision)


def check(value) -> bool:
    return isinstance(value, dict) and all(k in value for k in ("layer", "map", "side", "fraction"))


def view(e) -> dict | None:
    """{"map" (H x W array summing to 1), "side", "center", "unit", "fraction"} of a stored
    value, or None when nothing was measured (no feature map)."""
    heat = stored_matrix(e, "map")
    if heat is None:
        return None
    return {"map": heat, "side": number(e.get("side")), "center": e.get("center"), "unit": e.get("unit"),
            "fraction": number(e.get("fraction"))}


def _erf_side(run):
    v = view(run.analysis.get("erf"))
    return v["side"] if v else None


def plot(items: list[tuple[str, dict, int | None]]) -> plots.Figure:
    """One heat map per model: how much each input pixel moves the centre unit of the
    `features` output (share of the gradient mass, log colour scale), with the square that
    holds 95% of it (solid) and the theoretical field (dashed; clipped at the image edge).
    `items`: (label, `view`, theoretical field in pixels)."""
    from matplotlib.colors import LogNorm

    from matplotlib.patches import Rectangle

    rows, cols = plots.grid(len(items), 4)
    fig = plots.figure(figsize=(3.0 * cols, 3.1 * rows), layout="constrained")
    axes = np.atleast_1d(fig.subplots(rows, cols, squeeze=False)).ravel()
    positive = np.concatenate([v["map"][v["map"] > 0] for _, v, _ in items])
    norm = LogNorm(vmin=max(positive.min(), positive.max() * 1e-4), vmax=positive.max()) if positive.size else None
    for ax, (label, v, theoretical) in zip(axes, items):
        heat = v["map"]
        im = ax.imshow(np.ma.masked_where(heat <= 0, heat), cmap="magma", norm=norm, interpolation="nearest")
        r, c = v["center"] if v.get("center") else (heat.shape[0] // 2, heat.shape[1] // 2)
        for side, style, name in ((v.get("side"), "-", "95% of the mass"), (theoretical, "--", "theoretical")):
            if side:
                ax.add_patch(Rectangle((c - side / 2, r - side / 2), side, side, fill=False, edgecolor="#35b779",
                                       linestyle=style, linewidth=1.2, label=f"{name}: {side:.0f} px"))
        ax.set_xlim(-0.5, heat.shape[1] - 0.5)
        ax.set_ylim(heat.shape[0] - 0.5, -0.5)
        ax.set_title(plots.literal(label), fontsize=9)
        ax.tick_params(labelsize=6)
        ax.legend(fontsize=6, loc="lower left", framealpha=0.8)
    for ax in axes[len(items):]:
        ax.set_visible(False)
    fig.colorbar(im, ax=list(axes[:len(items)]), shrink=0.8, label="share of |∂ centre unit / ∂ pixel|")
    fig.suptitle("Effective receptive field of the centre unit of the last feature map", fontsize=9)
    return fig


def section(study, dpi: int) -> Section:
    s = Section(TITLE)
    rows, items, without = [], [], []
    for m in study.models:
        views = [(r.seed, view(r.analysis.get("erf"))) for r in m.done if "erf" in r.analysis]
        if not views:
            continue
        measured = [(seed, v) for seed, v in views if v is not None]
        if not measured:
            without.append(m.label)
            continue
        theory, _ = first_done(m, lambda r: features_rf(receptive_field_rows(r) or []))
        seed, first = measured[0]
        items.append((f"{m.label} (seed {seed})", first, theory))
        sides = ", ".join(fmt.DASH if v["side"] is None else f"{v['side']:.0f}" for _, v in measured)
        size = "×".join(str(n) for n in first["map"].shape)
        rows.append([m.label, f"{theory} px" if theory else fmt.DASH, f"{sides} px", size])
    if not rows and not without:
        return not_measured(s, "effective receptive fields")
    if rows:
        s.add(Table(["Model", "Theoretical field at the features output",
                     "Effective field: side holding 95% (per seed)", "Input"], rows,
                    caption="Effective receptive field (Luo et al. 2016) of the centre unit of the last feature map."))
        s.add(image("effective_receptive_fields.png", plot(items), dpi,
                    "Effective receptive field per model: share of the input-gradient mass of the centre unit "
                    "(lowest seed), with the 95% square (solid) and the theoretical field (dashed)"))
        s.add(Paragraph("The effective field is measured on the trained model: the gradient of the centre unit "
                        "of the 'features' output (all channels) with respect to 16 random inputs, averaged in "
                        "absolute value; its side is that of the smallest centred square holding 95% of it. "
                        "The theoretical field counts every pixel the unit could see.", note=True))
    if without:
        s.add(Paragraph(f"No effective receptive field for: {', '.join(without)} (their features are not a "
                        "feature map).", note=True))
    return s


def evidence(models) -> list[str]:
    """[summary, detail]: the effective vs the theoretical receptive field at the output of
    `features`, both measured (analyses "erf" and "receptive_field")."""
    rows = [(m, summarize(m.values("features_rf")).mean, summarize(m.values("erf_side")).mean) for m in models]
    rows = [(m, rf, erf) for m, rf, erf in rows if rf and erf]
    if not rows:
        return []
    smaller = [m for m, rf, erf in rows if erf < rf]
    if len(smaller) == len(rows):
        summary = (f"The effective receptive field is smaller than the theoretical one in every model "
                   f"({min(erf / rf for _, rf, erf in rows):.0%} to {max(erf / rf for _, rf, erf in rows):.0%} of "
                   "its side): the pixels near the centre dominate.")
    else:
        summary = (f"The effective receptive field is smaller than the theoretical one in {len(smaller)} of "
                   f"{len(rows)} models.")
    same = [m for m, _, _ in sorted(rows, key=lambda r: r[1])] == [m for m, _, _ in sorted(rows, key=lambda r: r[2])]
    detail = ("Receptive field of the centre unit of the last feature map, effective (side of the centred square "
              "holding 95% of the input-gradient mass, mean over seeds) vs theoretical: "
              + ", ".join(f"{m.label} {erf:.0f} vs {rf:.0f} px" for m, rf, erf in rows) + ". The effective fields "
              + ("grow in the same order as the theoretical ones." if same else
                 "do not follow the order of the theoretical ones."))
    return [summary, detail]


def example(run):
    import numpy as np

    heat = np.outer(np.hanning(8), np.hanning(8)) + 1e-3
    return {"layer": "features", "map": (heat / heat.sum()).tolist(), "center": [4, 4], "side": 5, "fraction": 0.95,
            "batch_size": 16, "unit": [1, 1]}


register_analysis(Analysis(
    name="erf",
    description="effective receptive field of the centre unit of the last feature map",
    measure=measure, check=check,
    metrics=(Metric("erf_side", "side of the square holding 95% of the effective receptive field", _erf_side,
                    "px"),),
    title=TITLE, section=section, evidence=evidence, order=155, example=example))
