"""Theoretical receptive field of every layer, traced from one forward pass
(cnnlab.analyses.receptive_field.measure): the input pixels one unit can see, and its stride (jump)."""

from __future__ import annotations  # annotations name plots.Figure, made when first used

import numpy as np

from cnnlab.numeric import number
from cnnlab.plugins import Analysis, Metric, register_analysis
from cnnlab.report import fmt, plots
from cnnlab.document import Section, Table
from cnnlab.report.sections import first_done, image, not_measured

TITLE = "Receptive fields"
WINDOW_TYPES = ("conv", "pool")


def measure(run):
    from cnnlab.analyses.receptive_field.measure import receptive_field

    return receptive_field(run.model, run.data.in_shape)


def check(value) -> bool:
    return isinstance(value, dict) and all(k in value for k in ("in_shape", "layers", "output"))


def _axis_value(v) -> int | None:
    """A receptive field is a per-axis list; summarise it by its largest axis."""
    nums = [number(x) for x in v] if isinstance(v, (list, tuple)) else []
    return int(max(nums)) if nums and None not in nums else None


def _axis_text(v) -> str:
    if isinstance(v, (list, tuple)) and v:
        if len(set(v)) == 1:
            return f"{v[0]}×{v[0]}" if len(v) == 2 else str(v[0])
        return "×".join(str(x) for x in v)
    return "—" if v is None else str(v)


def view(rf) -> list[dict] | None:
    """Rows {"layer", "type", "out_shape", "rf" (largest axis, int), "rf_text", "jump_text"}
    of a stored value's {"layers": [...]}."""
    layers = rf.get("layers") if isinstance(rf, dict) else None
    if not isinstance(layers, list):
        return None
    rows = []
    for row in layers:
        if not isinstance(row, dict):
            continue
        shape = row.get("out_shape")
        rows.append({"layer": str(row.get("name", "?")), "type": str(row.get("type", "")),
                     "out_shape": "×".join(str(s) for s in shape) if isinstance(shape, list) else "",
                     "rf": _axis_value(row.get("rf")), "rf_text": _axis_text(row.get("rf")),
                     "jump_text": _axis_text(row.get("jump")) if row.get("jump") is not None else "mixed"})
    return rows or None


def features_rf(rows: list[dict]) -> int | None:
    """The theoretical field (largest axis) at the output of the model's `features`: the
    last layer inside it in execution order, where the effective field is measured too."""
    inside = [r for r in rows if (r["layer"] == "features" or r["layer"].startswith("features."))
              and r["rf"] is not None]
    return inside[-1]["rf"] if inside else None


def last_spatial_layer(rows: list[dict]) -> dict | None:
    """The last layer in execution order whose units still have positions (a jump): where the
    theoretical field stops growing by windows, before flatten or global pooling mixes
    positions. None for a net without one (a fully connected net)."""
    spatial = [r for r in rows if r["rf"] is not None and r["jump_text"] != "mixed" and not _global_pool(r)]
    return spatial[-1] if spatial else None


def _global_pool(row: dict) -> bool:
    """A pooling layer with a single output position. Records from before the tracer marked
    global pooling as mixing positions still give it a jump."""
    grid = row["out_shape"].split("×")[1:]
    return "pool" in row["type"].lower() and bool(grid) and all(g == "1" for g in grid)


def of_run(run) -> list[dict] | None:
    return view(run.analysis.get("receptive_field"))


def _features_rf(run):
    rows = of_run(run)
    return number(features_rf(rows)) if rows else None


def plot(items: list[tuple[str, int, list[dict]]]) -> plots.Figure:
    """Receptive field (largest axis, input pixels) after each layer, until positions get mixed."""
    fig = plots.figure(figsize=(7.5, 4.2), layout="constrained")
    ax = fig.subplots()
    for label, index, rows in items:
        values = [r["rf"] for r in rows if r["rf"] is not None and r["jump_text"] != "mixed"]
        if values:
            ax.step(np.arange(1, len(values) + 1), values, where="post", color=plots.color(index),
                    label=plots.literal(label))
            ax.plot(len(values), values[-1], "o", color=plots.color(index), markersize=4)
    ax.set(xlabel="layer (execution order)", ylabel="receptive field (pixels)",
           title="Receptive-field growth")
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.grid(alpha=0.3)
    if ax.has_data():
        ax.legend(fontsize=8)
    return fig


def section(study, dpi: int) -> Section:
    s = Section(TITLE)
    items, summary_rows, details = [], [], []
    for m in study.models:
        rows, _ = first_done(m, of_run)
        if not rows:
            continue
        items.append((m.label, m.index, rows))
        window = [r for r in rows if any(t in r["type"].lower() for t in WINDOW_TYPES)]
        last = last_spatial_layer(rows)
        if last is not None:
            summary_rows.append([m.label, last["rf_text"], last["jump_text"], last["layer"]])
        else:  # a fully connected net: its first layer already sees every pixel
            whole = next((r["rf_text"] for r in rows if r["rf"] is not None), fmt.DASH)
            summary_rows.append([m.label, f"{whole} (whole input: no convolution)", fmt.DASH, fmt.DASH])
        if window:
            details.append((m, window))
    if not items:
        return not_measured(s, "receptive fields")
    s.add(Table(["Model", "Receptive field of the last spatial layer", "Its stride (jump)", "Layer"], summary_rows,
                caption="Theoretical receptive field in input pixels, before positions are mixed "
                        "(flatten or global pooling)."))
    s.add(image("receptive_field_growth.png", plot(items), dpi, "Receptive field after each layer"))
    for m, rows in details:
        s.add(Table(["Layer", "Type", "Output shape", "Receptive field", "Jump"],
                    [[r["layer"], r["type"], r["out_shape"], r["rf_text"], r["jump_text"]] for r in rows[:60]],
                    caption=f"{m.label}: convolution and pooling layers"))
    return s


def example(run):
    return {"in_shape": [1, 8, 8], "output": {"rf": [8, 8], "jump": None, "start": [3.5, 3.5]},
            "layers": [{"name": "conv1", "type": "Conv2d", "out_shape": [4, 8, 8], "rf": [3, 3], "jump": [1, 1],
                        "start": [0, 0]},
                       {"name": "pool", "type": "MaxPool2d", "out_shape": [4, 4, 4], "rf": [4, 4], "jump": [2, 2],
                        "start": [0.5, 0.5]},
                       {"name": "features.conv2", "type": "Conv2d", "out_shape": [8, 4, 4], "rf": [8, 8],
                        "jump": [2, 2], "start": [0.5, 0.5]},
                       {"name": "fc", "type": "Linear", "out_shape": [10], "rf": [14, 14], "jump": None,
                        "start": [3.5, 3.5]}]}


register_analysis(Analysis(
    name="receptive_field",
    description="theoretical receptive field and jump of every layer",
    measure=measure, check=check,
    metrics=(Metric("features_rf", "theoretical receptive field at the features output", _features_rf, "px"),),
    title=TITLE, section=section, order=150, example=example))
