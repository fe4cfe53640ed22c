"""Gradient flow: per-layer gradient norms while the run trains, to see vanishing or exploding gradients.

A `GradFlowRecorder` (cnnlab.analyses.grad_flow.measure) records every `grad_flow_every` steps
(about 100 snapshots per run unless the study sets it); the stored value is its summary
(first and last logged step, flags) plus the whole record for the plots over time.
"""

from __future__ import annotations  # annotations name plots.Figure, made when first used

import math

import numpy as np

from cnnlab.numeric import number
from cnnlab.plugins import Analysis, Metric, register_analysis
from cnnlab.report import fmt, plots
from cnnlab.document import Paragraph, Section, Table
from cnnlab.report.sections import first_done, image, not_measured

TITLE = "Gradient flow"
SNAPSHOTS = 100  # gradient-flow snapshots per run when the study does not set grad_flow_every


def train_settings(config, total_steps: int) -> dict:
    return {} if config.grad_flow_every else {"grad_flow_every": max(1, total_steps // SNAPSHOTS)}


def recorder(config):
    from cnnlab.analyses.grad_flow.measure import GradFlowRecorder  # torch: loaded when a run trains, not to list analyses

    return GradFlowRecorder(every=config.grad_flow_every)


def measure(run):
    rec = run.recorders["grad_flow"]
    return {**rec.summary(), "steps": list(rec.steps), "grad_norm": [list(r) for r in rec.grad_norm],
            "shapes": list(rec.shapes)}


def check(value) -> bool:
    return isinstance(value, dict) and all(k in value for k in ("names", "layer_names", "steps", "grad_norm",
                                                                "first", "last"))


def _float_row(row) -> list[float]:
    return [math.nan if number(v) is None else float(v) for v in (row or [])]


def view(gf) -> dict | None:
    """Per-layer gradient norms of the weight tensors (conv kernels, linear matrices) from
    the stored value: {"layers", "steps", "matrix" (steps x layers, NaN where unknown),
    "first", "last" (per-layer lists), "first_step", "last_step", "ratio_first",
    "ratio_last", "vanishing", "exploding"}, or None if nothing was logged."""
    if not isinstance(gf, dict) or not gf.get("first"):
        return None
    names = gf.get("names") or []
    keep = [names.index(w) for w in gf.get("layer_names") or [] if w in names]
    if not keep:
        return None

    def pick(row):
        values = _float_row(row)
        return [values[j] if j < len(values) else math.nan for j in keep]

    history, steps = gf.get("grad_norm") or [], gf.get("steps") or []
    first, last = gf["first"], gf["last"]
    return {"layers": [names[j] for j in keep], "steps": steps,
            "matrix": np.array([pick(r) for r in history], dtype=float) if history else None,
            "first": pick(first["grad_norm"]), "last": pick(last["grad_norm"]),
            "first_step": first.get("step"), "last_step": last.get("step"),
            "ratio_first": number(first.get("ratio_first_last")), "ratio_last": number(last.get("ratio_first_last")),
            "vanishing": gf.get("vanishing"), "exploding": gf.get("exploding")}


def _of_run(run):
    return view(run.analysis.get("grad_flow"))


def _first_layer(which: str):
    """Input-side weight layer's gradient norm at the first or last logged step."""
    def read(run):
        v = _of_run(run)
        values = v.get(which) if v else None
        return number(values[0]) if values else None
    return read


def plot_lines(items: list[tuple[str, int, dict]]) -> plots.Figure:
    """Per-layer gradient norm (weight tensors, input to output) at the first and last logged step."""
    fig = plots.figure(figsize=(7.5, 4.2), layout="constrained")
    ax = fig.subplots()
    for label, index, v in items:
        for which, dash in (("first", "--"), ("last", "-")):
            values = np.array(v.get(which) or [], dtype=float)
            if values.size and np.any(np.isfinite(values) & (values > 0)):
                values = np.where(values > 0, values, np.nan)
                step = v.get(f"{which}_step")
                ax.plot(np.arange(1, len(values) + 1), values, linestyle=dash, marker="o", markersize=3,
                        color=plots.color(index), label=f"{plots.literal(label)}, step {step}")
    if ax.has_data():
        ax.set_yscale("log")
        ax.legend(fontsize=7)
    ax.set(xlabel="layer (weight tensor, input → output)", ylabel="gradient L2 norm",
           title="Gradient norm per layer: first logged step (dashed) vs last (solid)")
    ax.title.set_fontsize(9)
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.grid(alpha=0.3, which="both")
    return fig


def plot_heatmaps(items: list[tuple[str, dict]]) -> plots.Figure:
    """Layer x step heatmap of gradient norms (log colour scale), one panel per model."""
    from matplotlib.colors import LogNorm

    items = [(label, v) for label, v in items if v.get("matrix") is not None and v["matrix"].size]
    fig = plots.figure(figsize=(9, 2.8 * len(items) + 0.5), layout="constrained")
    axes = np.atleast_1d(fig.subplots(len(items), 1, squeeze=False)).ravel()
    # One colour scale for all models, so a deeper net's fainter gradients look fainter.
    positive = np.concatenate([v["matrix"][np.isfinite(v["matrix"]) & (v["matrix"] > 0)] for _, v in items])
    norm = LogNorm(vmin=positive.min(), vmax=positive.max()) if positive.size else None
    for ax, (label, v) in zip(axes, items):
        data = v["matrix"].T  # layers x steps
        layers = np.arange(1, data.shape[0] + 1)
        # pcolormesh with "nearest" shading puts each cell on its step, even if steps are uneven.
        im = ax.pcolormesh(np.asarray(v["steps"], dtype=float), layers,
                           np.ma.masked_invalid(np.where(data > 0, data, np.nan)),
                           cmap="magma", norm=norm, shading="nearest")
        ax.invert_yaxis()  # input layer on top
        ax.xaxis.get_major_locator().set_params(integer=True)
        if len(layers) <= 16:
            ax.set_yticks(layers, [plots.literal(n.removesuffix(".weight")[-24:]) for n in v["layers"]], fontsize=6)
        ax.set(xlabel="training step", ylabel="layer (input → output)", title=plots.literal(label))
        ax.title.set_fontsize(9)
        fig.colorbar(im, ax=ax, label="gradient L2 norm")
    return fig


def section(study, dpi: int) -> Section:
    s = Section(TITLE)
    lines, maps, rows = [], [], []
    for m in study.models:
        v, seed = first_done(m, _of_run)
        if not v:
            continue
        label = f"{m.label}, seed {seed}"
        lines.append((label, m.index, v))
        maps.append((label, v))
        rows.append([m.label, str(len(v["layers"])),
                     fmt.sci(v["first"][0] if v["first"] else None),
                     fmt.sci(v["first"][-1] if v["first"] else None),
                     fmt.sci(v["last"][0] if v["last"] else None),
                     fmt.sci(v["last"][-1] if v["last"] else None),
                     fmt.sci(v["ratio_first"]), fmt.sci(v["ratio_last"]),
                     "yes" if v.get("vanishing") else "no", "yes" if v.get("exploding") else "no"])
    if not lines:
        return not_measured(s, "per-layer gradient norms")
    s.add(Table(["Model", "Weight layers", "First layer, start", "Last layer, start", "First layer, end",
                 "Last layer, end", "First/last ratio, start", "First/last ratio, end", "Vanishing",
                 "Exploding"], rows, caption="Gradient L2 norms of the weight tensors (lowest seed)."))
    s.add(Paragraph("Start and end are the first and last logged training steps. Vanishing: first/last-layer "
                    "ratio below 1e-3 or a layer norm below 1e-7 at any logged step; exploding: a norm above "
                    "1e3 or not finite.", note=True))
    s.add(image("grad_flow_layers.png", plot_lines(lines), dpi,
                "Gradient norm per layer at the first and last logged step"))
    if any(v.get("matrix") is not None for _, v in maps):
        s.add(image("grad_flow_heatmap.png", plot_heatmaps(maps), dpi,
                    "Heatmap of gradient norm per layer and training step"))
    return s


def findings(study) -> list[str]:
    out = []
    for m in study.models:
        views = [v for v in (_of_run(r) for r in m.done) if v]
        if not views:
            continue
        vanishing = sum(bool(v.get("vanishing")) for v in views)
        exploding = sum(bool(v.get("exploding")) for v in views)
        flags = []
        if vanishing:
            flags.append(f"vanishing gradients in {vanishing} of {len(views)} runs")
        if exploding:
            flags.append(f"exploding gradients in {exploding} of {len(views)} runs")
        if flags:
            out.append(f"{m.label}: " + " and ".join(flags) + " (thresholds in the Gradient flow section).")
    return out


def _line(m) -> str | None:
    runs = [v for v in (_of_run(r) for r in m.done) if v]
    if not runs:
        return None
    v = runs[0]
    first = v["first"][0] if v["first"] else None
    last = v["last"][0] if v["last"] else None
    flags = [f"{word} in {n} of {len(runs)} runs" for word, n in
             (("vanishing", sum(bool(r.get("vanishing")) for r in runs)),
              ("exploding", sum(bool(r.get("exploding")) for r in runs))) if n]
    return (f"{m.label}: first-layer gradient norm {fmt.sci(first)} at step {v['first_step']} and "
            f"{fmt.sci(last)} at step {v['last_step']}, first/last-layer ratio {fmt.sci(v['ratio_first'])} → "
            f"{fmt.sci(v['ratio_last'])} ({'; '.join(flags) if flags else 'neither vanishing nor exploding'})")


def evidence(models) -> list[str]:
    """One sentence on the gradient flow of `models` (lowest seed each), for an answer."""
    lines = [line for line in (_line(m) for m in models) if line]
    if not lines:
        return []
    return ["Gradient flow (lowest seed; vanishing: first/last-layer ratio below 1e-3 or a norm below 1e-7 at a "
            "logged step, exploding: a norm above 1e3): " + "; ".join(lines) + "."]


def example(run):
    names = ["conv1.weight", "conv1.bias", "conv2.weight", "fc.weight", "fc.bias"]
    shapes = [[4, 1, 3, 3], [4], [8, 4, 3, 3], [10, 72], [10]]
    steps = list(range(0, 50, 5))
    history = [[float(10 ** (-1 - j - 0.1 * i)) for j in range(len(names))] for i in range(len(steps))]

    def point(i):
        return {"step": steps[i], "grad_norm": history[i], "grad_abs_mean": history[i],
                "weight_norm": [1.0] * len(names), "first_layer_grad_norm": history[i][0],
                "last_layer_grad_norm": history[i][3], "ratio_first_last": history[i][0] / history[i][3],
                "vanishing": False, "exploding": False}
    return {"names": names, "layer_names": ["conv1.weight", "conv2.weight", "fc.weight"],
            "logged_steps": len(steps), "first": point(0), "last": point(-1), "vanishing": False, "exploding": False,
            "vanishing_steps": [], "exploding_steps": [], "steps": steps, "grad_norm": history, "shapes": shapes}


register_analysis(Analysis(
    name="grad_flow",
    description="per-layer gradient norms during training (vanishing and exploding gradients)",
    measure=measure, check=check, after_divergence=True, train_settings=train_settings, recorder=recorder,
    metrics=(Metric("grad_first_start", "gradient norm at start", _first_layer("first")),
             Metric("grad_first_end", "gradient norm at end", _first_layer("last"))),
    title=TITLE, section=section, findings=findings, evidence=evidence, order=130, example=example))
