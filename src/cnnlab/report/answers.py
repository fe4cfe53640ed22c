"""Answers to the questions a study file asks (`[[questions]]`, cnnlab.studies.questions).

One engine for every study: a question names models (by label) and a kind, and its answer is
a claim, the evidence it rests on (means with bounded 95% intervals, each comparison's
verdict, measured costs, what the analyses found), the figures that show it and whether the
claims of other reports (`[[claims]]`) replicated. The wording follows the verdicts of
`findings.decide_family`: "better" only when the Holm-adjusted t-test (paired or Welch's) says so, "within ±δ" only
when the equivalence test does, and otherwise "inconclusive" with what more seeds would take.
Costs are measured values, stated as such. Nothing here knows a model by name.

A tuned study that also ran at shared settings answers each question twice and says whether
each verdict is robust to tuning or changes with it (`Answer.tuning`, cnnlab.report.tuning).
"""

from dataclasses import dataclass, field
from itertools import combinations

from cnnlab.plugins import get_analysis
from cnnlab.report import claims, findings, fmt, tuning
from cnnlab.report.findings import Comparison
from cnnlab.results import ModelResults, StudyResults, get_metric
from cnnlab.results import metrics as all_metrics
from cnnlab.results.busy import busy
from cnnlab.report.questions import KINDS
from cnnlab.report.questions.base import fewest_seeds
from cnnlab.stats.summary import summarize, summarize_accuracy

DEFAULT_COSTS = ("params", "epoch_seconds", "train_seconds", "latency_ms", "throughput", "peak_bytes")
DEFAULT_FIGURES = ({"file": "accuracy_vs_cost.png", "caption": "Test accuracy against parameters and training time"},)
TIMED_UNITS = ("seconds", "ms", "img/s")  # measured on the study's device: the sentence names it
PER_UNIT = {"count": (1e5, "100K"), "bytes": (100 * 2**20, "100 MiB of"), "seconds": (60, "minute of")}


@dataclass
class Answer:
    question: str  # its title: the question's own, else the study's reference
    asks: str  # the question, in words
    claim: str
    kind: str = "best"
    evidence: list[str] = field(default_factory=list)
    figures: list[tuple[str, str]] = field(default_factory=list)  # (file in the study's plots/, caption)
    replication: str = ""
    comparisons: list[Comparison] = field(default_factory=list)  # the tests the wording rests on
    robust: str = ""  # a tuned study with shared-settings results: "robust", "changed" (with tuning) or "undecided"
    tuning: list[str] = field(default_factory=list)  # each verdict at shared vs tuned settings, in words
    test_images: int | None = None  # what the verdicts speak for: these test images, not the test distribution

    @property
    def decided(self) -> int:
        """Comparisons that ended "better" or "equivalent"."""
        return sum(c.verdict in ("better", "equivalent") for c in self.comparisons)

    def decided_text(self) -> str:
        """How many comparisons are decided, and each verdict's count, in one line."""
        verdicts = [c.verdict for c in self.comparisons]
        if not verdicts:
            return "Decided: no comparison could be made."
        counts = ", ".join(f"{verdicts.count(v)} {v}" for v in findings.VERDICTS if verdicts.count(v))
        scope = (f" The verdicts speak for these {self.test_images:,} test images (the spread from seed to seed), not "
                 "for a fresh sample of the test distribution." if self.test_images else "")
        return f"Decided: {self.decided} of {len(verdicts)} comparisons ({counts}).{scope}"


# ---- shared pieces ---------------------------------------------------------------------

def _models(study: StudyResults, labels) -> list[ModelResults]:
    """The study's models with these labels that have finished runs, in that order."""
    by_label = {m.label: m for m in study.models}
    return [by_label[x] for x in labels if x in by_label and by_label[x].values("test_acc")]


def _missing(study: StudyResults, labels) -> str | None:
    have = {m.label for m in _models(study, labels)}
    gone = [x for x in labels if x not in have]
    return f"Not measured (no finished runs): {', '.join(gone)}." if gone else None


def accuracies(models: list[ModelResults], images: int | None = None) -> str:
    """"Test accuracy (mean, 95% CI over seeds): A 45.10 % [43.20, 47.00], ..." best first."""
    parts = []
    for m in findings.by_test_accuracy(models):
        s = summarize_accuracy(m.values("test_acc"), images=images)
        interval = (f" [{fmt.ci(s, 100)[1:-1]}]" if s.ci_low is not None else
                    " (one seed: no interval)" if s.n < 2 else " (the same on every seed: no interval)")
        parts.append(f"{m.label} {fmt.pct(s.mean)}{interval}")
    return f"Test accuracy (mean over seeds, 95% CI): {'; '.join(parts)}."


def _sentences(comparisons: list[Comparison], what: str = "test accuracy") -> list[str]:
    return [findings.sentence(c, len(comparisons), what) for c in comparisons]


def shared_runs(models: list[ModelResults]) -> int | None:
    """The most runs that shared a device while these models' runs were timed (None: each had it
    to itself; 0: an unknown number, as under Ray)."""
    counts = [r.analysis.get("sharing", {}).get("runs_per_device") for m in models for r in m.done]
    shared = [k for k in counts if k is None or k > 1]
    return (max((k for k in shared if k is not None), default=0)) if shared else None


def costs(models: list[ModelResults], metrics, device: str | None, repeats=None) -> list[str]:
    """"<Metric title> (mean over seeds): A <value>, B <value>." per measured cost. Times measured
    while runs shared their device are left out, with one line saying how to get them: they
    describe what ran beside each run as much as the model."""
    lines = []
    known = all_metrics()
    sharing = shared_runs(models)
    untimed = []
    for name in metrics:
        metric = known.get(name)
        if metric is None:  # a plug-in's metric, and the plug-in is not registered here
            continue
        if sharing is not None and metric.unit in TIMED_UNITS:
            if any(m.values(name) for m in models):
                untimed.append(metric.title)
            continue
        parts = [f"{m.label} {fmt.by_unit(metric.unit, summarize(m.values(name)).mean)}" for m in models
                 if m.values(name)]
        if not parts:
            continue
        where = f" on {device}" if device and metric.unit in TIMED_UNITS else ""
        noisy = busy(models, name)
        if noisy:
            lines.append(f"{metric.title[:1].upper() + metric.title[1:]}{where}: {noisy}.")
            continue
        passes = f", median of {repeats} timed passes" if repeats and metric.unit == "ms" else ""
        lines.append(f"{metric.title[:1].upper() + metric.title[1:]}{where} (mean over seeds{passes}): "
                     f"{', '.join(parts)}.")
    if untimed:
        at_once = f"{sharing} runs at once" if sharing else "an unknown number of runs at once (Ray)"
        lines.append(f"Not compared here: {', '.join(untimed)}. These runs shared their device ({at_once}), so their "
                     "times say as much about what ran beside them as about the model; run the study with --workers 1 "
                     "to time them with the device to itself.")
    return lines


def _accuracy_per(models: list[ModelResults], name: str) -> str | None:
    metric = all_metrics().get(name)
    if metric is None or (metric.unit in TIMED_UNITS and shared_runs(models) is not None):
        return None  # shared-device times are not compared (see `costs`)
    scale, unit_name = PER_UNIT.get(metric.unit, (1, "unit of"))
    noisy = busy(models, name)
    if noisy:
        return f"Test accuracy per {unit_name} {metric.title}: {noisy}."
    parts = []
    for m in models:
        acc, cost = summarize(m.values("test_acc")).mean, summarize(m.values(name)).mean
        if acc is not None and cost:
            parts.append(f"{m.label} {100 * acc / (cost / scale):.2f}")
    if not parts:
        return None
    return f"Test accuracy (%) per {unit_name} {metric.title} (ratio of the means): {', '.join(parts)}."


def _same_cost(models: list[ModelResults], name: str) -> str | None:
    values = [v for v in (m.first(name) for m in models) if v]
    if len(values) < 2:
        return None
    title = get_metric(name).title
    return f"{title[:1].upper() + title[1:]}: within {100 * (max(values) / min(values) - 1):.1f}% of each other."


# ---- did the other report's claim replicate? -----------------------------------------------

def replication(study: StudyResults, comparisons: list[Comparison], only_pairs=None) -> str:
    """The claimed test-accuracy orderings among the models compared, each checked against our
    verdict on the same pair: replicated (better, same direction), contradicted (better, the
    other way), not borne out (equivalent within the margin) or not resolved (inconclusive).
    `only_pairs`: sets of two labels, the orderings the question is about."""
    source = study.info.claims_source or "the reference report"
    stated = [c for c in study.info.claims if c.get("metric") == "test_acc"]
    if comparisons and not any(c.metric == "test_acc" for c in comparisons):
        return (f"This question's verdicts are on {findings.metric_words(comparisons[0].metric)}, not test accuracy: "
                f"{source}'s test-accuracy orderings are checked under the questions that compare test accuracy.")
    # A claim about test accuracy is judged only by a verdict on test accuracy.
    tests = {frozenset((c.a.label, c.b.label)): c for c in comparisons if c.metric == "test_acc"}
    rows, verdicts = [], []
    for x, y in combinations(stated, 2):
        pair = frozenset((x["model"], y["model"]))
        if x["dataset"] != y["dataset"] or len(pair) < 2 or x["value"] == y["value"] or pair not in tests:
            continue
        if only_pairs is not None and pair not in only_pairs:
            continue
        hi, lo = (x, y) if x["value"] > y["value"] else (y, x)
        test = tests[pair]
        verdict = {"better": "replicated" if test.a.label == hi["model"] else
                   "contradicted (significant the other way)",
                   "equivalent": f"not borne out (equivalent within ±{findings.points_text(test.margin)})",
                   }.get(test.verdict, "not resolved (inconclusive)")
        verdicts.append(verdict.split(" ")[0])
        rows.append(f"their {hi['their_model']} ({fmt.pct(hi['value'], 1)}) > {lo['their_model']} "
                    f"({fmt.pct(lo['value'], 1)}), ours {hi['model']} vs {lo['model']}: {verdict}")
    if not rows:
        return f"The claims of {source} make no test-accuracy ordering among the models compared here."
    count = {v: verdicts.count(v) for v in ("replicated", "contradicted", "not")}
    if count["contradicted"]:
        overall = "Not replicated"
    elif count["replicated"] == len(verdicts):
        overall = "Replicated"
    elif count["replicated"]:
        overall = "Partly replicated"
    else:
        overall = f"Not confirmed with {fewest_seeds([t.a for t in comparisons] + [t.b for t in comparisons])} seeds"
    text = (f"{overall}: of {source}'s {len(verdicts)} test-accuracy orderings, {count['replicated']} replicated, "
            f"{count['contradicted']} contradicted and {count['not']} not replicated or not resolved by our verdicts. "
            + "; ".join(rows) + ".")
    order = _order(stated, comparisons)
    if order:
        text += " " + order
    notes = sorted({claims.dataset_note(study, c["dataset"]) for c in stated} - {""})
    if notes:
        text += f" Setups differ ({'; '.join(notes)}), so agreement in ranking is what to compare, not the numbers."
    return text


def _order(stated: list[dict], comparisons: list[Comparison]) -> str | None:
    """Their ranking by claimed test accuracy next to ours by mean, for the models both have
    (only when all their claims are on one dataset)."""
    ours = {m.label: m for c in comparisons for m in (c.a, c.b)}
    picked = {}
    for c in stated:
        if c["model"] in ours and c["model"] not in picked:
            picked[c["model"]] = c
    if len(picked) < 3 or len({c["dataset"] for c in stated}) > 1:
        return None  # two models: the pairwise verdict above already says it all
    theirs = sorted(picked, key=lambda n: -picked[n]["value"])
    mine = [m.label for m in findings.by_test_accuracy([ours[n] for n in picked])]
    same = "the same order" if theirs == mine else "a different order"
    return (f"Ranking by mean: theirs {' > '.join(picked[n]['their_model'] for n in theirs)}; ours "
            f"{' > '.join(mine)} ({same}; only the verdicts above are claims).")


def answer_question(study: StudyResults, question: dict, index: int = 0) -> Answer:
    """The answer to one question of the study: its kind (report.questions) tests and claims;
    the evidence every kind gives follows."""
    kind = KINDS[question["kind"]]
    labels = kind.labels(question)
    models = _models(study, labels)
    stats = findings.family_settings(study, question.get("margin"))
    comparisons, claim = kind.compare(question, models, stats)
    answer = Answer(question=question.get("title") or study.info.reference or f"Q{index + 1}",
                    asks=question.get("asks") or f"{kind.name} among {', '.join(labels)}", claim=claim,
                    kind=kind.name, comparisons=comparisons, test_images=study.test_images)
    cost_metrics = question.get("costs", DEFAULT_COSTS)
    answer.evidence = [accuracies(models, study.test_images), *_sentences(comparisons, kind.metric_words)]
    answer.evidence += kind.after_verdicts(question, models)
    if question.get("same_cost"):
        answer.evidence += [line for line in [_same_cost(models, question["same_cost"])] if line]
    answer.evidence += [line for name in question.get("accuracy_per", ()) for line in [_accuracy_per(models, name)]
                        if line]
    for name in question.get("evidence", ()):
        analysis = get_analysis(name)
        if analysis.study_evidence:
            answer.evidence += analysis.study_evidence(models, study)
        elif analysis.evidence:
            answer.evidence += analysis.evidence(models)
    answer.evidence += kind.before_costs(question, models, comparisons, cost_metrics)
    answer.evidence += costs(models, cost_metrics, study.device, study.info.inference_repeats)
    missing = _missing(study, labels)
    if missing:
        answer.evidence.insert(0, missing)
    answer.figures = [(f["file"], f["caption"]) for f in question.get("figures", DEFAULT_FIGURES)]
    answer.replication = replication(study, comparisons, kind.claimed_pairs(question))
    return answer


def answers(study: StudyResults) -> list[Answer]:
    """One answer per question of the study, in the study file's order; a tuned study with results
    at shared settings (`study.shared`) says for each whether its verdicts hold there too.
    Computed once per loaded study (`StudyResults.once`)."""
    return study.once("answers", lambda: _answers(study))


def _answers(study: StudyResults) -> list[Answer]:
    out = [answer_question(study, q, i) for i, q in enumerate(study.info.questions)]
    for answer in out:  # a verdict at tuned settings is only as good as the choices behind it
        labels = {m.label for c in answer.comparisons for m in (c.a, c.b)}
        answer.evidence += [f"Tuning: {w}" for w in tuning.choice_warnings(study, labels)]
    if study.shared is None:
        return out
    same = tuning.same_runs(study)
    for i, (answer, question) in enumerate(zip(out, study.info.questions)):
        shared = answer_question(study.shared, question, i)
        what = KINDS[question["kind"]].metric_words
        answer.robust, lines = tuning.robustness(answer.comparisons, shared.comparisons, what, same)
        labels = list(dict.fromkeys(m.label for c in answer.comparisons for m in (c.a, c.b)))
        answer.tuning = [*lines, tuning.settings_line(study, labels)] if lines else []
    return out
