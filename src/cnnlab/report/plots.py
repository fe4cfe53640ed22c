"""The report's plots: one function per plot, each returning a matplotlib `Figure`;
`png(figure, dpi)` turns one into the PNG bytes the report embeds.

We build `matplotlib.figure.Figure` objects directly instead of going through pyplot:
no global backend to switch, no figure registry to leak memory into, and it works the
same in a headless runner, a test or a notebook. PNG output always uses the Agg renderer.
Jupyter shows a bare Figure only once pyplot's inline backend has registered a display
hook, so ours carry their own `_repr_png_` and render inline in a fresh kernel.

Every model keeps one colour in every plot (its position in the study), train curves are
dashed and test curves solid, and bands show ± one standard deviation over seeds.
"""

import io
import math
import warnings

import numpy as np
from matplotlib.ticker import NullFormatter
from matplotlib import colormaps
from matplotlib.colors import LogNorm
from matplotlib import figure

from cnnlab.report.load import ModelResults

DPI = 110


class Figure(figure.Figure):
    """A matplotlib Figure that a notebook displays as a PNG without `%matplotlib inline`.
    (Where the inline backend is active, its own display hook for Figure takes precedence.)"""

    def _repr_png_(self) -> bytes:
        return png(self)


def color(index: int):
    cmap = colormaps["tab10"] if index < 10 else colormaps["tab20"]
    return cmap(index % cmap.N)


def _t(text) -> str:
    """User text (model labels, class and layer names) shown literally: a "$" would
    otherwise start matplotlib math mode (an unbalanced one fails the whole plot), and a
    leading "_" would hide the entry from the legend."""
    text = str(text).replace("$", r"\$")
    return " " + text if text.startswith("_") else text


def png(fig: Figure, dpi: int = DPI) -> bytes:
    """The figure as PNG bytes at `dpi` dots per inch."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)  # constrained layout already fits the labels
    return buf.getvalue()


def _stack(curves: list[list]) -> np.ndarray:
    """Seeds x epochs, NaN-padded: runs of different lengths still average epoch by epoch."""
    n = max((len(c) for c in curves), default=0)
    out = np.full((len(curves), n), np.nan)
    for i, c in enumerate(curves):
        out[i, :len(c)] = [np.nan if v is None else v for v in c]
    return out


def _mean_band(ax, x, stack: np.ndarray, scale: float, **style):
    """Plot the mean over seeds and shade ± 1 std where there are at least two seeds."""
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # "mean of empty slice" for all-NaN epochs
        mean = np.nanmean(stack, axis=0) * scale
        counts = np.sum(~np.isnan(stack), axis=0)
        std = np.where(counts >= 2, np.nanstd(stack, axis=0, ddof=1), np.nan) * scale
    line, = ax.plot(x, mean, marker="o" if len(x) <= 12 else None, markersize=3, **style)
    if np.any(np.isfinite(std)):
        ax.fill_between(x, mean - std, mean + std, color=line.get_color(), alpha=0.15, linewidth=0)
    return line


def _curves(model: ModelResults, key: str) -> np.ndarray:
    return _stack([r.curve(key) for r in model.done])


def learning_curves(models: list[ModelResults]) -> Figure:
    fig = Figure(figsize=(11, 4.2), layout="constrained")
    ax_loss, ax_acc = fig.subplots(1, 2)
    for m in models:
        for key, ax, scale in (("loss", ax_loss, 1.0), ("acc", ax_acc, 100.0)):
            for split, dash in (("train", "--"), ("test", "-")):
                stack = _curves(m, f"{split}_{key}")
                if stack.size:
                    x = np.arange(1, stack.shape[1] + 1)
                    _mean_band(ax, x, stack, scale, color=color(m.index), linestyle=dash,
                               label=f"{_t(m.label)} ({split})")
    ax_loss.set(xlabel="epoch", ylabel="cross-entropy loss", title="Loss")
    ax_acc.set(xlabel="epoch", ylabel="accuracy (%)", title="Accuracy")
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
        ax.xaxis.get_major_locator().set_params(integer=True)
    ax_acc.legend(fontsize=7, loc="best")
    fig.suptitle("Learning curves: mean over seeds, band = ± 1 std (dashed = train, solid = test)", fontsize=9)
    return fig


def train_test_gap(models: list[ModelResults]) -> Figure:
    fig = Figure(figsize=(6.5, 4), layout="constrained")
    ax = fig.subplots()
    for m in models:
        stack = _stack([[None if a is None or b is None else a - b for a, b in zip(r.curve("train_acc"),
                                                                                   r.curve("test_acc"))]
                        for r in m.done])
        if stack.size:
            _mean_band(ax, np.arange(1, stack.shape[1] + 1), stack, 100.0, color=color(m.index), label=_t(m.label))
    ax.axhline(0, color="0.5", linewidth=0.8)
    ax.set(xlabel="epoch", ylabel="train − test accuracy (points)", title="Train–test gap per epoch")
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return fig


def accuracy_vs_cost(models: list[ModelResults]) -> Figure:
    """Test accuracy (mean ± std) against parameter count and against training time."""
    fig = Figure(figsize=(11, 4.2), layout="constrained")
    axes = fig.subplots(1, 2)
    for ax, metric, xlabel, log in ((axes[0], "params", "parameters", True),
                                    (axes[1], "train_seconds", "training time (s)", False)):
        for m in models:
            acc = np.array(m.values("test_acc")) * 100
            cost = np.array(m.values(metric))
            if not len(acc) or not len(cost):
                continue
            x, y = float(np.mean(cost)), float(np.mean(acc))
            xerr = float(np.std(cost, ddof=1)) if len(cost) > 1 else None
            yerr = float(np.std(acc, ddof=1)) if len(acc) > 1 else None
            ax.errorbar(x, y, xerr=xerr, yerr=yerr, fmt="o", color=color(m.index), capsize=3, label=_t(m.label))
            ax.annotate(_t(m.label), (x, y), textcoords="offset points", xytext=(5, 4), fontsize=7)
        if log and ax.has_data():
            ax.set_xscale("log")
            ax.xaxis.set_minor_formatter(NullFormatter())  # minor labels collide on short ranges
        ax.margins(x=0.15, y=0.1)  # room for the point labels
        ax.set(xlabel=xlabel, ylabel="test accuracy (%)")
        ax.grid(alpha=0.3, which="both")
    axes[0].set_title("Accuracy vs parameters")
    axes[1].set_title("Accuracy vs training time")
    return fig


def _grid(n: int, ncols: int):
    ncols = max(1, min(ncols, n))
    return math.ceil(n / ncols), ncols


def confusion_matrices(items: list[tuple[str, np.ndarray, list[str]]]) -> Figure:
    """One panel per model: rows = true class, normalised to sum to 100 %."""
    rows, cols = _grid(len(items), 3)
    k = max(m.shape[0] for _, m, _ in items)
    side = 3.2 if k <= 10 else 4.5
    fig = Figure(figsize=(side * cols + 1, side * rows), layout="constrained")
    axes = np.atleast_1d(fig.subplots(rows, cols, squeeze=False)).ravel()
    for ax, (label, matrix, classes) in zip(axes, items):
        totals = matrix.sum(axis=1, keepdims=True)
        frac = np.divide(matrix, totals, out=np.zeros_like(matrix, dtype=float), where=totals > 0) * 100
        im = ax.imshow(frac, cmap="Blues", vmin=0, vmax=100)
        n = len(classes)
        ticks = range(n) if n <= 20 else range(0, n, max(1, n // 10))
        ax.set_xticks(list(ticks), [_t(classes[i][:10]) for i in ticks], rotation=90, fontsize=6)
        ax.set_yticks(list(ticks), [_t(classes[i][:10]) for i in ticks], fontsize=6)
        if n <= 10:
            for i in range(n):
                for j in range(n):
                    ax.text(j, i, f"{frac[i, j]:.0f}", ha="center", va="center", fontsize=5,
                            color="white" if frac[i, j] > 60 else "black")
        ax.set(xlabel="predicted", ylabel="true", title=_t(label))
        ax.title.set_fontsize(9)
    for ax in axes[len(items):]:
        ax.set_visible(False)
    fig.colorbar(im, ax=list(axes[:len(items)]), shrink=0.8, label="% of true class")
    return fig


def grad_flow_lines(items: list[tuple[str, int, dict]]) -> Figure:
    """Per-layer gradient norm (weight tensors, input to output) at the first and last logged step."""
    fig = Figure(figsize=(7.5, 4.2), layout="constrained")
    ax = fig.subplots()
    for label, index, view in items:
        for which, dash in (("first", "--"), ("last", "-")):
            values = np.array(view.get(which) or [], dtype=float)
            if values.size and np.any(np.isfinite(values) & (values > 0)):
                values = np.where(values > 0, values, np.nan)
                step = view.get(f"{which}_step")
                ax.plot(np.arange(1, len(values) + 1), values, linestyle=dash, marker="o", markersize=3,
                        color=color(index), label=f"{_t(label)}, step {step}")
    if ax.has_data():
        ax.set_yscale("log")
        ax.legend(fontsize=7)
    ax.set(xlabel="layer (weight tensor, input → output)", ylabel="gradient L2 norm",
           title="Gradient norm per layer: first logged step (dashed) vs last (solid)")
    ax.title.set_fontsize(9)
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.grid(alpha=0.3, which="both")
    return fig


def grad_flow_heatmaps(items: list[tuple[str, dict]]) -> Figure:
    """Layer x step heatmap of gradient norms (log colour scale), one panel per model."""
    items = [(label, v) for label, v in items if v.get("matrix") is not None and v["matrix"].size]
    fig = Figure(figsize=(9, 2.8 * len(items) + 0.5), layout="constrained")
    axes = np.atleast_1d(fig.subplots(len(items), 1, squeeze=False)).ravel()
    # One colour scale for all models, so a deeper net's fainter gradients look fainter.
    positive = np.concatenate([v["matrix"][np.isfinite(v["matrix"]) & (v["matrix"] > 0)] for _, v in items])
    norm = LogNorm(vmin=positive.min(), vmax=positive.max()) if positive.size else None
    for ax, (label, view) in zip(axes, items):
        data = view["matrix"].T  # layers x steps
        layers = np.arange(1, data.shape[0] + 1)
        # pcolormesh with "nearest" shading puts each cell on its step, even if steps are uneven.
        im = ax.pcolormesh(np.asarray(view["steps"], dtype=float), layers,
                           np.ma.masked_invalid(np.where(data > 0, data, np.nan)),
                           cmap="magma", norm=norm, shading="nearest")
        ax.invert_yaxis()  # input layer on top
        ax.xaxis.get_major_locator().set_params(integer=True)
        if len(layers) <= 16:
            ax.set_yticks(layers, [_t(n.removesuffix(".weight")[-24:]) for n in view["layers"]], fontsize=6)
        ax.set(xlabel="training step", ylabel="layer (input → output)", title=_t(label))
        ax.title.set_fontsize(9)
        fig.colorbar(im, ax=ax, label="gradient L2 norm")
    return fig


def receptive_field_growth(items: list[tuple[str, int, list[dict]]]) -> Figure:
    """Receptive field (largest axis, input pixels) after each layer, until positions get mixed."""
    fig = Figure(figsize=(7.5, 4.2), layout="constrained")
    ax = fig.subplots()
    for label, index, rows in items:
        values = [r["rf"] for r in rows if r["rf"] is not None and r["jump_text"] != "mixed"]
        if values:
            ax.step(np.arange(1, len(values) + 1), values, where="post", color=color(index), label=_t(label))
            ax.plot(len(values), values[-1], "o", color=color(index), markersize=4)
    ax.set(xlabel="layer (execution order)", ylabel="receptive field (pixels)",
           title="Receptive-field growth")
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.grid(alpha=0.3)
    if ax.has_data():
        ax.legend(fontsize=8)
    return fig


def effective_receptive_fields(items: list[tuple[str, dict, int | None]]) -> Figure:
    """One heat map per model: how much each input pixel moves the centre unit of the
    `features` output (share of the gradient mass, log colour scale), with the square that
    holds 95% of it (solid) and the theoretical field (dashed; clipped at the image edge).
    `items`: (label, erf view from `report.load.erf_view`, theoretical field in pixels)."""
    from matplotlib.patches import Rectangle

    rows, cols = _grid(len(items), 4)
    fig = Figure(figsize=(3.0 * cols, 3.1 * rows), layout="constrained")
    axes = np.atleast_1d(fig.subplots(rows, cols, squeeze=False)).ravel()
    positive = np.concatenate([v["map"][v["map"] > 0] for _, v, _ in items])
    norm = LogNorm(vmin=max(positive.min(), positive.max() * 1e-4), vmax=positive.max()) if positive.size else None
    for ax, (label, view, theoretical) in zip(axes, items):
        heat = view["map"]
        im = ax.imshow(np.ma.masked_where(heat <= 0, heat), cmap="magma", norm=norm, interpolation="nearest")
        r, c = view["center"] if view.get("center") else (heat.shape[0] // 2, heat.shape[1] // 2)
        for side, style, name in ((view.get("side"), "-", "95% of the mass"), (theoretical, "--", "theoretical")):
            if side:
                ax.add_patch(Rectangle((c - side / 2, r - side / 2), side, side, fill=False, edgecolor="#35b779",
                                       linestyle=style, linewidth=1.2, label=f"{name}: {side:.0f} px"))
        ax.set_xlim(-0.5, heat.shape[1] - 0.5)
        ax.set_ylim(heat.shape[0] - 0.5, -0.5)
        ax.set_title(_t(label), fontsize=9)
        ax.tick_params(labelsize=6)
        ax.legend(fontsize=6, loc="lower left", framealpha=0.8)
    for ax in axes[len(items):]:
        ax.set_visible(False)
    fig.colorbar(im, ax=list(axes[:len(items)]), shrink=0.8, label="share of |∂ centre unit / ∂ pixel|")
    fig.suptitle("Effective receptive field of the centre unit of the last feature map", fontsize=9)
    return fig


def _unit(a: np.ndarray) -> np.ndarray:
    a = np.asarray(a, dtype=float)
    lo, hi = np.nanmin(a), np.nanmax(a)
    return (a - lo) / (hi - lo) if hi > lo else np.zeros_like(a)


def _mosaic(tiles: list[np.ndarray], cols: int, pad: int = 1) -> np.ndarray:
    """Tiles of equal shape (H, W) or (H, W, 3) laid out in a grid, NaN (blank) between them.

    One image with many tiles draws far faster than one matplotlib Axes per tile."""
    h, w = tiles[0].shape[:2]
    rows = math.ceil(len(tiles) / cols)
    out = np.full((rows * (h + pad) - pad, cols * (w + pad) - pad, *tiles[0].shape[2:]), np.nan)
    for i, tile in enumerate(tiles):
        r, c = divmod(i, cols)
        out[r * (h + pad):r * (h + pad) + h, c * (w + pad):c * (w + pad) + w] = tile
    return out


def first_layer_filters(label: str, filters: np.ndarray, limit: int = 64) -> Figure:
    """Grid of the first conv layer's kernels (out, in, kh, kw): RGB when in = 3, else the
    channel mean on a diverging scale (red positive, blue negative), each tile scaled alone."""
    filters = np.asarray(filters, dtype=float)[:limit]
    if filters.ndim == 3:  # (out, kh, kw)
        filters = filters[:, None]
    rgb = filters.shape[1] == 3
    if rgb:
        tiles = [_unit(w.transpose(1, 2, 0)) for w in filters]
    else:
        tiles = [w.mean(axis=0) / (np.abs(w.mean(axis=0)).max() or 1.0) for w in filters]
    cols = min(len(tiles), 8)
    rows = math.ceil(len(tiles) / cols)
    fig = Figure(figsize=(max(2.5, cols * 0.55), rows * 0.55 + 0.6), layout="constrained")
    ax = fig.subplots()
    mosaic = _mosaic(tiles, cols)
    if rgb:
        ax.imshow(np.nan_to_num(mosaic, nan=1.0), interpolation="nearest")
    else:
        ax.imshow(np.ma.masked_invalid(mosaic), cmap="RdBu_r", vmin=-1, vmax=1, interpolation="nearest")
    ax.set_axis_off()
    ax.set_title(f"{_t(label)}: first-layer filters", fontsize=9)
    return fig


def feature_maps(label: str, image: np.ndarray | None, maps: list[tuple[str, np.ndarray]],
                 channels: int = 8) -> Figure:
    """One row per layer: the input image, then the first `channels` feature maps for it
    (each map scaled to its own range)."""
    fig = Figure(figsize=(channels * 1.0 + 1.2, len(maps) * 1.1 + 0.4), layout="constrained")
    axes = fig.subplots(len(maps), 2, squeeze=False, width_ratios=[1, channels])
    for (ax_in, ax_maps), (name, fmap) in zip(axes, maps):
        if image is not None:
            img = np.asarray(image, dtype=float)
            ax_in.imshow(_unit(img.transpose(1, 2, 0)) if img.shape[0] == 3 else img[0], cmap="gray")
        tiles = [_unit(channel) for channel in fmap[:channels]]
        ax_maps.imshow(np.ma.masked_invalid(_mosaic(tiles, len(tiles))), cmap="viridis", interpolation="nearest")
        ax_maps.set_title(f"{_t(name[:40])} ({fmap.shape[1]}×{fmap.shape[2]})", fontsize=7, loc="left")
        ax_in.set_axis_off()
        ax_maps.set_axis_off()
    fig.suptitle(f"{_t(label)}: feature maps (input image, then channels)", fontsize=9)
    return fig
