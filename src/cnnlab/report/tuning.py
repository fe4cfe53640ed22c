"""How a tuned study chose each model's settings, and whether its answers depend on that choice.

`tuning_section`: the search as run (grid, tuning seeds and epochs, the validation split, the
selection rule), one plot of validation accuracy against the searched learning rate per model
with seed bands and the chosen point marked, each point's numbers, a warning where a choice lies
on the grid's edge (the grid was too narrow), the budget per model, and, when the same study ran
at shared settings beside it, each model's test accuracy there and here.

`robustness`: for one question, each comparison's verdict at shared settings next to the one
at tuned settings ("robust to tuning" when both agree, "changes with tuning" otherwise), with
both differences. Everything comes from study.json's TuningRecord and the runs it names.
"""

from __future__ import annotations  # annotations name plots.Figure, made when first used

import math

import numpy as np

from cnnlab.report import compare, findings, fmt, plots
from cnnlab.document import Bullets, Paragraph, Section, Table
from cnnlab.results import StudyResults
from cnnlab.report.sections import image
from cnnlab.stats.summary import summarize
from cnnlab.store.schema import TuningPoint, TuningRecord, setting_text
from cnnlab.units import counted, duration_text

EDGE_WORDS = {"lowest": "the lowest", "highest": "the highest"}


def _g(x) -> str:
    return f"{x:g}"


def _point_cell(point: TuningPoint) -> str:
    """"58.00 ± 1.41 %" over the tuning seeds, or why the point does not count."""
    if point.mean is not None:
        values = [r.accuracy for r in point.runs if r.accuracy is not None]
        return fmt.mean_std(summarize(values), 100, unit="%")
    statuses = {r.status for r in point.runs} - {"done"}
    return ", ".join(sorted(statuses)) or fmt.DASH


# ---- the plot ----------------------------------------------------------------------------

def _panels(record: TuningRecord) -> list[dict]:
    """One panel per combination of the searched values other than lr (one panel when only lr is searched)."""
    others = [k for k in record.grid if k != "lr"]
    if not others:
        return [{}]
    combos = [{}]
    for key in others:
        combos = [{**c, key: v} for c in combos for v in record.grid[key]]
    return combos


def tuning_plot(record: TuningRecord, colors: dict) -> plots.Figure:
    """Validation accuracy against the learning rate, per model: mean over the tuning seeds with a
    ± 1 std band, the chosen point starred. `colors`: label -> the model's index in the study."""
    panels = _panels(record)
    rows, cols = plots.grid(len(panels), 3)
    fig = plots.figure(figsize=(min(11, max(7.5, 4.6 * cols + 1)), 3.8 * rows), layout="constrained")
    axes = np.atleast_1d(fig.subplots(rows, cols, squeeze=False)).ravel()
    lrs = list(record.grid.get("lr", []))
    for ax, fixed in zip(axes, panels):
        for model in record.models:
            points = [p for p in model.points if all(p.setting.get(k) == v for k, v in fixed.items())]
            points.sort(key=lambda p: p.setting.get("lr", 0))
            if not points:
                continue
            values = plots.stack([[r.accuracy for r in p.runs] for p in points]).T  # seeds x points
            x = np.array([p.setting.get("lr", math.nan) for p in points])
            index = colors.get(model.label, 0)
            plots.mean_band(ax, x, values, 100.0, color=plots.color(index), label=plots.literal(model.label))
            chosen = [p for p in points if model.chosen and p.setting == model.chosen]
            for p in chosen:
                ax.plot([p.setting["lr"]], [100 * p.mean], marker="*", markersize=15, color=plots.color(index),
                        markeredgecolor="black", linestyle="none")
        ax.set_xscale("log")
        if lrs:
            ax.set_xticks(lrs, [_g(v) for v in lrs], rotation=30 if len(lrs) > 4 else 0)
            plots.no_minor_labels(ax.xaxis)
        ax.set(xlabel="learning rate (log scale)", ylabel="validation accuracy (%)", title=setting_text(fixed))
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=7, loc="best")
    for ax in axes[len(panels):]:
        ax.set_visible(False)
    fig.suptitle("Validation accuracy per setting: mean over tuning seeds, band = ± 1 std, ★ = chosen", fontsize=9)
    return fig


# ---- the section -------------------------------------------------------------------------

def _grid_text(record: TuningRecord) -> str:
    return "; ".join(f"{key} ∈ {{{', '.join(_g(v) for v in values)}}}" for key, values in record.grid.items())


def _protocol(study: StudyResults, record: TuningRecord) -> str:
    v = record.validation
    size = (f"{fmt.whole(v.get('validation_size'))} of the {fmt.whole((v.get('train_size') or 0) + (v.get('validation_size') or 0))} "
            "training images" if isinstance(v.get("validation_size"), int) and isinstance(v.get("train_size"), int)
            else f"{100 * (v.get('fraction') or 0):g}% of the training images")
    epochs = f"{record.epochs} epoch{'s' if record.epochs != 1 else ''}"
    seeds = ", ".join(map(str, record.seeds))
    return (f"Before comparing, every model searched the same grid ({_grid_text(record)}) with the same tuning seeds "
            f"({seeds}) and {epochs} per run: it trained on the training images minus a validation split of {size} "
            f"(stratified, split seed {v.get('seed', 0)}, the same images for every model) and was scored on that "
            "split; the test images were not used. Chosen: " + record.rule + ". Then each model trained at its "
            f"chosen setting on the full training set with the study's seeds "
            f"({', '.join(map(str, study.info.seeds))}); every other section of this report uses those runs.")


def _table(record: TuningRecord) -> Table:
    settings = [p.setting for p in record.models[0].points] if record.models else []
    header = ["Model", *(setting_text(s) for s in settings), "Chosen", "Tuning runs", "Tuning compute"]
    rows = []
    for m in record.models:
        cells = {setting_text(p.setting): _point_cell(p) + (" ★" if m.chosen and p.setting == m.chosen else "")
                 for p in m.points}
        rows.append([m.label, *(cells.get(setting_text(s), fmt.DASH) for s in settings),
                     setting_text(m.chosen) if m.chosen else "none finished: shared setting", str(m.runs),
                     duration_text(m.seconds)])
    return Table(header, rows, caption="Validation accuracy (mean ± std over the tuning seeds, final epoch) of every "
                                       "setting; ★ the chosen one. A setting where a seed diverged or failed does "
                                       "not count.")


def validation_images(record: TuningRecord) -> int | None:
    size = record.validation.get("validation_size")
    return size if isinstance(size, int) and size > 0 else None


def _edge_warnings(record: TuningRecord, labels=None) -> list[str]:
    """Why a choice is weak: at an end of the grid, or ahead of the next setting by less than one
    validation image. `labels`: only these models (default: all)."""
    out = []
    images = validation_images(record)
    for m in record.models:
        if labels is not None and m.label not in labels:
            continue
        for key, where in m.edge.items():
            out.append(f"{m.label}: the chosen {key}={_g(m.chosen[key])} is {EDGE_WORDS.get(where, where)} value on "
                       f"the grid: the grid was too narrow, and a {'smaller' if where == 'lowest' else 'larger'} "
                       f"{key} may be better still (widen [tune] {key}, or raise span).")
        lead = m.lead()
        if lead and images and lead[0] < 1 / images:
            out.append(f"{m.label}: the chosen {setting_text(m.chosen)} is ahead of {setting_text(lead[1])} by "
                       f"{100 * lead[0]:.2f} points of validation accuracy, less than one of the {images:,} validation "
                       "images: the choice between them is a coin toss (more tuning seeds or validation images "
                       "would settle it).")
    return out


def choice_warnings(study: StudyResults, labels) -> list[str]:
    """The weak choices among `labels`' models of a tuned study, for its answers."""
    return _edge_warnings(study.info.tuning, set(labels)) if study.info.tuning is not None else []


def _budget(study: StudyResults, record: TuningRecord) -> str:
    runs = sorted({m.runs for m in record.models})
    same = (f"every model had the same {runs[0]} tuning runs ({len(record.models[0].points)} settings × "
            f"{counted(len(record.seeds), 'seed')} × {counted(record.epochs, 'epoch')})" if len(runs) == 1
            else "models had " + ", ".join(f"{m.label} {m.runs}" for m in record.models) + " tuning runs")
    compute = ", ".join(f"{m.label} {duration_text(m.seconds)}" for m in record.models)
    where = f" on {study.device}" if study.device else ""
    total = sum(m.seconds for m in record.models)
    return (f"Budget: {same}. Their training loops took {compute} ({duration_text(total)} in all{where}), on top "
            "of the evaluation runs in the Summary.")


def same_runs(study: StudyResults) -> set[str]:
    """Models whose chosen setting is the shared one: the very same runs on both sides."""
    shared = {m.label: {r.key for r in m.runs} for m in study.shared.models}
    return {m.label for m in study.models if m.runs and shared.get(m.label) == {r.key for r in m.runs}}


def _shared_table(study: StudyResults) -> list:
    rows = compare.compare_results(study.shared, study, ["test_acc"], study.info.margin, ("shared", "tuned"))
    if not rows:
        return []
    header, body = compare.table(rows, ("At shared settings", "At tuned settings"))
    same = same_runs(study)
    for row, cells in zip(rows, body):
        if row["model"] in same:  # not two samples: one set of runs, counted twice
            cells[4:] = ["—", "—", "—", "—", "same runs (its chosen setting is the shared one)", "—"]
    keep = [i for i, h in enumerate(header) if h != "Metric"]
    return [Table([header[i] for i in keep], [[r[i] for i in keep] for r in body],
                  caption=f"Each model's test accuracy at the shared settings ({study.shared.dir}) and at its tuned "
                          "setting (this study), with the report's statistics."),
            Paragraph("Whether each answer holds at tuned settings is said under Answers (robust to tuning, or "
                      "changes with tuning).", note=True)]


def tuning_section(study: StudyResults, dpi: int = plots.DPI) -> Section:
    s = Section("Tuning")
    record = study.info.tuning
    if record is None:
        s.add(Paragraph("Not tuned: every model trained at the same shared settings (Manifest). A model whose best "
                        "learning rate differs from the shared one loses for that reason alone; "
                        "'cnnlab run STUDY --tune' first searches each model's learning rate on a validation split "
                        "of the training images, the same grid for every model, and compares them at their own best "
                        "settings."))
        return s
    s.add(Paragraph(_protocol(study, record)))
    if not record.models:
        s.add(Paragraph("No model was tuned."))
        return s
    colors = {m.label: m.index for m in study.models}
    s.add(image("tuning.png", tuning_plot(record, colors), dpi,
                "Validation accuracy against the learning rate per model, mean over tuning seeds with a ± 1 std "
                "band; the chosen setting starred"))
    s.add(_table(record))
    warnings = _edge_warnings(record)
    untuned = [m.label for m in record.models if not m.chosen]
    if untuned:
        warnings.append(f"{', '.join(untuned)}: no setting finished on every tuning seed, so "
                        f"{'it trains' if len(untuned) == 1 else 'they train'} at the shared settings.")
    if warnings:
        s.add(Bullets(warnings))
    s.add(Paragraph(_budget(study, record), note=True))
    if study.shared is not None:
        for block in _shared_table(study):
            s.add(block)
    else:
        s.add(Paragraph(f"No comparison with shared settings: {study.shared_note}. Run the study without --tune into "
                        "the same output directory for it; the answers then say which verdicts are robust to "
                        "tuning.", note=True))
    return s


# ---- robust to tuning? ---------------------------------------------------------------------

def _verdict_text(c: findings.Comparison, what: str) -> str:
    gap = findings.points_text(c.diff.diff)
    if c.verdict == "better":
        return f"{c.a.label} better than {c.b.label} by {gap} of {what}"
    if c.verdict == "equivalent":
        return f"equivalent within ±{findings.points_text(c.margin)} ({gap} apart)"
    return f"{c.verdict}, {gap} apart"


UNDECIDED = ("inconclusive", "untested")


def holds(shared: findings.Comparison, tuned: findings.Comparison) -> bool:
    """The same verdict, and for "better" the same model ahead."""
    if shared.verdict != tuned.verdict:
        return False
    return shared.verdict != "better" or shared.a.label == tuned.a.label


def _settings(record: TuningRecord, labels, train: dict) -> str:
    chosen = {m.label: m for m in record.models}
    tuned = ", ".join(f"{x} at {setting_text(chosen[x].chosen)}" for x in labels if x in chosen and chosen[x].chosen)
    shared = setting_text({k: train[k] for k in record.grid if k in train})
    return (f"Settings: shared, every model at {shared or 'the study defaults'}; tuned, {tuned or '—'}.")


def robustness(tuned_comparisons, shared_comparisons, what: str = "test accuracy",
               same=frozenset()) -> tuple[str, list[str]]:
    """("robust" | "changed" | "undecided" | "", lines): each comparison at shared settings next to tuned settings,
    matched by the two models' labels. `same`: labels of models whose chosen setting is the shared
    one, so that a pair of them is one set of runs seen twice."""
    shared = {frozenset((c.a.label, c.b.label)): c for c in shared_comparisons}
    lines, changed, matched, identical, undecided = [], 0, 0, 0, 0
    for c in tuned_comparisons:
        other = shared.get(frozenset((c.a.label, c.b.label)))
        if other is None:
            lines.append(f"{c.a.label} vs {c.b.label}: not compared at shared settings (no finished runs there).")
            continue
        matched += 1
        if c.a.label in same and c.b.label in same:
            identical += 1
            lines.append(f"{c.a.label} vs {c.b.label}: the same runs at both settings (both chose the shared "
                         f"setting): {_verdict_text(c, what)}.")
            continue
        ok = holds(other, c)
        changed += not ok
        # The same "inconclusive" twice decides nothing either way: it is not robustness.
        open_ = ok and c.verdict in UNDECIDED
        undecided += open_
        state = "undecided at both settings" if open_ else "robust to tuning" if ok else "changes with tuning"
        lines.append(f"{c.a.label} vs {c.b.label}: {state}; at shared settings {_verdict_text(other, what)}, at tuned "
                     f"settings {_verdict_text(c, what)}.")
    if not matched:
        return "", lines
    same = matched - changed - identical - undecided
    if changed:
        head = (f"Changes with tuning: {changed} of {matched} verdicts differ between shared and tuned settings, so "
                "the shared-settings answer depended on the learning rate.")
    elif identical == matched:
        head = ("Robust to tuning: every model compared here chose the shared setting, so its verdicts are those at "
                "shared settings.")
    elif same == 0:
        return "undecided", [("Not shown robust to tuning: no comparison here was decided at either setting, so "
                              "these seeds cannot tell whether tuning changes the answer."), *lines]
    else:
        head = ("Robust to tuning: the decided verdict is the same at shared and at tuned settings" if same == 1 else
                f"Robust to tuning: all {same} decided verdicts are the same at shared and at tuned settings")
        head += f" ({undecided} undecided at both)." if undecided else "."
    return ("changed" if changed else "robust"), [head, *lines]


def settings_line(study: StudyResults, labels) -> str:
    """The settings the two sides of a tuned study's comparisons trained at."""
    return _settings(study.info.tuning, labels, study.shared.info.train if study.shared else {})
