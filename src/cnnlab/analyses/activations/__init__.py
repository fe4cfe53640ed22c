"""Activations: first-layer filters and feature maps (first conv layer and the `features`
output) for the first test image of each class, kept as arrays in the run's activations.npz."""

from __future__ import annotations  # annotations name plots.Figure, made when first used

import math
import zipfile

import numpy as np

from cnnlab.plugins import Analysis, register_analysis
from cnnlab.report import plots
from cnnlab.document import Paragraph, Section, slug
from cnnlab.report.sections import first_done, image, not_measured

TITLE = "Activations"
FILE = "activations.npz"


def measure(run):
    from cnnlab.analyses.activations.measure import save_activations

    return save_activations(run.model, run.data, run.inputs, run.run_dir / FILE)


def check(value) -> bool:
    return (isinstance(value, dict) and all(k in value for k in ("first_conv", "layers"))
            and value.get("file", FILE) == FILE)


def check_files(value, run_dir) -> str | None:
    """activations.npz reads back (every array, CRC-checked) with the layers the value lists."""
    if "file" not in value:
        return None  # no feature maps (no conv layer): nothing was written
    try:  # our own file object: np.load leaves its own open when the archive is damaged
        with open(run_dir / FILE, "rb") as f, np.load(f, allow_pickle=False) as npz:
            names = {name for name in npz.files if npz[name] is not None}  # reading checks the CRC
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile):
        return f"{FILE} is missing or unreadable"
    missing = {"images", "labels", *(f"layer:{layer}" for layer in value["layers"])} - names
    return f"{FILE} lacks {', '.join(sorted(missing))}" if missing else None


def load(run) -> dict[str, np.ndarray] | None:
    """The arrays of a run's activations.npz, or None."""
    value = run.analysis.get("activations")
    if not isinstance(value, dict) or value.get("file") != FILE or run.dir is None:
        return None
    try:
        with np.load(run.dir / FILE, allow_pickle=False) as npz:
            return {k: npz[k] for k in npz.files}
    except (OSError, ValueError):
        return None


def plot_filters(label: str, filters: np.ndarray, limit: int = 64) -> plots.Figure:
    """Grid of the first conv layer's kernels (out, in, kh, kw): RGB when in = 3, else the
    channel mean on a diverging scale (red positive, blue negative), each tile scaled alone."""
    filters = np.asarray(filters, dtype=float)[:limit]
    if filters.ndim == 3:  # (out, kh, kw)
        filters = filters[:, None]
    rgb = filters.shape[1] == 3
    if rgb:
        tiles = [plots.unit_range(w.transpose(1, 2, 0)) for w in filters]
    else:
        tiles = [w.mean(axis=0) / (np.abs(w.mean(axis=0)).max() or 1.0) for w in filters]
    cols = min(len(tiles), 8)
    rows = math.ceil(len(tiles) / cols)
    fig = plots.figure(figsize=(max(2.5, cols * 0.55), rows * 0.55 + 0.6), layout="constrained")
    ax = fig.subplots()
    mosaic = plots.mosaic(tiles, cols)
    if rgb:
        ax.imshow(np.nan_to_num(mosaic, nan=1.0), interpolation="nearest")
    else:
        ax.imshow(np.ma.masked_invalid(mosaic), cmap="RdBu_r", vmin=-1, vmax=1, interpolation="nearest")
    ax.set_axis_off()
    ax.set_title(f"{plots.literal(label)}: first-layer filters", fontsize=9)
    return fig


def plot_feature_maps(label: str, picture: np.ndarray | None, maps: list[tuple[str, np.ndarray]],
                      channels: int = 8) -> plots.Figure:
    """One row per layer: the input image, then the first `channels` feature maps for it
    (each map scaled to its own range)."""
    fig = plots.figure(figsize=(channels * 1.0 + 1.2, len(maps) * 1.1 + 0.4), layout="constrained")
    axes = fig.subplots(len(maps), 2, squeeze=False, width_ratios=[1, channels])
    for (ax_in, ax_maps), (name, fmap) in zip(axes, maps):
        if picture is not None:
            img = np.asarray(picture, dtype=float)
            ax_in.imshow(plots.unit_range(img.transpose(1, 2, 0)) if img.shape[0] == 3 else img[0], cmap="gray")
        tiles = [plots.unit_range(channel) for channel in fmap[:channels]]
        ax_maps.imshow(np.ma.masked_invalid(plots.mosaic(tiles, len(tiles))), cmap="viridis",
                       interpolation="nearest")
        ax_maps.set_title(f"{plots.literal(name[:40])} ({fmap.shape[1]}×{fmap.shape[2]})", fontsize=7, loc="left")
        ax_in.set_axis_off()
        ax_maps.set_axis_off()
    fig.suptitle(f"{plots.literal(label)}: feature maps (input image, then channels)", fontsize=9)
    return fig


def _feature_maps(arrays: dict) -> list[tuple[str, np.ndarray]]:
    """The "layer:<name>" arrays as (name, channels x H x W) for the first image."""
    out = []
    for key, a in arrays.items():
        if not key.startswith("layer:"):
            continue
        a = np.asarray(a, dtype=float)
        if a.ndim == 4:
            a = a[0]
        if a.ndim == 3 and min(a.shape[1:]) >= 2:
            out.append((key[len("layer:"):], a))
    return out


def section(study, dpi: int) -> Section:
    s = Section(TITLE)
    without = []
    for m in study.models:
        arrays, seed = first_done(m, load)
        if not arrays:
            meta, _ = first_done(m, lambda r: r.analysis.get("activations"))
            if isinstance(meta, dict) and not meta.get("layers"):
                without.append(f"{m.label} (no convolution layers)")
            continue
        filters = arrays.get("filters")
        if filters is not None and np.asarray(filters).ndim in (3, 4):
            s.add(image(f"filters_{m.index}_{slug(m.name)}.png", plot_filters(m.label, np.asarray(filters)), dpi,
                        f"{m.label}: first-layer filters (seed {seed})"))
        maps = _feature_maps(arrays)
        if maps:
            images = arrays.get("images")
            picture = np.asarray(images)[0] if images is not None and np.asarray(images).ndim == 4 else None
            s.add(image(f"feature_maps_{m.index}_{slug(m.name)}.png",
                        plot_feature_maps(m.label, picture, maps[:8]), dpi,
                        f"{m.label}: feature maps for one test image (seed {seed})"))
    if not s.blocks:
        not_measured(s, "first-layer activations and feature maps")
    if without:
        s.add(Paragraph(f"No feature maps for: {', '.join(without)}.", note=True))
    return s


def example(run):
    """The record; the report also reads the run's activations.npz (`check_files`), which a test writes."""
    return {"first_conv": "conv1", "images": 8, "layers": {"conv1": {"type": "Conv2d", "shape": [8, 4, 8, 8]}},
            "file": "activations.npz"}


register_analysis(Analysis(
    name="activations",
    description="first-layer filters and feature maps for one test image per class",
    measure=measure, check=check, check_files=check_files, title=TITLE, section=section, order=160, example=example))
