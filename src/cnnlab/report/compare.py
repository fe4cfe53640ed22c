"""The same models in two result sets: quick vs full, CPU vs GPU, before vs after a code change,
shared vs tuned settings. `cnnlab compare DIR_A DIR_B` and `StudyResult.compare(other)`.

For every model (matched by label) present in both and every metric asked for, the seeds of A
against the seeds of B with the statistics of the study reports (cnnlab.report.findings):
Welch's test and the equivalence test, Holm-adjusted over the models of one metric, and a
verdict: "better" (A's mean is higher, or B's: the row says which), "equivalent" within the
margin, or "inconclusive" with the seeds that would decide. The margin is in accuracy points
for accuracies and, for other metrics (times, memory), a percentage of that model's mean in A.
"""

import dataclasses
from pathlib import Path

from cnnlab.report import findings, fmt
from cnnlab.report.document import Document, Paragraph, Section, Table
from cnnlab.report.load import StudyResults, get_metric
from cnnlab.report.stats import summarize

DEFAULT_METRICS = ("test_acc", "train_acc")


def _margin(metric: str, a_values, margin: float) -> float:
    """`margin` (points or percent) as an absolute difference of `metric`."""
    if get_metric(metric).unit == "fraction":
        return margin / 100
    mean = summarize(a_values).mean
    return abs(mean) * margin / 100 if mean else margin / 100


def compare_results(a: StudyResults, b: StudyResults, metrics=DEFAULT_METRICS, margin: float = 1.0,
                    names: tuple[str, str] = ("A", "B")) -> list[dict]:
    """One row per (model, metric) measured in both: the model, the means of A and B, and the
    comparison's numbers (`findings.comparison_row`) as A against B (`a`, `n_a`, `mean_a` and
    diff = A - B), with `higher` naming the set with the higher mean."""
    b_models = {m.label: m for m in b.models}
    shared = [(m, b_models[m.label]) for m in a.models if m.label in b_models]
    rows = []
    for metric in metrics:
        get_metric(metric)  # unknown metric: KeyError naming the valid ones
        pairs = [(dataclasses.replace(x, label=names[0]), dataclasses.replace(y, label=names[1]), x.label)
                 for x, y in shared if x.values(metric) and y.values(metric)]
        if not pairs:
            continue
        # Each model's own margin: a percentage of one model's time says nothing about another's.
        margins = [_margin(metric, x.values(metric), margin) for x, _, _ in pairs]
        # Two result sets are not paired by design (other settings, code or machine): Welch's test.
        decided = findings.compare_pairs([(x, y) for x, y, _ in pairs], metric=metric, margin=margins, pairing=False)
        for (x, y, label), c in zip(pairs, decided):
            row = findings.comparison_row(c)
            # The verdict's pair is ordered higher first; the row keeps A and B in their places
            # (a, mean_a, diff = A - B) and names the higher one in `higher`.
            row["higher"] = c.a.label
            if c.a.label != names[0]:
                row.update(a=names[0], b=names[1], n_a=row["n_b"], n_b=row["n_a"],
                           diff=None if row["diff"] is None else -row["diff"],
                           ci_low=None if row["ci_high"] is None else -row["ci_high"],
                           ci_high=None if row["ci_low"] is None else -row["ci_low"])
            rows.append({"model": label, "mean_a": summarize(x.values(metric)).mean,
                         "mean_b": summarize(y.values(metric)).mean, **row})
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
        level = "" if abs(r["ci_confidence"] - 0.95) < 1e-9 else f" ({fmt.confidence(r['ci_confidence'])})"
        diff = (f"{scale * r['diff']:+.2f}" + (f" [{scale * r['ci_low']:+.2f}, {scale * r['ci_high']:+.2f}]{level}"
                                              if r["ci_low"] is not None else "")) if r["diff"] is not None else fmt.DASH
        body.append([r["model"], r["metric"], _show(r["metric"], r["mean_a"]), _show(r["metric"], r["mean_b"]),
                     r["higher"], diff, fmt.pvalue(r["p_holm"]), fmt.pvalue(r["p_equivalent_holm"]), r["verdict"],
                     str(r["seeds_needed"]) if r["seeds_needed"] else fmt.DASH])
    return header, body


def compare_document(rows: list[dict], dirs: tuple[Path, Path], names: tuple[str, str], margin: float) -> Document:
    s = Section("Comparison")
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
