"""The same study at several training sizes: do its verdicts hold as training grows?

A quick run decides comparisons on a few thousand images and epochs; the question is usually
about networks trained far longer. Every comparison of a study's questions is matched across
sizes (by question, pair and metric) and classed by how its verdict moves:

- agree: decided the same way at both sizes;
- opposite: "better" one way at one size and the other way at the other;
- conflicting: "better" at one size, "equivalent" at the other;
- undecided at the smaller size / at the larger size / at both.

A reference table (cnnlab.store.schema.reference) stands in for a larger size's runs
(`cnnlab.results.reference`), so a quick OUT can be set against results made on another machine.
"""

from dataclasses import dataclass

from cnnlab.report.answers import answers
from cnnlab.report.findings import Comparison, metric_words
from cnnlab.results import StudyResults
from cnnlab.results.reference import reference_results
from cnnlab.store.schema import StudyRecord

DECIDED = ("better", "equivalent")
TRANSFER = ("agree", "opposite", "conflicting", "undecided at the smaller size", "undecided at the larger size",
            "undecided at both")


@dataclass(frozen=True)
class Transfer:
    """One comparison at two sizes."""
    question: str
    a: str  # as the smaller size orders the pair
    b: str
    metric: str
    small: Comparison
    large: Comparison

    @property
    def kind(self) -> str:
        """One of TRANSFER."""
        small, large = self.small.verdict in DECIDED, self.large.verdict in DECIDED
        if not small and not large:
            return "undecided at both"
        if not small:
            return "undecided at the smaller size"
        if not large:
            return "undecided at the larger size"
        if self.small.verdict != self.large.verdict:
            return "conflicting"
        if self.small.verdict == "better" and self.small.a.label != self.large.a.label:
            return "opposite"
        return "agree"

    def verdict_text(self, c: Comparison) -> str:
        if c.verdict == "better":
            return f"{c.a.label} {'better' if c.metric == 'test_acc' else 'higher'}"
        return c.verdict


def comparisons_by_key(study: StudyResults) -> dict:
    """{(question, frozenset of the two labels, metric): Comparison} over the study's questions."""
    out = {}
    for answer in answers(study):
        for c in answer.comparisons:
            out.setdefault((answer.question, frozenset((c.a.label, c.b.label)), c.metric), c)
    return out


def transfers(small: StudyResults, large: StudyResults) -> list[Transfer]:
    """Every comparison of the study's questions found at both sizes, in the smaller size's order."""
    at_large = comparisons_by_key(large)
    out = []
    for key, c in comparisons_by_key(small).items():
        if key in at_large:
            out.append(Transfer(key[0], c.a.label, c.b.label, c.metric, c, at_large[key]))
    return out


def counts(found: list[Transfer]) -> dict[str, int]:
    return {kind: sum(t.kind == kind for t in found) for kind in TRANSFER}


def describe(t: Transfer) -> str:
    """One line: the comparison and its verdict at each size."""
    what = "" if t.metric == "test_acc" else f" ({metric_words(t.metric)})"
    return (f"{t.question}: {t.a} vs {t.b}{what}: {t.verdict_text(t.small)} at the smaller size, "
            f"{t.verdict_text(t.large)} at the larger: {t.kind}")


# ---- the report's section ------------------------------------------------------------------------

SECTION = "Verdicts by training size"


@dataclass(frozen=True)
class Size:
    """One size the study was seen at: its results and how much each run trained."""
    label: str
    image_epochs: int | None  # training images x epochs per run
    results: StudyResults


def image_epochs(info: StudyRecord) -> int | None:
    images = info.subset or info.manifest.train_size
    return images * info.epochs if images and info.epochs else None


def size_label(info: StudyRecord, where: str = "") -> str:
    images = info.subset or info.manifest.train_size
    size = f"{images:,} images x {info.epochs} epoch{'s' if info.epochs != 1 else ''}" if images and info.epochs else "?"
    return f"{info.profile or 'no'} profile, {size}" + (f" ({where})" if where else "")


def reference_table(name: str):
    """The packaged reference table of a built-in study (cnnlab/studies/reference/<name>.csv), or None."""
    from importlib.resources import files

    path = files("cnnlab.studies").joinpath("reference", f"{name}.csv")
    return path if path.is_file() else None


def _builtin(info: StudyRecord) -> bool:
    source = (info.source or "").replace("\\\\", "/")
    return source.endswith(f"/cnnlab/studies/{info.name}.toml")


def other_sizes(study: StudyResults) -> list[Size]:
    """The same study at other sizes: its folders beside this one in the same OUT (another
    profile, --subset, --epochs or `--sizes`), and for a built-in study the reference table that
    ships with cnnlab."""
    from cnnlab.errors import UserError
    from cnnlab.results import load_results
    from cnnlab.store.schema import STUDY_FILE
    from cnnlab.store.schema.reference import read_reference

    mine = image_epochs(study.info)
    out = []
    for folder in sorted(p for p in study.dir.parent.iterdir() if p != study.dir and (p / STUDY_FILE).is_file()):
        try:
            other = load_results(folder, study.runs_dir)
        except UserError:
            continue
        if (other.info.name == study.info.name and (other.info.tuning is None) == (study.info.tuning is None)
                and image_epochs(other.info) not in (None, mine)):
            out.append(Size(size_label(other.info, folder.name), image_epochs(other.info), other))
    table = reference_table(study.info.name) if _builtin(study.info) else None
    if table is not None and study.info.profile != "reference":
        try:
            rows = read_reference(table)
        except UserError:
            rows = []
        if rows:
            results = reference_results(study.info, rows, study.dir)
            where = f"reference table: {rows[0].cpu}, {rows[0].precision}, cnnlab {rows[0].commit}"
            out.append(Size(size_label(results.info, where), rows[0].train_images * rows[0].epochs, results))
    return out


def all_sizes(study: StudyResults) -> list[Size]:
    """This study and its other sizes, smallest training first."""
    this = Size(size_label(study.info, "this study"), image_epochs(study.info), study)
    return sorted([this, *other_sizes(study)], key=lambda s: s.image_epochs or 0)


def _oriented(c: Comparison, a: str) -> tuple[float | None, float | None, float | None]:
    """The comparison's difference and interval as a minus b for the given `a`."""
    d = c.diff
    if c.a.label == a:
        return d.diff, d.ci_low, d.ci_high
    neg = lambda x: None if x is None else -x  # noqa: E731
    return neg(d.diff), neg(d.ci_high), neg(d.ci_low)


def changes(cells: list[Comparison | None]) -> bool:
    """Whether a comparison's verdict or sign changes across the sizes it was seen at."""
    seen = [c for c in cells if c is not None]
    verdicts = {(c.verdict, c.a.label if c.verdict == "better" else None) for c in seen}
    signs = {c.diff.diff > 0 for c in seen if c.diff.diff}
    return len(verdicts) > 1 or len(signs) > 1


def size_table(sizes: list[Size]) -> list[tuple[tuple, str, str, list[Comparison | None]]]:
    """(key, a, b, the comparison at each size) for every comparison of the study's questions."""
    by_size = [comparisons_by_key(s.results) for s in sizes]
    keys = list(dict.fromkeys(k for found in by_size for k in found))
    out = []
    for key in keys:
        cells = [found.get(key) for found in by_size]
        first = next(c for c in cells if c is not None)
        out.append((key, first.a.label, first.b.label, cells))
    return out


def flips(study: StudyResults) -> list[str]:
    """One line per comparison whose sign or verdict changes with training size, for the answers."""
    sizes = all_sizes(study)
    if len(sizes) < 2:
        return []
    lines = []
    for key, a, b, cells in size_table(sizes):
        if changes(cells):
            seen = "; ".join(f"{_cell_verdict(c)} at {s.label}" for s, c in zip(sizes, cells) if c is not None)
            lines.append(f"{key[0]}: {a} vs {b} changes with training size: {seen}.")
    return lines


def _cell_verdict(c: Comparison) -> str:
    if c.verdict == "better":
        return f"{c.a.label} {'better' if c.metric == 'test_acc' else 'higher'}"
    return c.verdict


def _cell(c: Comparison | None, a: str) -> str:
    if c is None:
        return "-"
    diff, low, high = _oriented(c, a)
    interval = f" [{100 * low:+.2f}, {100 * high:+.2f}]" if low is not None else ""
    return f"{100 * diff:+.2f}{interval} {c.verdict}" if diff is not None else c.verdict


def size_section(study: StudyResults, dpi: int):
    from cnnlab.report import plots
    from cnnlab.document import Paragraph, Section, Table
    from cnnlab.report.sections import image

    s = Section(SECTION)
    sizes = all_sizes(study)
    if len(sizes) < 2:
        s.add(Paragraph("This study has been seen at one training size. Whether its verdicts hold as training grows "
                        "is the first thing a careful reader asks: run it at another size into the same --out "
                        "(another profile, --epochs or --subset), or at several with 'cnnlab run STUDY --sizes "
                        "1000,3500,10000', and this section sets each comparison's verdict at every size side by side."))
        return s
    rows, flagged = [], 0
    for key, a, b, cells in size_table(sizes):
        what = "" if key[2] == "test_acc" else f" ({metric_words(key[2])})"
        moved = changes(cells)
        flagged += moved
        rows.append([key[0], f"{a} − {b}{what}", *(_cell(c, a) for c in cells), "yes" if moved else "no"])
    s.add(Table(["Question", "Difference (points)", *(x.label for x in sizes), "Changes with size"], rows))
    s.add(Paragraph(f"{flagged} of {len(rows)} comparisons change sign or verdict between these sizes. Each cell: "
                    "the difference of means in points with its interval at the level its verdict used, and the "
                    "verdict; the training size is images x epochs per run.", note=True))
    s.add(image("verdicts_by_size.png", plot(sizes), dpi,
                "Each comparison's difference (points, with its interval) against training images x epochs per run"))
    return s


def plot(sizes: list[Size]):
    from cnnlab.report import plots

    fig = plots.figure(figsize=(7.5, 4.5), layout="constrained")
    ax = fig.subplots()
    xs = [s.image_epochs or 0 for s in sizes]
    for i, (key, a, b, cells) in enumerate(size_table(sizes)):
        if key[2] != "test_acc":
            continue
        points = [(x, *_oriented(c, a)) for x, c in zip(xs, cells) if c is not None and c.diff.diff is not None]
        if not points:
            continue
        x, y, low, high = zip(*points)
        y = [100 * v for v in y]
        err = [[v - 100 * lo if lo is not None else 0 for v, lo in zip(y, low)],
               [100 * hi - v if hi is not None else 0 for v, hi in zip(y, high)]]
        ax.errorbar(x, y, yerr=err, marker="o", capsize=3, linewidth=1.2 if changes(cells) else 0.6,
                    label=plots.literal(f"{a} − {b}") if changes(cells) else None, color=plots.color(i))
    ax.axhline(0, color="0.4", linewidth=0.75)
    ax.set(xscale="log", xlabel="training images x epochs per run", ylabel="difference of means (points)",
           title="Verdicts by training size (bold: changes with size)")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7, loc="best")
    ax.grid(alpha=0.3, which="both")
    return fig
