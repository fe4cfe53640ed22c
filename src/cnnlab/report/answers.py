"""One answer per course question (PRODUCT.md, sections 1.1 to 3.2), computed from a study's results.

An answer is a claim, the evidence it rests on (means with 95% CIs, Holm-adjusted Welch
tests, measured costs), the figures that show it, and whether the course report's claim
replicated. The wording follows the statistics, through `findings`: "A is better than B"
only when the Holm-adjusted Welch test says so; otherwise "no significant difference",
with the interval. Costs (parameters, time, memory) are measured values, stated as such.

Each question has one small function taking the study's `StudyResults`; ANSWERS maps the
study's `reference` to it. Models are found by their registered names (the built-in study
files'); a model without finished runs is named as not measured.
"""

from dataclasses import dataclass, field
from itertools import combinations

from cnnlab.report import claims, findings, fmt
from cnnlab.report.findings import Comparison
from cnnlab.plugins import get_analysis
from cnnlab.report.load import ModelResults, StudyResults
from cnnlab.report.stats import summarize


@dataclass
class Answer:
    question: str  # "1.1"
    asks: str  # the course question, in English
    claim: str
    evidence: list[str] = field(default_factory=list)
    figures: list[tuple[str, str]] = field(default_factory=list)  # (file in the study's plots/, caption)
    replication: str = ""
    comparisons: list[Comparison] = field(default_factory=list)  # the tests the wording rests on


# ---- shared pieces ---------------------------------------------------------------------

def _finished(study: StudyResults, *names: str) -> list[ModelResults]:
    """The study's models with these registered names that have finished runs, in that order."""
    by_name = {m.name: m for m in study.models}
    return [by_name[n] for n in names if n in by_name and by_name[n].values("test_acc")]


def _missing(study: StudyResults, *names: str) -> str | None:
    have = {m.name for m in _finished(study, *names)}
    gone = [n for n in names if n not in have]
    return f"Not measured (no finished runs): {', '.join(gone)}." if gone else None


def _fewest_seeds(models: list[ModelResults]) -> int:
    return min((len(m.values("test_acc")) for m in models), default=0)


def _accuracies(models: list[ModelResults]) -> str:
    """"Test accuracy (mean, 95% CI over seeds): A 45.10 % [43.20, 47.00], ..." best first."""
    parts = []
    for m in findings.by_test_accuracy(models):
        s = summarize(m.values("test_acc"))
        interval = f" [{fmt.ci(s, 100)[1:-1]}]" if s.ci_low is not None else " (one seed: no interval)"
        parts.append(f"{m.label} {fmt.pct(s.mean)}{interval}")
    return f"Test accuracy (mean over seeds, 95% CI): {'; '.join(parts)}."


def _best(models: list[ModelResults], comparisons: list[Comparison], what: str = "model") -> str:
    """The claim about the most accurate of `models`, as strong as the tests allow."""
    ranked = [m for m in findings.by_test_accuracy(models) if m.values("test_acc")]
    if len(ranked) < 2:
        return f"Fewer than two {what}s have finished runs: nothing to compare."
    top, rest = ranked[0], ranked[1:]
    against = {(c.b.name if c.a is top else c.a.name): c for c in comparisons if top in (c.a, c.b)}
    better = [m for m in rest if m.name in against and against[m.name].significant and against[m.name].a is top]
    unresolved = [m for m in rest if m not in better]
    n = _fewest_seeds(ranked)

    def names(ms):
        return ", ".join(m.label for m in ms)

    if n < 2:
        return (f"Every {what} ran with fewer than two seeds: no significance test, so no {what} is called "
                f"better (highest mean: {top.label}).")
    if not unresolved:
        return (f"{top.label} is the most accurate {what}: its test accuracy is significantly higher than that of "
                f"{names(rest)} (Holm-adjusted Welch tests, {n} seeds).")
    if better:
        return (f"{top.label} has the highest mean test accuracy; it is significantly better than {names(better)}, "
                f"but there is no significant difference between it and {names(unresolved)} with {n} seeds.")
    return (f"No significant difference in test accuracy between {top.label} (highest mean) and "
            f"{names(unresolved)} with {n} seeds: the ranking by mean is not established.")


def _sentences(comparisons: list[Comparison], what: str = "test accuracy") -> list[str]:
    return [findings.sentence(c, len(comparisons), what) for c in comparisons]


def _values(models: list[ModelResults], metric: str, title: str, show) -> str | None:
    """"<title>: A <value>, B <value>." with the mean over seeds; None if nothing was measured."""
    parts = [f"{m.label} {show(summarize(m.values(metric)).mean)}" for m in models if m.values(metric)]
    return f"{title}: {', '.join(parts)}." if parts else None


def _costs(models: list[ModelResults], device: str | None, repeats=None) -> list[str]:
    on = f" on {device}" if device else ""
    passes = (f"median of {repeats} timed pass{'es' if repeats != 1 else ''}" if repeats
              else "median of the timed passes")
    lines = [_values(models, "params", "Parameters (measured)", lambda v: f"{v:,.0f}"),
             _values(models, "epoch_seconds", f"Training time per epoch{on} (median over epochs, mean over seeds)",
                     fmt.seconds),
             _values(models, "train_seconds", "Total training time (mean over seeds)", fmt.seconds),
             _values(models, "latency_ms", f"Inference latency at batch size 1 ({passes})", lambda v: f"{v:.2f} ms"),
             _values(models, "throughput", "Inference throughput at batch size 256", lambda v: f"{v:,.0f} img/s"),
             _values(models, "peak_bytes", "Peak memory of one training step", fmt.size)]
    return [line for line in lines if line]


def _repeats(study: StudyResults):
    return study.info.inference_repeats


# ---- did the course report's claim replicate? ----------------------------------------------

def replication(study: StudyResults, comparisons: list[Comparison], only_pairs=None) -> str:
    """The course report's test-accuracy orderings among the models we ran, each checked
    against our test of the same pair: replicated (significant, same direction),
    contradicted (significant, other direction) or not resolved (not significant).
    `only_pairs`: sets of two model names, the orderings the course report actually made."""
    reference = study.info.reference
    stated = [c for c in claims.CLAIMS.get(reference, []) if c.metric == "test_acc"]
    tests = {frozenset((c.a.name, c.b.name)): c for c in comparisons}
    rows, verdicts = [], []
    for x, y in combinations(stated, 2):
        pair = frozenset((x.model, y.model))
        if x.dataset != y.dataset or len(pair) < 2 or x.value == y.value or pair not in tests:
            continue
        if only_pairs is not None and pair not in only_pairs:
            continue
        hi, lo = (x, y) if x.value > y.value else (y, x)
        test = tests[pair]
        if not test.significant:
            verdict = "not resolved (no significant difference)"
        elif test.a.name == hi.model:
            verdict = "replicated"
        else:
            verdict = "contradicted (significant the other way)"
        verdicts.append(verdict.split(" ")[0])
        ours = {c.name: c.label for c in (test.a, test.b)}
        rows.append(f"their {hi.their_model} ({fmt.pct(hi.value, 1)}) > {lo.their_model} ({fmt.pct(lo.value, 1)}), "
                    f"ours {ours[hi.model]} vs {ours[lo.model]}: {verdict}")
    if not rows:
        return f"The course report ({claims.SOURCE}) makes no test-accuracy ordering among the models measured here."
    count = {v: verdicts.count(v) for v in ("replicated", "contradicted", "not")}
    if count["contradicted"]:
        overall = "Not replicated"
    elif count["replicated"] == len(verdicts):
        overall = "Replicated"
    elif count["replicated"]:
        overall = "Partly replicated"
    else:
        overall = f"Not confirmed with {_fewest_seeds([t.a for t in comparisons] + [t.b for t in comparisons])} seeds"
    text = (f"{overall}: of the course report's {len(verdicts)} test-accuracy orderings ({claims.SOURCE}), "
            f"{count['replicated']} replicated, {count['contradicted']} contradicted and {count['not']} not "
            f"resolved by our Holm-adjusted tests. " + "; ".join(rows) + ".")
    order = _order(stated, comparisons)
    if order:
        text += " " + order
    notes = sorted({claims.dataset_note(study, c.dataset) for c in stated} - {""})
    if notes:
        text += f" Setups differ ({'; '.join(notes)}), so agreement in ranking is what to compare, not the numbers."
    return text


def _order(stated: list, comparisons: list[Comparison]) -> str | None:
    """Their ranking by claimed test accuracy next to ours by mean, for the models both have
    (only when all their claims are on one dataset)."""
    ours = {m.name: m for c in comparisons for m in (c.a, c.b)}
    picked = {}
    for c in stated:
        if c.model in ours and c.model not in picked:
            picked[c.model] = c
    if len(picked) < 3 or len({c.dataset for c in stated}) > 1:
        return None  # two models: the pairwise verdict above already says it all
    theirs = sorted(picked, key=lambda n: -picked[n].value)
    mine = [m.name for m in findings.by_test_accuracy([ours[n] for n in picked])]
    same = "the same order" if theirs == mine else "a different order"
    return (f"Ranking by mean: theirs {' > '.join(picked[n].their_model for n in theirs)}; ours "
            f"{' > '.join(ours[n].label for n in mine)} ({same}; only the significant differences above are claims).")


# ---- the six questions -------------------------------------------------------------------

def answer_1_1(study: StudyResults) -> Answer:
    models = _finished(study, "fc", "simple-cnn", "residual-cnn")
    comparisons = findings.compare(models)
    answer = Answer("1.1", "Is a CNN more accurate than a fully connected net on MNIST, does a residual block "
                           "help, and at what cost in time and parameters?", _best(models, comparisons))
    answer.evidence = [_accuracies(models), *_sentences(comparisons), *_costs(models, study.device, _repeats(study))]
    answer.figures = [("accuracy_vs_cost.png", "Test accuracy against parameters and training time"),
                      ("learning_curves.png", "Learning curves")]
    answer.replication = replication(study, comparisons)
    answer.comparisons = comparisons
    return _with_missing(answer, study, "fc", "simple-cnn", "residual-cnn")


def _gap_sentence(plain: ModelResults, regularised: ModelResults) -> tuple[str, Comparison]:
    (c,) = findings.compare_pairs([(plain, regularised)], metric="gap")
    means = (f"final gap {fmt.points(summarize(plain.values('gap')).mean, signed=False)} for {plain.label}, "
             f"{fmt.points(summarize(regularised.values('gap')).mean, signed=False)} for {regularised.label}")
    return f"Train–test gap at the last epoch ({means}): {findings.sentence(c, 1, 'train–test gap')}", c


def answer_1_2(study: StudyResults) -> Answer:
    models = _finished(study, "fc-deep", "residual-cnn", "residual-cnn-reg")
    comparisons = findings.compare(models)
    answer = Answer("1.2", "On CIFAR-10: deep fully connected net vs residual CNN vs the same CNN with "
                           "regularisation, and what does regularisation do to the train–test gap?",
                    _best(models, comparisons))
    answer.evidence = [_accuracies(models), *_sentences(comparisons)]
    plain, regularised = _finished(study, "residual-cnn"), _finished(study, "residual-cnn-reg")
    if plain and regularised and plain[0].values("gap") and regularised[0].values("gap"):
        text, gap = _gap_sentence(plain[0], regularised[0])
        answer.evidence.append(text)
        answer.claim += (" Regularisation (BatchNorm, dropout, weight decay, augmentation) "
                         + _gap_effect(gap, regularised[0]) + ".")
    answer.evidence += _costs(models, study.device, _repeats(study))
    answer.figures = [("train_test_gap.png", "Train–test accuracy gap per epoch"),
                      ("learning_curves.png", "Learning curves")]
    answer.replication = replication(study, comparisons)
    answer.comparisons = comparisons
    return _with_missing(answer, study, "fc-deep", "residual-cnn", "residual-cnn-reg")


def _gap_effect(gap: Comparison, regularised: ModelResults) -> str:
    if not gap.significant:
        return "makes no significant difference to the final train–test gap"
    return "significantly " + ("narrows" if gap.b is regularised else "widens") + " the final train–test gap"


def answer_2_1(study: StudyResults) -> Answer:
    names = ("kernel-3x3", "kernel-5x5", "kernel-7x7", "kernel-1x1-3x3")
    models = _finished(study, *names)
    comparisons = findings.compare(models)
    answer = Answer("2.1", "Which kernel size is best at an equal parameter count, and how does the receptive "
                           "field relate?", _best(models, comparisons, what="kernel size"))
    answer.evidence = [_accuracies(models), *_sentences(comparisons)]
    params = [p for p in (m.first("params") for m in models) if p]
    if len(params) > 1:
        answer.evidence.append(f"The parameter counts are within {100 * (max(params) / min(params) - 1):.1f}% of "
                               "each other (widths solved by cnnlab.models.match_params).")
    fields = get_analysis("erf").evidence(models)
    if fields:
        answer.claim += " " + fields[0]
        answer.evidence += fields[1:]
    answer.evidence += _costs(models, study.device, _repeats(study))
    answer.figures = [("effective_receptive_fields.png", "Effective receptive field per model"),
                      ("accuracy_vs_cost.png", "Test accuracy against parameters and training time")]
    answer.replication = replication(study, comparisons)
    answer.comparisons = comparisons
    return _with_missing(answer, study, *names)


def answer_2_2(study: StudyResults) -> Answer:
    plain_names = ("depth-2", "depth-4", "depth-6", "depth-12")
    models = _finished(study, *plain_names, "depth-12-residual")
    comparisons = findings.compare(models)
    plain = [m for m in models if m.name in plain_names]
    among_plain = [c for c in comparisons if c.a in plain and c.b in plain]
    answer = Answer("2.2", "What depth is optimal, where do gradients vanish or explode, and what do residual "
                           "connections change?", "Optimal depth (plain stacks): "
                    + _best(plain, among_plain, what="depth"))
    answer.evidence = [_accuracies(models), *_sentences(comparisons)]
    answer.evidence += get_analysis("grad_flow").evidence(models)
    residual = next((c for c in comparisons if {c.a.name, c.b.name} == {"depth-12", "depth-12-residual"}), None)
    if residual is not None:
        answer.claim += " Residual connections at 12 layers: " + findings.sentence(residual, len(comparisons))
    answer.evidence += _costs(models, study.device, _repeats(study))
    answer.figures = [("grad_flow_layers.png", "Gradient norm per layer at the first and last logged step"),
                      ("accuracy_vs_cost.png", "Test accuracy against parameters and training time")]
    answer.replication = replication(study, comparisons)
    answer.comparisons = comparisons
    return _with_missing(answer, study, *plain_names, "depth-12-residual")


# Each custom layer and its standard analog (3.1); Lp pooling has two analogs.
CUSTOM_VS_STANDARD = (("cnn-custom-conv", "cnn-baseline"), ("cnn-se", "cnn-baseline"), ("cnn-cbam", "cnn-baseline"),
                      ("cnn-swish", "cnn-baseline"), ("cnn-custom-act", "cnn-baseline"),
                      ("cnn-lppool", "cnn-baseline"), ("cnn-lppool", "cnn-avgpool"))
CUSTOM_LAYER_MODELS = tuple(dict.fromkeys(name for pair in CUSTOM_VS_STANDARD for name in pair))


def _cost_delta(custom: ModelResults, standard: ModelResults) -> str:
    def ratio(metric):
        a, b = summarize(custom.values(metric)).mean, summarize(standard.values(metric)).mean
        return f"{a / b:.2f}×" if a and b else fmt.DASH
    params = custom.first("params"), standard.first("params")
    extra = f"{params[0] - params[1]:+,.0f}" if None not in params else fmt.DASH
    return (f"{custom.label} vs {standard.label}: time per epoch {ratio('epoch_seconds')}, "
            f"parameters {extra}, peak training memory {ratio('peak_bytes')}")


def answer_3_1(study: StudyResults) -> Answer:
    by_name = {m.name: m for m in _finished(study, *CUSTOM_LAYER_MODELS)}
    pairs = [(by_name[a], by_name[b]) for a, b in CUSTOM_VS_STANDARD if a in by_name and b in by_name]
    comparisons = findings.compare_pairs(pairs)
    significant = [c for c in comparisons if c.significant]
    if not comparisons:
        claim = "No custom layer and its standard analog both have finished runs: nothing to compare."
    elif not significant:
        claim = (f"No custom layer differs significantly from its standard analog in test accuracy "
                 f"({len(comparisons)} planned comparisons, Holm-adjusted, {_fewest_seeds(list(by_name.values()))} seeds).")
    else:
        claim = (f"{len(significant)} of {len(comparisons)} planned comparisons are significant after Holm's "
                 "correction: " + "; ".join(f"{c.a.label} is better than {c.b.label}" for c in significant)
                 + "; the others show no significant difference.")
    answer = Answer("3.1", "Does each custom layer (hand-written forward and backward) beat its standard analog "
                           "in accuracy, time and parameters?", claim)
    answer.evidence = [_accuracies(list(by_name.values())),
                       "Planned comparisons (each custom layer vs its standard analog; Holm's correction over these "
                       f"{len(comparisons)} only):", *_sentences(comparisons)]
    if pairs:
        answer.evidence.append("Measured costs, " + "; ".join(_cost_delta(a, b) for a, b in pairs) + ".")
    answer.evidence += _costs(list(by_name.values()), study.device, _repeats(study))
    answer.figures = [("accuracy_vs_cost.png", "Test accuracy against parameters and training time")]
    answer.replication = replication(study, comparisons,
                                     only_pairs={frozenset(p) for p in CUSTOM_VS_STANDARD})
    answer.comparisons = comparisons
    return _with_missing(answer, study, *CUSTOM_LAYER_MODELS)


def _per(models: list[ModelResults], metric: str, unit: float, unit_name: str) -> str | None:
    parts = []
    for m in models:
        acc, cost = summarize(m.values("test_acc")).mean, summarize(m.values(metric)).mean
        if acc is not None and cost:
            parts.append(f"{m.label} {100 * acc / (cost / unit):.2f}")
    return f"Test accuracy (%) per {unit_name} (ratio of the means): {', '.join(parts)}." if parts else None


def answer_3_2(study: StudyResults) -> Answer:
    names = ("resnet-basic", "resnet-bottleneck", "resnet-wide")
    models = _finished(study, *names)
    comparisons = findings.compare(models)
    answer = Answer("3.2", "Basic vs bottleneck vs wide residual blocks: accuracy per parameter, memory, training "
                           "stability.", _best(models, comparisons, what="block design"))
    answer.evidence = [_accuracies(models), *_sentences(comparisons)]
    answer.evidence += [line for line in (_per(models, "params", 1e5, "100K parameters"),
                                          _per(models, "peak_bytes", 2**20 * 100, "100 MiB of peak training memory"))
                        if line]
    answer.evidence += get_analysis("stability").evidence(models)
    answer.evidence += _costs(models, study.device, _repeats(study))
    answer.figures = [("accuracy_vs_cost.png", "Test accuracy against parameters and training time")]
    answer.replication = replication(study, comparisons)
    answer.comparisons = comparisons
    return _with_missing(answer, study, *names)


def _with_missing(answer: Answer, study: StudyResults, *names: str) -> Answer:
    note = _missing(study, *names)
    if note:
        answer.evidence.insert(0, note)
    return answer


ANSWERS = {"1.1": answer_1_1, "1.2": answer_1_2, "2.1": answer_2_1, "2.2": answer_2_2, "3.1": answer_3_1,
           "3.2": answer_3_2}


def answer(study: StudyResults) -> Answer | None:
    """The answer to the course question the study's `reference` names, or None."""
    function = ANSWERS.get(study.info.reference)
    return function(study) if function else None
