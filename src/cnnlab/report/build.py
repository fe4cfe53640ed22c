"""Assemble the report's sections from a loaded study.

One function per section, in the order they appear. Each returns a `Section` whose text
is plain (the renderers escape it). A section whose data was not measured in this study
says so instead of disappearing, so a reader can tell "not measured" from "forgotten".
"""

from datetime import datetime, timezone

import numpy as np

from cnnlab.report import claims, findings, fmt, plots
from cnnlab.report.document import Bullets, Document, Image, Paragraph, Section, Table, slug
from cnnlab.report.load import (ModelResults, StudyResults, confusion_view, erf_view, features_rf, grad_flow_view,
                                inference_view, last_spatial_layer, load_activations, receptive_field_view)
from cnnlab.report.stats import summarize
from cnnlab.units import duration_text

NOT_MEASURED = "not measured in this study"
SECTIONS = ("Summary", "Learning curves", "Accuracy vs cost", "Comparisons", "Findings", "Overfitting",
            "Confusion matrices", "Gradient flow", "Training stability", "Receptive fields", "Activations",
            "Claims in the course reports", "Manifest")


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]  # str.capitalize() would also lower "MACs"


def _not_measured(section: Section, what: str) -> Section:
    section.add(Paragraph(f"{_capital(what)}: {NOT_MEASURED}."))
    return section


def _with_runs(models: list[ModelResults]) -> list[ModelResults]:
    return [m for m in models if m.done]


def _first_done(model: ModelResults, pick):
    """The value `pick(run)` of the lowest-seed finished run that has one, with that run's seed."""
    for run in model.done:
        value = pick(run)
        if value is not None:
            return value, run.seed
    return None, None


def _image(name: str, figure, dpi: int, alt: str) -> Image:
    """A plot as the report embeds it (PNG at `dpi`); the Figure stays with it for the
    notebook API (`cnnlab.StudyResult.figure`)."""
    return Image(name, plots.png(figure, dpi), alt, figure=figure)


def _sharing_note(study: StudyResults) -> str | None:
    """Say so when timed runs shared their device: such times are not comparable with
    times measured with the device to itself (accuracy is unaffected)."""
    counts = [r.analysis.get("sharing", {}).get("runs_per_device") for r in study.all_runs if r.usable]
    shared = [k for k in counts if k is None or k > 1]
    if not shared:
        return None
    most = max((k for k in shared if k is not None), default=None)
    how = f"up to {most} runs at once" if most is not None else "an unknown number of runs (Ray)"
    return (f"{len(shared)} of {len(counts)} runs shared their device with other runs ({how}): their train time, "
            "time/epoch, latency and throughput are not comparable with times measured with the device to itself "
            "(run with --workers 1 for those); accuracies do not depend on it.")


def _step_modes(study: StudyResults) -> str | None:
    modes = {}
    for r in study.all_runs:
        if r.usable and r.analysis.get("step_mode"):
            modes[r.analysis["step_mode"]] = modes.get(r.analysis["step_mode"], 0) + 1
    return "; ".join(f"{n} run{'s' if n != 1 else ''}: {mode}" for mode, n in sorted(modes.items())) or None


def _inference_setup(study: StudyResults) -> dict | None:
    """How inference was timed (device, threads, precision, layout, repeats), from the first run that did."""
    for run in study.all_runs:
        inf = run.analysis.get("inference")
        view = inference_view(inf)
        if view.get("batches"):
            repeats = inf.get("repeats") or next(iter(view["batches"].values())).get("repeats")
            return {**view, "repeats": repeats}
    return None


# ---- sections ------------------------------------------------------------------------

def summary_section(study: StudyResults) -> Section:
    s = Section("Summary")
    ranked = findings.by_test_accuracy(study.models)
    header = ["Model", "Params", "MACs", "Train acc", "Test acc", "Test acc 95% CI", "Test loss", "Train time",
              "Time/epoch", "Latency (batch 1)", "Throughput (batch 256)", "Peak train memory", "Seeds"]
    rows = []
    for m in ranked:
        test = summarize(m.values("test_acc"))
        latency = summarize(m.values("latency_ms"))
        throughput = summarize(m.values("throughput"))
        rows.append([
            m.label, fmt.count(m.first("params")), fmt.count(m.first("macs")),
            fmt.mean_std(summarize(m.values("train_acc")), 100, unit="%"),
            fmt.mean_std(test, 100, unit="%"), fmt.ci(test, 100),
            fmt.mean_std(summarize(m.values("test_loss")), digits=3),
            fmt.mean_std(summarize(m.values("train_seconds")), digits=1, unit="s"),
            fmt.mean_std(summarize(m.values("epoch_seconds")), digits=2, unit="s"),
            f"{latency.mean:.2f} ms" if latency.mean is not None else fmt.DASH,
            f"{throughput.mean:,.0f} img/s" if throughput.mean is not None else fmt.DASH,
            fmt.size(summarize(m.values("peak_bytes")).mean),
            f"{len(m.done)}/{len(m.runs)}"])
    s.add(Table(header, rows, caption="Models sorted by mean test accuracy (final epoch)."))

    missing = [name for name, metric in (("parameters", "params"), ("MACs", "macs"),
                                         ("inference latency and throughput", "latency_ms"),
                                         ("peak training memory", "peak_bytes"))
               if not any(m.values(metric) for m in study.models)]
    if missing:
        s.add(Paragraph(f"{_capital(', '.join(missing))}: {NOT_MEASURED}.", note=True))
    notes = ["Accuracies and losses are from the last epoch, as mean ± sample standard deviation over seeds; "
             "the 95% CI of the mean uses Student's t distribution (none with one seed). "
             "Train accuracy is the running accuracy during the last training epoch "
             "(augmentation and dropout active), test accuracy is measured afterwards in eval mode.",
             "Train time sums the training loops of all epochs (evaluation excluded); time/epoch is the median "
             "over epochs, so the first epoch's warm-up does not skew it. MACs: multiply–accumulates of one "
             "forward pass of one image."]
    sharing = _sharing_note(study)
    if sharing:
        notes.append(sharing)
    inf = _inference_setup(study)
    if inf:
        details = ", ".join(str(x) for x in (inf.get("device"), f"{inf['threads']} threads" if inf.get("threads")
                                             else None, inf.get("precision"), inf.get("layout")) if x)
        notes.append(f"Latency: median of {inf.get('repeats') or 'repeated'} timed forward passes after warm-up, "
                     f"synchronised when on a GPU ({details}); throughput = batch size / median latency.")
    s.add(Paragraph(" ".join(notes), note=True))
    problems = findings.run_problems(study.models)
    if problems:
        s.add(Paragraph("Runs left out of the statistics:"))
        s.add(Bullets(problems))
    return s


def learning_curves_section(study: StudyResults, dpi: int) -> Section:
    s = Section("Learning curves")
    models = [m for m in _with_runs(study.models) if any(r.metrics for r in m.done)]
    if not models:
        return _not_measured(s, "per-epoch metrics")
    s.add(_image("learning_curves.png", plots.learning_curves(models), dpi,
                 "Loss and accuracy per epoch, train and test, mean over seeds with a ± 1 std band"))
    return s


def accuracy_vs_cost_section(study: StudyResults, dpi: int) -> Section:
    s = Section("Accuracy vs cost")
    models = [m for m in study.models if m.values("test_acc")]
    if not models or not any(m.values("params") or m.values("train_seconds") for m in models):
        return _not_measured(s, "parameter counts and training times")
    s.add(_image("accuracy_vs_cost.png", plots.accuracy_vs_cost(models), dpi,
                 "Test accuracy against parameter count (log scale) and against training time"))
    s.add(Paragraph("Points are means over seeds; error bars are ± 1 std.", note=True))
    return s


def comparisons_section(study: StudyResults, pairs: list[findings.Comparison]) -> Section:
    s = Section("Comparisons")
    if not pairs:
        s.add(Paragraph("Fewer than two models have finished runs: nothing to compare."))
        return s
    rows = [[c.a.label, c.b.label, fmt.points(c.diff.diff), fmt.ci(c.diff, 100), fmt.pvalue(c.diff.p),
             fmt.pvalue(c.p_holm), f"{c.diff.n_a} / {c.diff.n_b}",
             "yes" if c.significant else ("no test" if c.diff.p is None else "no")] for c in pairs]
    s.add(Table(["Model A", "Model B", "Δ test acc (A − B)", "95% CI (pts)", "Welch p", "Holm p", "Seeds",
                 "Significant (5%)"], rows))
    s.add(Paragraph("For every pair: difference of mean test accuracy in percentage points with a 95% CI "
                    "(Welch–Satterthwaite degrees of freedom) and the two-sided Welch t-test p-value "
                    "(scipy.stats.ttest_ind, equal_var=False), computed only with at least two seeds per model. "
                    "Holm's correction adjusts the p-values for the number of pairs; "
                    "a difference counts as significant when the adjusted p is below 0.05.", note=True))
    return s


def findings_section(study: StudyResults, pairs: list[findings.Comparison]) -> Section:
    s = Section("Findings")
    items = (findings.accuracy_findings(pairs) + findings.cost_findings(study.models, study.device)
             + findings.overfitting_findings(study.models) + findings.gradient_findings(study.models))
    if items:
        s.add(Bullets(items))
    else:
        s.add(Paragraph("No finished runs: no findings."))
    return s


def overfitting_section(study: StudyResults, dpi: int) -> Section:
    s = Section("Overfitting")
    models = [m for m in _with_runs(study.models) if m.values("gap")]
    if not models:
        return _not_measured(s, "train and test accuracy per epoch")
    s.add(_image("train_test_gap.png", plots.train_test_gap(models), dpi,
                 "Train minus test accuracy per epoch, mean over seeds with a ± 1 std band"))
    rows = []
    for m in findings.by_test_accuracy(models):
        analyses = [r.overfitting() for r in m.done]
        analyses = [a for a in analyses if a]
        rows.append([m.label, fmt.mean_std(summarize(m.values("gap")), 100, unit="pts"),
                     fmt.mean_std(summarize(m.values("best_test_acc")), 100, unit="%"),
                     fmt.mean_std(summarize(m.values("test_acc")), 100, unit="%"),
                     ", ".join(str(a["best_epoch"]) for a in analyses) or fmt.DASH,
                     f"{sum(bool(a['test_loss_rose']) for a in analyses)} of {len(analyses)}"])
    s.add(Table(["Model", "Final gap (train − test)", "Best test acc", "Final test acc",
                 "Lowest test loss at epoch (per seed)", "Test loss rose for 2+ epochs after its minimum"], rows))
    s.add(Paragraph("A growing gap while test loss rises from its minimum is the usual sign of overfitting; "
                    "the gap uses the running train accuracy of each epoch (cnnlab.analysis.overfitting).",
                    note=True))
    return s


def confusion_section(study: StudyResults, dpi: int) -> Section:
    s = Section("Confusion matrices")
    items, per_class = [], []
    for m in findings.by_test_accuracy(study.models):
        views = [v for v in (confusion_view(r.analysis.get("confusion")) for r in m.done) if v]
        views = [v for v in views if v["matrix"].shape == views[0]["matrix"].shape]
        if not views:
            continue
        total = sum(v["matrix"] for v in views)
        items.append((f"{m.label} ({len(views)} seed{'s' if len(views) > 1 else ''})", total, views[0]["classes"]))
        per_class.append((m, total, views[0]["classes"]))
    if not items:
        return _not_measured(s, "confusion matrices")
    s.add(_image("confusion_matrices.png", plots.confusion_matrices(items), dpi,
                 "Confusion matrices, rows normalised to the true class, summed over seeds"))
    sentences = []
    for m, matrix, classes in per_class:
        off = matrix.copy()
        np.fill_diagonal(off, 0)
        if off.sum() > 0:
            i, j = np.unravel_index(int(np.argmax(off)), off.shape)
            sentences.append(f"{m.label}: the most frequent confusion is true {classes[i]} predicted as "
                             f"{classes[j]} ({int(off[i, j])} test images over all seeds).")
    if sentences:
        s.add(Bullets(sentences))
    classes = per_class[0][2]
    if len(classes) <= 20 and all(len(c) == len(classes) for _, _, c in per_class):
        rows = []
        for k, name in enumerate(classes):
            row = [name]
            for _, matrix, _ in per_class:
                total = matrix[k].sum()
                row.append(fmt.pct(matrix[k, k] / total, 1) if total else fmt.DASH)
            rows.append(row)
        s.add(Table(["Class"] + [m.label for m, _, _ in per_class], rows,
                    caption="Per-class test accuracy (all seeds pooled)."))
    return s


def gradient_flow_section(study: StudyResults, dpi: int) -> Section:
    s = Section("Gradient flow")
    lines, maps, rows = [], [], []
    for m in study.models:
        view, seed = _first_done(m, lambda r: grad_flow_view(r.analysis.get("grad_flow")))
        if not view:
            continue
        label = f"{m.label}, seed {seed}"
        lines.append((label, m.index, view))
        maps.append((label, view))
        rows.append([m.label, str(len(view["layers"])),
                     fmt.sci(view["first"][0] if view["first"] else None),
                     fmt.sci(view["first"][-1] if view["first"] else None),
                     fmt.sci(view["last"][0] if view["last"] else None),
                     fmt.sci(view["last"][-1] if view["last"] else None),
                     fmt.sci(view["ratio_first"]), fmt.sci(view["ratio_last"]),
                     "yes" if view.get("vanishing") else "no", "yes" if view.get("exploding") else "no"])
    if not lines:
        return _not_measured(s, "per-layer gradient norms")
    s.add(Table(["Model", "Weight layers", "First layer, start", "Last layer, start", "First layer, end",
                 "Last layer, end", "First/last ratio, start", "First/last ratio, end", "Vanishing",
                 "Exploding"], rows, caption="Gradient L2 norms of the weight tensors (lowest seed)."))
    s.add(Paragraph("Start and end are the first and last logged training steps. Vanishing: first/last-layer "
                    "ratio below 1e-3 or a layer norm below 1e-7 at any logged step; exploding: a norm above "
                    "1e3 or not finite.", note=True))
    s.add(_image("grad_flow_layers.png", plots.grad_flow_lines(lines), dpi,
                 "Gradient norm per layer at the first and last logged step"))
    if any(v.get("matrix") is not None for _, v in maps):
        s.add(_image("grad_flow_heatmap.png", plots.grad_flow_heatmaps(maps), dpi,
                     "Heatmap of gradient norm per layer and training step"))
    return s


def stability_section(study: StudyResults) -> Section:
    s = Section("Training stability")
    rows = []
    for m in findings.by_test_accuracy(study.models):
        # Diverged runs count here: diverging is the instability this section is about.
        runs = [r for r in m.runs if r.status in ("done", "diverged") and r.trusted]
        measured = [r.analysis["stability"] for r in runs if isinstance(r.analysis.get("stability"), dict)]
        diverged = [r for r in runs if r.status == "diverged"]
        if not measured and not diverged:
            continue
        spikes = [x.get("grad_spikes") for x in measured if isinstance(x.get("grad_spikes"), int)]
        nonfinite = [x.get("nonfinite_losses") for x in measured if isinstance(x.get("nonfinite_losses"), int)]
        where = ", ".join(f"seed {r.seed} at epoch {r.analysis.get('diverged_epoch', '?')}" for r in diverged)
        rows.append([m.label, fmt.mean_std(summarize([x.get("loss_std_tail") for x in measured]), digits=4),
                     fmt.mean_std(summarize([x.get("loss_mean_tail") for x in measured]), digits=3),
                     str(sum(spikes)) if spikes else fmt.DASH, str(sum(nonfinite)) if nonfinite else fmt.DASH,
                     f"{len(diverged)} of {len(runs)}" + (f" ({where})" if where else "")])
    if not rows:
        return _not_measured(s, "per-step loss noise and gradient spikes")
    s.add(Table(["Model", "Loss std, last 20% of steps", "Mean loss, last 20% of steps", "Gradient-norm spikes",
                 "Non-finite losses", "Diverged runs"], rows,
                caption="Per-step training loss and gradient norm; mean ± std over seeds, counts summed over seeds."))
    s.add(Paragraph("A spike is a step whose gradient norm exceeds 10× the median of the previous 100 steps "
                    "(or is not finite). A lower loss std at the end of training means a steadier optimisation.",
                    note=True))
    return s


_WINDOW_TYPES = ("conv", "pool")


def receptive_fields_section(study: StudyResults, dpi: int) -> Section:
    s = Section("Receptive fields")
    items, summary_rows, details = [], [], []
    for m in study.models:
        rows, _ = _first_done(m, lambda r: receptive_field_view(r.analysis.get("receptive_field")))
        if not rows:
            continue
        items.append((m.label, m.index, rows))
        window = [r for r in rows if any(t in r["type"].lower() for t in _WINDOW_TYPES)]
        last = last_spatial_layer(rows)
        if last is not None:
            summary_rows.append([m.label, last["rf_text"], last["jump_text"], last["layer"]])
        else:  # a fully connected net: its first layer already sees every pixel
            whole = next((r["rf_text"] for r in rows if r["rf"] is not None), fmt.DASH)
            summary_rows.append([m.label, f"{whole} (whole input: no convolution)", fmt.DASH, fmt.DASH])
        if window:
            details.append((m, window))
    if not items:
        return _not_measured(s, "receptive fields")
    s.add(Table(["Model", "Receptive field of the last spatial layer", "Its stride (jump)", "Layer"], summary_rows,
                caption="Theoretical receptive field in input pixels, before positions are mixed "
                        "(flatten or global pooling)."))
    s.add(_image("receptive_field_growth.png", plots.receptive_field_growth(items), dpi,
                 "Receptive field after each layer"))
    _effective_fields(s, study, dpi)
    for m, rows in details:
        s.add(Table(["Layer", "Type", "Output shape", "Receptive field", "Jump"],
                    [[r["layer"], r["type"], r["out_shape"], r["rf_text"], r["jump_text"]] for r in rows[:60]],
                    caption=f"{m.label}: convolution and pooling layers"))
    return s


def _effective_fields(s: Section, study: StudyResults, dpi: int):
    """The effective receptive field (analysis "erf") next to the theoretical one, both at
    the output of the model's `features`."""
    rows, items, without = [], [], []
    for m in study.models:
        views = [(r.seed, erf_view(r.analysis.get("erf"))) for r in m.done if "erf" in r.analysis]
        if not views:
            continue
        measured = [(seed, v) for seed, v in views if v is not None]
        if not measured:
            without.append(m.label)
            continue
        theory, _ = _first_done(m, lambda r: features_rf(receptive_field_view(r.analysis.get("receptive_field")) or []))
        seed, first = measured[0]
        items.append((f"{m.label} (seed {seed})", first, theory))
        sides = ", ".join(fmt.DASH if v["side"] is None else f"{v['side']:.0f}" for _, v in measured)
        size = "×".join(str(n) for n in first["map"].shape)
        rows.append([m.label, f"{theory} px" if theory else fmt.DASH, f"{sides} px", size])
    if not rows and not without:
        return
    if rows:
        s.add(Table(["Model", "Theoretical field at the features output",
                     "Effective field: side holding 95% (per seed)", "Input"], rows,
                    caption="Effective receptive field (Luo et al. 2016) of the centre unit of the last feature map."))
        s.add(_image("effective_receptive_fields.png", plots.effective_receptive_fields(items), dpi,
                     "Effective receptive field per model: share of the input-gradient mass of the centre unit "
                     "(lowest seed), with the 95% square (solid) and the theoretical field (dashed)"))
        s.add(Paragraph("The effective field is measured on the trained model: the gradient of the centre unit "
                        "of the `features` output (all channels) with respect to 16 random inputs, averaged in "
                        "absolute value; its side is that of the smallest centred square holding 95% of it. "
                        "The theoretical field counts every pixel the unit could see.", note=True))
    if without:
        s.add(Paragraph(f"No effective receptive field for: {', '.join(without)} (their features are not a "
                        "feature map).", note=True))


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


def activations_section(study: StudyResults, dpi: int) -> Section:
    s = Section("Activations")
    without = []
    for m in study.models:
        arrays, seed = _first_done(m, load_activations)
        if not arrays:
            meta, _ = _first_done(m, lambda r: r.analysis.get("activations"))
            if isinstance(meta, dict) and not meta.get("layers"):
                without.append(f"{m.label} (no convolution layers)")
            continue
        filters = arrays.get("filters")
        if filters is not None and np.asarray(filters).ndim in (3, 4):
            s.add(_image(f"filters_{m.index}_{slug(m.name)}.png",
                         plots.first_layer_filters(m.label, np.asarray(filters)), dpi,
                         f"{m.label}: first-layer filters (seed {seed})"))
        maps = _feature_maps(arrays)
        if maps:
            images = arrays.get("images")
            image = np.asarray(images)[0] if images is not None and np.asarray(images).ndim == 4 else None
            s.add(_image(f"feature_maps_{m.index}_{slug(m.name)}.png",
                         plots.feature_maps(m.label, image, maps[:8]), dpi,
                         f"{m.label}: feature maps for one test image (seed {seed})"))
    if not s.blocks:
        _not_measured(s, "first-layer activations and feature maps")
    if without:
        s.add(Paragraph(f"No feature maps for: {', '.join(without)}.", note=True))
    return s


def claims_section(study: StudyResults) -> Section:
    s = Section("Claims in the course reports")
    table = claims.claims_rows(study)
    if table is None:
        s.add(Paragraph("This study names no reference claims from the course reports (no known `reference`)."))
        return s
    s.add(Paragraph(f"Numbers claimed in the course report ({claims.SOURCE}, PRODUCT.md) next to what this "
                    "study measured. They are claims, not targets: their epochs, hyperparameters and hardware "
                    "differ from ours, so agreement in ranking matters more than in the last digit."))
    header, rows, shared_note = table
    if shared_note:
        s.add(Paragraph(f"Every claim below: {shared_note}.", note=True))
    s.add(Table(header, rows))
    sentences = claims.ranking_sentences(study)
    if sentences:
        s.add(Bullets(sentences))
    return s


def _code_text(study: StudyResults) -> str | None:
    """The code fingerprint(s) of the study's runs, and whether they are this cnnlab's."""
    from cnnlab.fingerprint import code_fingerprint

    codes = sorted({r.config.code for r in study.all_runs if r.config is not None})
    if not codes:
        return study.manifest.get("code")
    current = code_fingerprint()
    if codes == [current]:
        return f"{current} (the installed cnnlab's)"
    return (f"{', '.join(codes)}; the installed cnnlab is {current}: results of other code are stale, "
            "run the study again for current ones")


def manifest_section(study: StudyResults) -> Section:
    s = Section("Manifest")
    m = study.manifest
    size = lambda n: f"{n:,}" if isinstance(n, int) else fmt.DASH  # noqa: E731
    runs = None
    if m.get("runs_trained") is not None:
        runs = f"{m.get('runs_trained')} trained, {m.get('runs_cached', 0)} reused from earlier invocations"
    git = m.get("git") if isinstance(m.get("git"), dict) else None
    commit = f"{git['commit'][:12]}{' (uncommitted changes)' if git.get('dirty') else ''}" if git else None
    rows = [["cnnlab version", m.get("cnnlab_version")], ["code fingerprint", _code_text(study)],
            ["git commit", commit], ["torch version", m.get("torch_version")],
            ["python version", m.get("python_version")], ["platform", m.get("platform")],
            ["device", m.get("device")], ["CPU model", m.get("cpu_model")], ["threads", m.get("threads")],
            ["executor", m.get("executor")], ["training steps", _step_modes(study)],
            ["precision", m.get("precision")], ["dataset", m.get("dataset") or study.info.get("dataset")],
            ["dataset source", m.get("dataset_source")], ["train images", size(m.get("train_size"))],
            ["test images", size(m.get("test_size"))], ["profile", study.info.get("profile") or fmt.DASH],
            ["subset", study.info.get("subset")], ["test subset", study.info.get("test_subset")],
            ["inference timing repeats", study.info.get("inference_repeats")],
            ["epochs", study.info.get("epochs")], ["seeds", ", ".join(str(x) for x in study.info.get("seeds") or [])],
            ["wall-clock of the whole study", duration_text(m.get("wall_clock_seconds"))],
            ["runs", runs], ["started", m.get("started")], ["finished", m.get("finished")],
            ["command", m.get("command")], ["study file", study.info.get("source")],
            ["study directory", str(study.dir)], ["runs directory", str(study.runs_dir)],
            ["report rendered", datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")]]
    rows = [[k, fmt.DASH if v is None or v == "" else str(v)] for k, v in rows]
    s.add(Table(["Item", "Value"], rows))
    train = study.info.get("train")
    if isinstance(train, dict) and train:
        s.add(Table(["Training option (shared; per-model settings below)", "Value"],
                    [[str(k), str(v)] for k, v in sorted(train.items())]))
        s.add(Paragraph("Weight decay applies to weights with two or more dimensions (conv kernels, linear "
                        "matrices) only; biases, BatchNorm scales and shifts and the custom layers' own scalars "
                        "(Swish beta, LpPool p, CustomConv gain) are never decayed.", note=True))
    own = []
    for model in study.models:
        spec = next((x for x in study.info.get("models") or [] if isinstance(x, dict) and x.get("name") == model.name),
                    {})
        settings = [f"{k}={v}" for k, v in sorted((spec.get("kwargs") or {}).items())]
        settings += [f"train.{k}={v}" for k, v in sorted((spec.get("train") or {}).items())]
        if settings:
            own.append([model.label, model.name, ", ".join(settings)])
    if own:
        s.add(Table(["Model", "Registered name", "Its own settings (differ from the shared ones)"], own))
    if not m:
        s.add(Paragraph(f"The study's manifest is missing: hardware and versions {NOT_MEASURED}.", note=True))
    return s


# ---- the whole document -----------------------------------------------------------------

def build_document(study: StudyResults, dpi: int = plots.DPI) -> Document:
    info = study.info
    subtitle = []
    if info.get("description"):
        subtitle.append(str(info["description"]))
    facts = [f"study {info.get('name', study.dir.name)}", f"profile {info.get('profile') or fmt.DASH}"]
    if info.get("dataset"):
        facts.append(f"dataset {info['dataset']}")
    for key, what in (("train_size", "training"), ("test_size", "test")):
        if isinstance(study.manifest.get(key), int):
            facts.append(f"{study.manifest[key]:,} {what} images")
    if info.get("epochs"):
        facts.append(f"{info['epochs']} epoch{'s' if info['epochs'] != 1 else ''}")
    if info.get("seeds"):
        facts.append(f"seeds {', '.join(str(x) for x in info['seeds'])}")
    runs = study.all_runs
    facts.append(f"{sum(r.usable for r in runs)} of {len(runs)} runs done")
    subtitle.append(" · ".join(facts))
    pairs = findings.compare(study.models)
    sections = [summary_section(study), learning_curves_section(study, dpi), accuracy_vs_cost_section(study, dpi),
                comparisons_section(study, pairs), findings_section(study, pairs), overfitting_section(study, dpi),
                confusion_section(study, dpi), gradient_flow_section(study, dpi), stability_section(study),
                receptive_fields_section(study, dpi), activations_section(study, dpi), claims_section(study),
                manifest_section(study)]
    return Document(title=study.title, subtitle=subtitle, sections=sections)
