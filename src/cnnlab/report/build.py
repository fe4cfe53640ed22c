"""Assemble the report's sections from a loaded study.

The built-in sections are functions here; every analysis (cnnlab.plugins) adds its own
section, summary-table columns and findings. Where each section goes is data, declared
once: `CORE_SECTIONS` below gives the built-in ones their place, each analysis its
`order`. Each section is plain text (the renderers escape it); a section whose data was
not measured in this study says so instead of disappearing.
"""

import shlex
from datetime import datetime, timezone

from cnnlab.plugins import analyses
from cnnlab.report import answers, claims, findings, fmt, noise, plots, sizes, tuning
from cnnlab.results import busy
from cnnlab.document import Bullets, Document, Paragraph, Section, Table
from cnnlab.results import StudyResults, get_metric
from cnnlab.report.sections import NOT_MEASURED, capital, image, not_measured, with_runs
from cnnlab.report.summary import summary_rows
from cnnlab.stats.constants import ALPHA
from cnnlab.units import duration_text


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


# ---- sections ------------------------------------------------------------------------

def summary_section(study: StudyResults) -> Section:
    s = Section("Summary")
    columns = [c for a in analyses() for c in a.summary_columns]
    header = ["Model", "Params", "MACs", "Train acc", "Test acc", "Test acc 95% CI", "Test loss", "Train time",
              "Time/epoch", *(c.header for c in columns), "Seeds"]
    rows = []
    for m in summary_rows(study):
        test = m["test_acc_summary"]
        rows.append([
            m["model"], fmt.count(m["params"]), fmt.count(m["macs"]),
            fmt.mean_std(m["train_acc_summary"], 100, unit="%"),
            fmt.mean_std(test, 100, unit="%"), fmt.ci(test, 100),
            fmt.mean_std(m["test_loss_summary"], digits=3),
            fmt.mean_std(m["train_seconds_summary"], digits=1, unit="s"),
            fmt.mean_std(m["epoch_seconds_summary"], digits=2, unit="s"),
            *(fmt.DASH if m[c.metric] is None else c.show(m[c.metric]) for c in columns),
            f"{m['seeds_done']}/{m['runs']}"])
    # A column no model has a value in says nothing the note below does not: leave it out.
    empty = {i for i in range(1, len(header)) if rows and all(r[i] == fmt.DASH for r in rows)}
    header, rows = ([h for i, h in enumerate(header) if i not in empty],
                    [[c for i, c in enumerate(r) if i not in empty] for r in rows])
    s.add(Table(header, rows, caption="Models sorted by mean test accuracy (final epoch)."))

    measured = [("parameters", "params"), ("MACs", "macs"), *((c.what, c.metric) for c in columns)]
    missing = list(dict.fromkeys(what for what, metric in measured if not any(m.values(metric) for m in study.models)))
    if missing:
        s.add(Paragraph(f"{capital(', '.join(missing))}: {NOT_MEASURED}.", note=True))
    notes = ["Accuracies and losses are from the last epoch, as mean ± sample standard deviation over seeds; "
             "the 95% CI of the mean uses Student's t distribution on the logit scale, mapped back, so it stays "
             "within 0–100% (none with one seed). "
             "Train accuracy is the running accuracy during the last training epoch "
             "(augmentation and dropout active), test accuracy is measured afterwards in eval mode.",
             "Train time sums the training loops of all epochs (evaluation excluded); time/epoch is the median "
             "over epochs, so the first epoch's warm-up does not skew it. MACs: multiply–accumulates of one "
             "forward pass of one image."]
    sharing = _sharing_note(study)
    if sharing:
        notes.append(sharing)
    notes += [note for a in analyses() if a.summary_note for note in [a.summary_note(study)] if note]
    s.add(Paragraph(" ".join(notes), note=True))
    noisy = [f"{get_metric(metric).title[:1].upper() + get_metric(metric).title[1:]}: {why}."
             for metric in busy.TIMED_METRICS for why in [busy.busy(study.models, metric)] if why]
    if noisy:
        s.add(Paragraph("Timings from a busy machine (shown above, but compared nowhere in this report):"))
        s.add(Bullets(noisy))
    problems = findings.run_problems(study.models)
    if problems:
        s.add(Paragraph("Runs left out of the statistics:"))
        s.add(Bullets(problems))
    return s


def learning_curves_section(study: StudyResults, dpi: int) -> Section:
    s = Section("Learning curves")
    models = [m for m in with_runs(study.models) if any(r.metrics for r in m.done)]
    if not models:
        return not_measured(s, "per-epoch metrics")
    s.add(image("learning_curves.png", plots.learning_curves(models), dpi,
                 "Loss and accuracy per epoch, train and test, mean over seeds with a ± 1 std band"))
    return s


def accuracy_vs_cost_section(study: StudyResults, dpi: int) -> Section:
    s = Section("Accuracy vs cost")
    models = [m for m in study.models if m.values("test_acc")]
    if not models or not any(m.values("params") or m.values("train_seconds") for m in models):
        return not_measured(s, "parameter counts and training times")
    s.add(image("accuracy_vs_cost.png", plots.accuracy_vs_cost(models), dpi,
                 "Test accuracy against parameter count (log scale) and against training time"))
    s.add(Paragraph("Points are means over seeds; error bars are ± 1 std.", note=True))
    return s


def how_to_read(study: StudyResults) -> str:
    """What a verdict means, in the words every report and the suite page use (the whole
    procedure: docs/statistics.md)."""
    margin = findings.points_text(study.info.margin / 100)
    settings = findings.family_settings(study)
    looks = settings["looks"]
    plan = settings["plan_seeds"] or (min(looks) if looks else None)
    level = f"{100 * ALPHA:g}%"
    if len(looks) > 1:
        seen = (f" This study was planned for {plan} seeds per model and looked at {len(looks)} times, with "
                f"{', '.join(map(str, looks))} seeds per model.")
    elif plan and looks and plan > looks[0]:
        seen = f" This study was planned for up to {plan} seeds per model (--until-decided) and looked at once."
    else:
        seen = " This study was looked at once, at the size it was planned for, so its verdicts are tested at the full level."
    return ("How to read the verdicts: accuracies are test accuracies at the last epoch, as means over seeds with a "
            "95% interval computed with Student's t on the logit scale and mapped back, so it stays within 0–100%; "
            "the intervals cover the spread from seed to seed on these test images, not the sampling of the test "
            "images themselves. Every compared pair ends in one of three verdicts. Better: a two-sided t-test ("
            + ("the paired t-test over the seeds both models share" if study.info.test == "paired" else "Welch's")
            + f"), Holm-adjusted over the comparisons of its question (or of the study), rejects at {level}, the "
            "level the study is held to over all its looks. Equivalent: two one-sided tests (TOST) of the same kind, "
            f"adjusted the same way, show the difference lies within ±{margin}. Inconclusive: neither; the report "
            "then gives the smallest difference these seeds detect (80% power on average over how uncertain the "
            "observed spread is) and how many seeds per model would decide. A difference's interval is given at "
            "the confidence its test used, so it excludes zero exactly when the verdict is 'better'. Seeds added "
            "after a look make another look: each look spends the part of the level its study planned for it "
            "(group-sequential boundaries, Pocock-type spending over the planned seeds), a pair's numbers are those "
            "of the look that decided it, and seeds beyond the plan cannot change a verdict. The whole procedure: "
            "docs/statistics.md in cnnlab's documentation." + seen)


def _p_cell(c: findings.Comparison) -> str:
    if c.diff.p is None:
        return fmt.DASH
    p = f"{fmt.pvalue(c.diff.p)} ({'paired' if c.paired else 'Welch'})"
    if c.looks > 1:
        p += f", look {c.look} of {c.looks}, sequential {fmt.pvalue(c.p_sequential)}"
    return p


def _interval_cell(c: findings.Comparison) -> str:
    interval = fmt.ci(c.diff, 100)
    if interval == fmt.DASH or c.ci_confidence is None or abs(c.ci_confidence - (1 - ALPHA)) < 1e-9:
        return interval
    return f"{interval} ({fmt.confidence(c.ci_confidence)})"


def comparisons_section(study: StudyResults, pairs: list[findings.Comparison]) -> Section:
    s = Section("Comparisons")
    if not pairs:
        s.add(Paragraph("Fewer than two models have finished runs: nothing to compare."))
        return s
    rows = [[c.a.label, c.b.label, fmt.points(c.diff.diff), _interval_cell(c), _p_cell(c),
             fmt.pvalue(c.p_holm), fmt.pvalue(c.p_equivalent_holm), c.verdict,
             fmt.points(c.detectable, signed=False) if c.detectable else fmt.DASH,
             str(c.needed.n) if c.needed and c.needed.n else (f"> {c.needed.max_seeds:,}" if c.needed else fmt.DASH),
             f"{c.diff.n_a} / {c.diff.n_b}"] for c in pairs]
    s.add(Table(["Model A", "Model B", "Δ test acc (A − B)", "CI (pts)", "t-test p", "Holm p",
                 f"Equivalence p (±{findings.points_text(pairs[0].margin)}, Holm)", "Verdict",
                 "Detectable Δ (80% power)", "Seeds per model to decide", "Seeds"], rows))
    test = ("the paired t-test over the seeds both models share (the study file asks for it; models on other seeds "
            "get Welch's)" if study.info.test == "paired" else "Welch's t-test (the default; a study file may ask "
            "for the paired one)")
    s.add(Paragraph("For every pair: difference of mean test accuracy in percentage points with its interval "
                    "(at the level its Holm-adjusted test used, as the cell says), the two-sided p-value of "
                    f"{test}, the cell says which, and after several looks which look it is and the sequential "
                    "p-value, and the equivalence test's p-value, each Holm-adjusted over every pair of the study, "
                    "computed with the same number of seeds from each model, two or more. The verdicts are "
                    "explained in the note at the end of Answers.", note=True))
    return s


def findings_section(study: StudyResults, pairs: list[findings.Comparison]) -> Section:
    s = Section("Findings")
    items = findings.accuracy_findings(pairs) + findings.cost_findings(study.models, study.device)
    items += [line for a in analyses() if a.findings for line in a.findings(study)]
    if items:
        s.add(Bullets(items))
    else:
        s.add(Paragraph("No finished runs: no findings."))
    return s


def claims_section(study: StudyResults) -> Section:
    s = Section("Claims of other reports")
    table = claims.claims_rows(study)
    if table is None:
        s.add(Paragraph("This study states no claims of other reports ([[claims]] in its study file)."))
        return s
    source = study.info.claims_source or "another report"
    s.add(Paragraph(f"Numbers claimed in {source} next to what this study measured. They are claims, not targets: "
                    "their epochs, hyperparameters and hardware differ from ours, so agreement in ranking matters "
                    "more than in the last digit."))
    header, rows, shared_note = table
    if shared_note:
        s.add(Paragraph(f"Every claim below: {shared_note}.", note=True))
    s.add(Table(header, rows))
    sampling = claims.test_sampling_note(study)
    if sampling:
        s.add(Paragraph(sampling, note=True))
    sentences = claims.ranking_sentences(study)
    if sentences:
        s.add(Bullets(sentences))
    return s


def _study_argument(study: StudyResults) -> str:
    """How `cnnlab run` names this study: a built-in one by its name, a user's by its file."""
    source = study.info.source or ""
    builtin = source.replace("\\", "/").endswith(f"/cnnlab/studies/{study.info.name}.toml")
    return study.info.name if builtin or not source else source


def _command_words(study: StudyResults) -> list[str]:
    """The `cnnlab run` command that made this study, as words (a suite's: for this study alone)."""
    try:
        words = shlex.split(study.manifest.command or "")
    except ValueError:  # not one command line
        words = []
    if len(words) >= 3 and words[:2] == ["cnnlab", "run"]:
        if words[2] == "all":  # one study of the suite
            words[2] = _study_argument(study)
        return words
    return (["cnnlab", "run", _study_argument(study), "--profile", study.info.profile or "full", "--out",
             str(study.dir.parent.parent)] + (["--tune"] if study.info.tuning is not None else []))


def _with_option(words: list[str], option: str, value: str | None = None) -> list[str]:
    """`words` with `option` set to `value` (a flag alone when value is None)."""
    words = list(words)
    if option in words:
        if value is not None and words.index(option) + 1 < len(words):
            words[words.index(option) + 1] = value
        return words
    return words + [option] + ([value] if value is not None else [])


def planned_command(study: StudyResults, seeds: int) -> str:
    """The command that runs this study planned for `seeds` seeds per model from the start, into a
    new output directory: --until-decided adds seeds only where comparisons are open."""
    words = _with_option(_command_words(study), "--until-decided")
    words = _with_option(words, "--max-seeds", str(seeds))
    out = str(study.dir.parent.parent)
    return shlex.join(_with_option(words, "--out", f"{out.rstrip('/')}-{seeds}-seeds"))


def next_step_text(study: StudyResults, comparisons: list) -> str | None:
    """How the inconclusive comparisons of an answer could be decided, consistent with the study's
    plan (docs/statistics.md): continue it where its plan has level left, else plan anew."""
    needs = [c.needed for c in comparisons if c.verdict == "inconclusive" and c.needed and c.needed.n]
    if not needs:
        return None
    n = max(x.n for x in needs)
    if all(x.fresh for x in needs):
        return (f"To decide the inconclusive ones: this study spent its {100 * ALPHA:g}% level at the seeds it "
                f"planned for, so more seeds here cannot change its verdicts; plan for about {n} seeds per model "
                f"from the start: {planned_command(study, n)} (--until-decided adds seeds only to the models of "
                "open comparisons; its first seeds repeat these runs, so this is a second try at the same question, "
                "and the level holds for each try, not for both together).")
    plan = findings.family_settings(study)["plan_seeds"]
    words = _command_words(study)
    within = [x.n for x in needs if not x.fresh and (plan is None or x.n <= plan)]
    text = ""
    if within:
        text = (f"To continue within this study's plan ({plan} seeds per model): "
                f"{shlex.join(_with_option(words, '--until-decided'))} (finished seeds are reused; only the models "
                "of open comparisons get more seeds, and each look is tested with group-sequential boundaries).")
    beyond = [x.n for x in needs if plan is not None and x.n > plan]
    if beyond:
        text += (f" {'Some' if within else 'The inconclusive ones'} would need about {max(beyond)} seeds per model, "
                 f"more than this study planned for ({plan}): {planned_command(study, max(beyond))}.")
    return text.strip() or None


def answers_section(study: StudyResults, dpi: int = plots.DPI) -> Section:
    s = Section("Answers")
    if not study.info.questions:
        s.add(Paragraph("This study asks no questions ([[questions]] in its study file): the Comparisons below "
                        "test every pair of its models."))
        s.add(Paragraph(how_to_read(study), note=True))
        return s
    results = answers.answers(study)
    moved = sizes.flips(study)
    for result in results:
        s.add(Paragraph(f"{result.question}: {result.asks}"))
        s.add(Paragraph(f"Answer: {result.claim}"))
        s.add(Bullets(result.evidence + [line for line in moved if line.startswith(f"{result.question}: ")]))
        s.add(Paragraph(result.decided_text(), note=True))
        step = next_step_text(study, result.comparisons)
        if step:
            s.add(Paragraph(step, note=True))
        if result.tuning:
            s.add(Paragraph(f"Shared vs tuned settings: {result.tuning[0]}"))
            s.add(Bullets(result.tuning[1:]))
        if study.info.claims:
            s.add(Paragraph(f"Claims: {result.replication}", note=True))
    if study.info.until_decided:
        for block in until_decided_blocks(study, [c for result in results for c in result.comparisons]):
            s.add(block)
    s.add(Paragraph(how_to_read(study), note=True))
    return s


def until_decided_blocks(study: StudyResults, comparisons: list[findings.Comparison]) -> list:
    """--until-decided: what it did, why it stopped, and each pair's looks and why they ended."""
    record = study.info.until_decided
    max_seeds = record.get("max_seeds")
    budget = record.get("budget_seconds")
    rows = []
    for c in comparisons:
        looks = ", ".join(f"{a}" if a == b else f"{a}/{b}" for a, b in c.look_seeds) or fmt.DASH
        if c.verdict in ("better", "equivalent"):
            why = f"decided at look {c.look}"
        elif c.diff.p is None and min(c.diff.n_a, c.diff.n_b) >= 2:
            why = "no spread: the values did not vary from seed to seed"
        elif c.needed is None or c.needed.n is None:
            why = "no plan: the spread gives no number of seeds that would decide it"
        elif isinstance(max_seeds, int) and c.needed.n > max_seeds:
            why = f"would need about {c.needed.n} seeds per model, more than {max_seeds}"
        else:
            why = str(record.get("why") or "stopped")
        rows.append([c.a.label, c.b.label, findings.metric_words(c.metric), looks, c.verdict, why])
    most = f"at most {max_seeds} per model" if isinstance(max_seeds, int) else "as many per model as the budget bought"
    text = (f"Seeds were added until decided: after the first look, the models of the comparisons still open got "
            f"twice their seeds ({most}"
            + (f", within a budget of {duration_text(budget)}" if isinstance(budget, (int, float)) else "")
            + f"), and each look was tested with group-sequential boundaries. It stopped because "
            f"{record.get('why') or 'of an unknown reason'}, after {duration_text(record.get('spent_seconds'))}.")
    return [Paragraph(text), Table(["Model A", "Model B", "Compared on", "Looks (seeds per model)", "Verdict",
                                    "Why it stopped"], rows)]


def _code_text(study: StudyResults) -> str | None:
    """The code fingerprint(s) of the study's runs, and whether they are this cnnlab's."""
    from cnnlab.fingerprint import code_fingerprint

    runs = [r.config for r in study.all_runs if r.config is not None]
    codes = sorted({c.code for c in runs})
    if not codes:
        return study.manifest.code
    stale = [c.code for c in runs if code_fingerprint(c.analyses, model_source=c.model_source) not in (c.code, None)]
    if not stale:
        return f"{', '.join(codes)} (the installed cnnlab's)"
    return (f"{', '.join(codes)}; {len(stale)} of {len(runs)} runs were made by other code than the installed "
            "cnnlab's: their results are stale, run the study again for current ones")


def manifest_section(study: StudyResults, dpi: int = plots.DPI) -> Section:
    s = Section("Manifest")
    m, info = study.manifest, study.info
    size = lambda n: f"{n:,}" if isinstance(n, int) else fmt.DASH  # noqa: E731
    runs = None
    if m.runs_trained is not None:
        runs = f"{m.runs_trained} trained, {m.runs_cached or 0} reused (trained by an earlier or concurrent cnnlab run)"
    commit = f"{m.git['commit'][:12]}{' (uncommitted changes)' if m.git.get('dirty') else ''}" if m.git else None
    rows = [["cnnlab version", m.cnnlab_version], ["code fingerprint", _code_text(study)],
            ["git commit", commit], ["torch version", m.torch_version],
            ["python version", m.python_version], ["platform", m.platform],
            ["device", m.device], ["CPU model", m.cpu_model], ["threads", m.threads],
            ["executor", m.executor], ["training steps", _step_modes(study)],
            ["precision", m.precision], ["dataset", m.dataset or info.dataset],
            ["dataset source", m.dataset_source], ["train images", size(m.train_size)],
            ["test images", size(m.test_size)], ["profile", info.profile or fmt.DASH],
            ["subset", info.subset], ["test subset", info.test_subset],
            ["inference timing repeats", info.inference_repeats],
            ["epochs", info.epochs], ["seeds", ", ".join(str(x) for x in info.seeds)],
            ["wall-clock of the whole study", duration_text(m.wall_clock_seconds)],
            ["runs", runs], ["started", m.started], ["finished", m.finished],
            ["command", m.command], ["study file", info.source],
            ["study directory", str(study.dir)], ["runs directory", str(study.runs_dir)],
            ["report rendered", datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")]]
    rows = [[k, fmt.DASH if v is None or v == "" else str(v)] for k, v in rows]
    s.add(Table(["Item", "Value"], rows))
    if info.train:
        s.add(Table(["Training option (shared; per-model settings below)", "Value"],
                    [[str(k), str(v)] for k, v in sorted(info.train.items())]))
        s.add(Paragraph("Weight decay applies to weights with two or more dimensions (conv kernels, linear "
                        "matrices) only; biases, BatchNorm scales and shifts and the custom layers' own scalars "
                        "(Swish beta, LpPool p, CustomConv gain) are never decayed.", note=True))
    own = []
    for model in study.models:
        spec = next((x for x in info.models if x.name == model.name), None)
        settings = [f"{k}={v}" for k, v in sorted(spec.kwargs.items())] if spec else []
        settings += [f"train.{k}={v}" for k, v in sorted(spec.train.items())] if spec else []
        if settings:
            own.append([model.label, model.name, ", ".join(settings)])
    if own:
        s.add(Table(["Model", "Registered name", "Its own settings (differ from the shared ones)"], own))
    if m.cnnlab_version is None and m.device is None:
        s.add(Paragraph(f"The study's manifest is missing: hardware and versions {NOT_MEASURED}.", note=True))
    return s


# ---- the whole document -----------------------------------------------------------------

def study_pairs(study: StudyResults) -> list[findings.Comparison]:
    """Every pair of the study's models, one Holm family, at the study's margin, looks and plan
    (computed once per loaded study)."""
    return study.once("every pair", lambda: findings.compare(study.models, **findings.family_settings(study)))


# The built-in sections and their places; an analysis's section goes by its `order`
# (cnnlab.plugins: the built-in analyses use 110-180, others default to 500).
CORE_SECTIONS = ((10, "Summary", lambda study, dpi: summary_section(study)),
                 (15, "Answers", answers_section),
                 (17, "Tuning", tuning.tuning_section),
                 (20, "Learning curves", learning_curves_section),
                 (30, "Accuracy vs cost", accuracy_vs_cost_section),
                 (40, "Comparisons", lambda study, dpi: comparisons_section(study, study_pairs(study))),
                 (45, "Where the spread comes from", noise.noise_section),
                 (47, sizes.SECTION, sizes.size_section),
                 (50, "Findings", lambda study, dpi: findings_section(study, study_pairs(study))),
                 (900, "Claims of other reports", lambda study, dpi: claims_section(study)),
                 (950, "Manifest", manifest_section))


def _sections() -> list[tuple[float, str, object]]:
    """(order, title, section function) of every section, in report order."""
    own = [(a.order, a.title, a.section) for a in analyses() if a.section is not None]
    return sorted([*CORE_SECTIONS, *own], key=lambda item: item[0])


def section_titles() -> list[str]:
    """The report's section titles, in order."""
    return [title for _, title, _ in _sections()]


def build_document(study: StudyResults, dpi: int = plots.DPI) -> Document:
    info, m = study.info, study.manifest
    subtitle = [info.description] if info.description else []
    facts = [f"study {info.name or study.dir.name}", f"profile {info.profile or fmt.DASH}"]
    if info.dataset:
        facts.append(f"dataset {info.dataset}")
    for count, what in ((m.train_size, "training"), (m.test_size, "test")):
        if count is not None:
            facts.append(f"{count:,} {what} images")
    if info.epochs:
        facts.append(f"{info.epochs} epoch{'s' if info.epochs != 1 else ''}")
    counts = {m.label: len(m.seeds()) for m in study.models if m.seeds()}
    if len(set(counts.values())) > 1:  # --until-decided: models on their own numbers of seeds
        facts.append("seeds per model: " + ", ".join(f"{label} {n}" for label, n in counts.items()))
    elif info.seeds:
        facts.append(f"seeds {', '.join(str(x) for x in info.seeds)}")
    if info.tuning is not None:
        facts.append("each model at its own tuned setting (see Tuning)")
    runs = study.all_runs
    facts.append(f"{sum(r.usable for r in runs)} of {len(runs)} runs done")
    subtitle.append(" · ".join(facts))
    sections = [make(study, dpi) for _, _, make in _sections()]
    return Document(title=study.title, subtitle=subtitle, sections=_gather_unmeasured(sections))


UNMEASURED_TITLE = "Not measured"


def _only_unmeasured(section: Section) -> bool:
    return (len(section.blocks) == 1 and isinstance(section.blocks[0], Paragraph)
            and section.blocks[0].text.endswith(f": {NOT_MEASURED}."))


def _gather_unmeasured(sections: list[Section]) -> list[Section]:
    """Sections that would only say "not measured in this study" become one line of one section,
    before the Manifest: named, so "not measured" still reads apart from "forgotten", but not one
    heading each."""
    unmeasured = [s.title for s in sections if _only_unmeasured(s)]
    if not unmeasured:
        return sections
    kept = [s for s in sections if s.title not in unmeasured]
    note = Section(UNMEASURED_TITLE, [Paragraph(
        f"{', '.join(unmeasured)}: {NOT_MEASURED} (each comes from an analysis: 'cnnlab analyses' lists them, "
        "and a study file's 'analyses' chooses which run).")])
    at = next((i for i, s in enumerate(kept) if s.title == "Manifest"), len(kept))
    return [*kept[:at], note, *kept[at:]]

