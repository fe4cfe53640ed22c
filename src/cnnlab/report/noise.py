"""Where the spread comes from: seeds, or the test images the models were scored on.

A model's test accuracy varies for two reasons that more compute shrinks differently:

- **training noise** (initialisation, data order, augmentation): the spread from seed to seed on
  the same test images. The interval of a mean over n seeds narrows as 1/sqrt(n): more seeds pay.
- **test-image sampling**: every seed is scored on the same N test images, so the accuracy on the
  whole test distribution differs from ours by about ±1.96·sqrt(p(1-p)/N) (binomial), the same for
  every seed. More seeds do not shrink it; more test images do.

The report's intervals and verdicts cover the first only (they speak for these test images, which
every model shares, so that part cancels largely in a comparison of two models); this section
puts the two side by side so a reader knows which one an extra CPU-hour would reduce, and what a
figure from another report, measured on other test images, can be expected to differ by.
"""

from __future__ import annotations

import math

import numpy as np

from cnnlab.report import plots
from cnnlab.document import Paragraph, Section, Table
from cnnlab.results import ModelResults, StudyResults
from cnnlab.stats.constants import ALPHA
from cnnlab.stats.scipy_lazy import sps
from cnnlab.report.sections import image, not_measured
from cnnlab.stats.summary import summarize

MAX_SEEDS_SHOWN = 20


def split(model: ModelResults, images: int) -> dict | None:
    """{"n", "mean", "sd", "seeds_half", "test_half"} of a model's test accuracy, as fractions: the 95%
    half-width of its mean from seed-to-seed spread (t, n - 1 df) and from test-image sampling
    (binomial on `images`); None with fewer than two seeds."""
    s = summarize(model.values("test_acc"))
    if s.n < 2 or s.std is None:
        return None
    seeds_half = float(sps.t.ppf(1 - ALPHA / 2, s.n - 1)) * s.std / math.sqrt(s.n)
    test_half = float(sps.norm.ppf(1 - ALPHA / 2)) * math.sqrt(s.mean * (1 - s.mean) / images)
    return {"n": s.n, "mean": s.mean, "sd": s.std, "seeds_half": seeds_half, "test_half": test_half,
            "index": model.index}


def half_text(half: float, mean: float) -> str:
    """"±1.23", or, where the interval would run past 0% or 100% on both sides, what it is: wider
    than an accuracy can vary (a mean of 2 seeds far apart gives ±127 points)."""
    if half > max(mean, 1 - mean):
        return "wider than 0–100%"
    return f"±{100 * half:.2f}"


def summary_sentence(splits: dict[str, dict], images: int) -> str:
    seeds_larger = [label for label, x in splits.items() if x["seeds_half"] > x["test_half"]]
    if len(seeds_larger) == len(splits):
        which = "For every model the spread from seed to seed is the larger part: more seeds would narrow the "
        more = "intervals most."
    elif not seeds_larger:
        which = ("For every model the test images are the larger part: more seeds would narrow the intervals over "
                 "seeds, but the accuracy on the test distribution is held back by the ")
        more = (f"{images:,} test images: scoring on more of them would narrow that part, though the verdicts "
                "between models, all scored on the same images, hardly depend on it.")
    else:
        which = f"The spread from seed to seed is the larger part for {', '.join(seeds_larger)}; the test images are "
        more = "for the others."
    return which + more


def noise_section(study: StudyResults, dpi: int) -> Section:
    s = Section("Where the spread comes from")
    images = study.test_images
    splits = {m.label: x for m in study.models for x in [split(m, images)] if x} if images else {}
    if not splits:
        return not_measured(s, "the split of the spread into seeds and test images (two seeds and a known "
                               "number of test images are needed)")
    rows = [[label, str(x["n"]), f"{100 * x['mean']:.2f}%", f"{100 * x['sd']:.2f}", half_text(x["seeds_half"], x["mean"]),
             f"±{100 * x['test_half']:.2f}"] for label, x in splits.items()]
    s.add(Table(["Model", "Seeds", "Test acc", "SD across seeds (pts)", "95% from seeds (pts)",
                 f"95% from {images:,} test images (pts)"], rows))
    s.add(Paragraph(summary_sentence(splits, images)))
    s.add(image("spread.png", spread_plot(splits, images), dpi,
                "95% half-width of a model's mean test accuracy against seeds per model: from seed-to-seed spread "
                "(falls with more seeds) and from the test images (flat: the same images for every seed)"))
    s.add(Paragraph(f"From seeds: the t interval of the mean over seeds, on these {images:,} test images; it is the "
                    "part the report's intervals and verdicts cover, and the part more seeds shrink. From test "
                    f"images: how far the accuracy on the whole test distribution may lie from ours (binomial, "
                    f"{images:,} images); every seed is scored on the same images, so more seeds leave it as it is, "
                    "and two models compared on the same images share most of it.", note=True))
    return s


def spread_plot(splits: dict[str, dict], images: int):
    fig = plots.figure(figsize=(7.5, 4.2), layout="constrained")
    ax = fig.subplots()
    seeds = np.arange(2, MAX_SEEDS_SHOWN + 1)
    for label, x in splits.items():
        colour = plots.color(x["index"])  # the model's colour in every plot
        half = 100 * np.array([float(sps.t.ppf(1 - ALPHA / 2, n - 1)) * x["sd"] / math.sqrt(n) for n in seeds])
        ax.plot(seeds, half, color=colour, label=f"{plots.literal(label)}: seeds")
        ax.axhline(100 * x["test_half"], color=colour, linestyle="--", linewidth=1,
                   label=f"{plots.literal(label)}: {images:,} test images")
        ax.plot([x["n"]], [100 * x["seeds_half"]], "o", color=colour)
    ax.set(xlabel="seeds per model", ylabel="95% half-width (accuracy points)", yscale="log",
           title="Where the spread comes from (dot: this study)")
    plots.no_minor_labels(ax.yaxis)
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7, loc="best")
    return fig
