"""The same models in two result sets: quick vs full, CPU vs GPU, before vs after a code change,
shared vs tuned settings. `cnnlab compare DIR_A DIR_B` and `StudyResult.compare(other)`.

For every model (matched by label) present in both and every metric asked for, the seeds of A
against the seeds of B with the statistics of the study reports (cnnlab.report.findings):
Welch's test and the equivalence test, Holm-adjusted over the models of one metric, and a
verdict: "better" (A's mean is higher, or B's: the row says which), "equivalent" within the
margin, or "inconclusive" with the seeds that would decide. The margin is in accuracy points
for accuracies and, for other metrics (times, memory), a percentage of that model's mean in A.
"""

from pathlib import Path

from cnnlab.choices import DEFAULT_MARGIN_POINTS
from cnnlab.errors import UserError
from cnnlab.report import findings, fmt
from cnnlab.document import Document, Paragraph, Section, Table
from cnnlab.results import StudyResults, get_metric, metrics as known_metrics
from cnnlab.stats.constants import ALPHA
from cnnlab.stats.family import Pair, decide_family
from cnnlab.stats.summary import summarize

DEFAULT_METRICS = ("test_acc", "train_acc")
MAX_MARGIN = 100  # points, or percent of a mean


def _margin(metric: str, a_values, margin: float) -> float:
    """`margin` (points or percent) as an absolute difference of `metric`."""
    if get_metric(metric).unit == "fraction":
        return margin / 100
    mean = summarize(a_values).mean
    return abs(mean) * margin / 100 if mean else margin / 100


def check_request(metrics, margin, names, option=lambda name: name):
    """What both front ends accept (`cnnlab compare`, `StudyResult.compare`), checked once;
    `option` names an option as the caller's user knows it (a flag or a keyword)."""
    known = known_metrics()
    if isinstance(metrics, str) or not metrics:
        raise UserError(f"{option('metrics')} names no metric; valid: {', '.join(known)}")
    for name in metrics:
        if name not in known:
            raise UserError(f"{option('metrics')}: unknown metric {name!r}; valid: {', '.join(known)}")
    if isinstance(margin, bool) or not isinstance(margin, (int, float)) or not 0 < margin <= MAX_MARGIN:
        raise UserError(f"{option('margin')} must be a number > 0 and at most {MAX_MARGIN}, got {margin!r}")
    if (len(names) != 2 or not all(isinstance(n, str) and n.strip() for n in names) or names[0] == names[1]):
        raise UserError(f"{option('names')} must be two different non-empty names, got {tuple(names)!r}")


SETUP = (("profile", "profile"), ("dataset", "dataset"), ("epochs", "epochs"), ("subset", "training images"),
         ("test_subset", "test images"))


def setup_differences(a: StudyResults, b: StudyResults) -> list[str]:
    """How the two result sets were made differently ("epochs 5 vs 1", ...): a comparison of them
    measures these as well as what the user meant to compare."""
    out = []
    for key, what in SETUP:
        x, y = getattr(a.info, key), getattr(b.info, key)
        if x != y:
            out.append(f"{what} {'all' if x is None else x} vs {'all' if y is None else y}")
    said = {key for key, _ in SETUP} | {"seed"}
    settings = sorted(k for k in set(a.info.train) | set(b.info.train)
                      if k not in said and a.info.train.get(k) != b.info.train.get(k))
    out += [f"{k} {a.info.train.get(k)!r} vs {b.info.train.get(k)!r}" for k in settings]
    if a.manifest.precision and b.manifest.precision and a.manifest.precision != b.manifest.precision:
        out.append(f"precision {a.manifest.precision} vs {b.manifest.precision}")
    return out


def compare_results(a: StudyResults, b: StudyResults, metrics=DEFAULT_METRICS, margin: float = DEFAULT_MARGIN_POINTS,
                    names: tuple[str, str] = ("A", "B"), option=lambda name: name) -> list[dict]:
    """One row per (model, metric) measured in both: the model, the means of A and B, and the
    comparison's numbers (`findings.decision_row`) of A against B (diff = A - B), with `higher`
    naming the set with the higher mean (None when the means are equal). Two result sets are not
    paired by design (other settings, code or machine): Welch's test."""
    check_request(metrics, margin, names, option)
    b_models = {m.label: m for m in b.models}
    shared = [(m, b_models[m.label]) for m in a.models if m.label in b_models]
    rows = []
    for metric in metrics:
        both = [(x, y) for x, y in shared if x.values(metric) and y.values(metric)]
        if not both:
            continue
        # Each model's own margin: a percentage of one model's time says nothing about another's.
        margins = [_margin(metric, x.values(metric), margin) for x, _ in both]
        bounds = (-1.0, 1.0) if get_metric(metric).unit == "fraction" else None
        decided = decide_family([Pair.of(x.seed_values(metric), y.seed_values(metric)) for x, y in both],
                                margins, bounds=bounds)
        for (x, y), d in zip(both, decided):
            row = findings.decision_row(d, names[0], names[1], metric)
            higher = None if not d.diff.diff else names[0] if d.diff.diff > 0 else names[1]
            rows.append({"model": x.label, "mean_a": summarize(x.values(metric)).mean,
                         "mean_b": summarize(y.values(metric)).mean, **row, "higher": higher})
    return rows


def _show(metric: str, value) -> str:
    unit = get_metric(metric).unit
    return fmt.by_unit(unit, value)


def table(rows: list[dict], names: tuple[str, str]) -> tuple[list[str], list[list[str]]]:
    header = ["Model", "Metric", names[0], names[1], "Higher", f"Δ {names[0]} − {names[1]} (CI)", "Holm p",
              "Equivalence p (Holm)", "Verdict", "Seeds to decide"]
    body = []
    for r in rows:
        points = get_metric(r["metric"]).unit == "fraction"
        scale = 100 if points else 1
        level = "" if r["ci_confidence"] is not None and abs(r["ci_confidence"] - (1 - ALPHA)) < 1e-9 else f" ({fmt.confidence(r['ci_confidence'])})"
        diff = (f"{scale * r['diff']:+.2f}" + (f" [{scale * r['ci_low']:+.2f}, {scale * r['ci_high']:+.2f}]{level}"
                                              if r["ci_low"] is not None else "")) if r["diff"] is not None else fmt.DASH
        body.append([r["model"], r["metric"], _show(r["metric"], r["mean_a"]), _show(r["metric"], r["mean_b"]),
                     r["higher"] or "neither", diff, fmt.pvalue(r["p_holm"]), fmt.pvalue(r["p_equivalent_holm"]), r["verdict"],
                     str(r["seeds_needed"]) if r["seeds_needed"] else fmt.DASH])
    return header, body


def compare_document(rows: list[dict], dirs: tuple[Path, Path], names: tuple[str, str], margin: float,
                     differences: list[str] = ()) -> Document:
    s = Section("Comparison")
    if differences:
        s.add(Paragraph(differences_text(differences, names)))
    header, body = table(rows, names)
    s.add(Table(header, body, caption=f"{names[0]}: {dirs[0]}; {names[1]}: {dirs[1]}."))
    s.add(Paragraph(f"Per model and metric, the seeds of {names[0]} against those of {names[1]}: Welch's test and "
                    f"two one-sided tests of equivalence within ±{margin:g} accuracy points (other metrics: "
                    f"±{margin:g}% of {names[0]}'s mean), both Holm-adjusted over the models of each metric. "
                    "Better: the set in 'Higher' is significantly higher. Equivalent: the two are within the margin. "
                    "Inconclusive: neither; 'Seeds to decide' is the number of seeds per set that would decide at "
                    "the observed spread. Δ's interval is 95% unless its Holm-adjusted test used a lower level (then "
                    "the cell names the confidence), so it excludes zero exactly when the verdict is 'better'.",
                    note=True))
    if not rows:
        s.add(Paragraph("No model has finished runs of these metrics in both result sets."))
    return Document(title=f"{names[0]} vs {names[1]}", subtitle=[f"{dirs[0]} vs {dirs[1]}"], sections=[s])


def differences_text(differences: list[str], names: tuple[str, str]) -> str:
    return (f"{names[0]} and {names[1]} were not made the same way ({'; '.join(differences)}): the verdicts below "
            "measure those differences too, not only what you meant to compare.")
