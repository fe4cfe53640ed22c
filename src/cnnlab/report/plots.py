"""The report's plots: one function per plot, each returning a matplotlib `Figure`;
`png(figure, dpi)` turns one into the PNG bytes the report embeds.

We build `matplotlib.figure.Figure` objects directly instead of going through pyplot:
no global backend to switch, no figure registry to leak memory into, and it works the
same in a headless runner, a test or a notebook. PNG output always uses the Agg renderer.
Jupyter shows a bare Figure only once pyplot's inline backend has registered a display
hook, so ours carry their own `_repr_png_` and render inline in a fresh kernel.

Every model keeps one colour in every plot (its position in the study), train curves are
dashed and test curves solid, and bands show ± one standard deviation over seeds. The
plots of an analysis live with it (cnnlab.analyses); the helpers here are shared.
"""

from __future__ import annotations  # `Figure` in annotations is not looked up when a module loads

import functools
import io
import math
import warnings

import numpy as np

from cnnlab.results import ModelResults

DPI = 110


# matplotlib is imported when the first figure is made, not when a module that draws one is
# imported: every analysis plug-in draws figures, and a `cnnlab run` worker loads them all.
@functools.cache
def _figure_class():
    from matplotlib import figure as mpl_figure

    class Figure(mpl_figure.Figure):
        """A matplotlib Figure that a notebook displays as a PNG without `%matplotlib inline`.
        (Where the inline backend is active, its own display hook for Figure takes precedence.)"""

        def _repr_png_(self) -> bytes:
            return png(self)

    return Figure


def figure(**kwargs) -> Figure:
    """A new report Figure (`matplotlib.figure.Figure` keyword arguments)."""
    return _figure_class()(**kwargs)


def __getattr__(name):
    if name == "Figure":  # the class, for annotations and isinstance checks
        return _figure_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def no_minor_labels(axis):
    """Hide an axis's minor tick labels (they collide on short log ranges)."""
    from matplotlib.ticker import NullFormatter

    axis.set_minor_formatter(NullFormatter())


def color(index: int):
    from matplotlib import colormaps

    cmap = colormaps["tab10"] if index < 10 else colormaps["tab20"]
    return cmap(index % cmap.N)


def literal(text) -> str:
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


def stack(curves: list[list]) -> np.ndarray:
    """Seeds x epochs, NaN-padded: runs of different lengths still average epoch by epoch."""
    n = max((len(c) for c in curves), default=0)
    out = np.full((len(curves), n), np.nan)
    for i, c in enumerate(curves):
        out[i, :len(c)] = [np.nan if v is None else v for v in c]
    return out


def mean_band(ax, x, values: np.ndarray, scale: float, **style):
    """Plot the mean over seeds (rows of `values`) and shade ± 1 std where there are at least two seeds."""
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # "mean of empty slice" for all-NaN epochs
        mean = np.nanmean(values, axis=0) * scale
        counts = np.sum(~np.isnan(values), axis=0)
        std = np.where(counts >= 2, np.nanstd(values, axis=0, ddof=1), np.nan) * scale
    line, = ax.plot(x, mean, marker="o" if len(x) <= 12 else None, markersize=3, **style)
    if np.any(np.isfinite(std)):
        ax.fill_between(x, mean - std, mean + std, color=line.get_color(), alpha=0.15, linewidth=0)
    return line


def _curves(model: ModelResults, key: str) -> np.ndarray:
    return stack([r.curve(key) for r in model.done])


def learning_curves(models: list[ModelResults]) -> Figure:
    fig = figure(figsize=(11, 4.2), layout="constrained")
    ax_loss, ax_acc = fig.subplots(1, 2)
    for m in models:
        for key, ax, scale in (("loss", ax_loss, 1.0), ("acc", ax_acc, 100.0)):
            for split, dash in (("train", "--"), ("test", "-")):
                curves = _curves(m, f"{split}_{key}")
                if curves.size:
                    x = np.arange(1, curves.shape[1] + 1)
                    mean_band(ax, x, curves, scale, color=color(m.index), linestyle=dash,
                              label=f"{literal(m.label)} ({split})")
    ax_loss.set(xlabel="epoch", ylabel="cross-entropy loss", title="Loss")
    ax_acc.set(xlabel="epoch", ylabel="accuracy (%)", title="Accuracy")
    epochs = max((len(r.curve("test_acc")) for m in models for r in m.done), default=0)
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
        ax.xaxis.get_major_locator().set_params(integer=True)
        if 0 < epochs <= 12:  # a tick per epoch; one epoch would otherwise get ticks at 0.96 ... 1.04
            ax.set_xticks(np.arange(1, epochs + 1))
            if epochs == 1:
                ax.set_xlim(0.5, 1.5)
    ax_acc.legend(fontsize=7, loc="best")
    fig.suptitle("Learning curves: mean over seeds, band = ± 1 std (dashed = train, solid = test)", fontsize=9)
    return fig


def accuracy_vs_cost(models: list[ModelResults]) -> Figure:
    """Test accuracy (mean ± std) against parameter count and against training time."""
    fig = figure(figsize=(11, 4.2), layout="constrained")
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
            ax.errorbar(x, y, xerr=xerr, yerr=yerr, fmt="o", color=color(m.index), capsize=3, label=literal(m.label))
            ax.annotate(literal(m.label), (x, y), textcoords="offset points", xytext=(5, 4), fontsize=7)
        if log and ax.has_data():
            ax.set_xscale("log")
            no_minor_labels(ax.xaxis)  # minor labels collide on short ranges
        ax.margins(x=0.15, y=0.1)  # room for the point labels
        ax.set(xlabel=xlabel, ylabel="test accuracy (%)")
        ax.grid(alpha=0.3, which="both")
    axes[0].set_title("Accuracy vs parameters")
    axes[1].set_title("Accuracy vs training time")
    return fig


def grid(n: int, ncols: int):
    ncols = max(1, min(ncols, n))
    return math.ceil(n / ncols), ncols


def unit_range(a: np.ndarray) -> np.ndarray:
    a = np.asarray(a, dtype=float)
    lo, hi = np.nanmin(a), np.nanmax(a)
    return (a - lo) / (hi - lo) if hi > lo else np.zeros_like(a)


def mosaic(tiles: list[np.ndarray], cols: int, pad: int = 1) -> np.ndarray:
    """Tiles of equal shape (H, W) or (H, W, 3) laid out in a grid, NaN (blank) between them.

    One image with many tiles draws far faster than one matplotlib Axes per tile."""
    h, w = tiles[0].shape[:2]
    rows = math.ceil(len(tiles) / cols)
    out = np.full((rows * (h + pad) - pad, cols * (w + pad) - pad, *tiles[0].shape[2:]), np.nan)
    for i, tile in enumerate(tiles):
        r, c = divmod(i, cols)
        out[r * (h + pad):r * (h + pad) + h, c * (w + pad):c * (w + pad) + w] = tile
    return out
