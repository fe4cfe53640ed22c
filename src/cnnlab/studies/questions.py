"""What a study asks, and what others claimed: `[[questions]]` and `[[claims]]` of a study file.

    margin = 1.0                   # top level, optional: equivalence margin in accuracy points

    [[questions]]
    kind = "best"                  # which of `models` is most accurate (every pair tested)
    asks = "Which kernel size is best at an equal parameter count?"
    models = ["3x3", "5x5", "7x7"] # labels (or registered names, when unique in the study)
    what = "kernel size"           # how sentences name the things compared (default "model")
    costs = ["params", "epoch_seconds"]   # measured costs to state (default: every standard one)
    evidence = ["erf"]             # analyses whose own sentences to quote
    figures = [{ file = "accuracy_vs_cost.png", caption = "Accuracy against cost" }]

The kinds (QUESTION_KINDS; one class each in cnnlab.report.questions, which checks a table's
kind-specific fields here and answers it in the report): "best" (models), "pair" (a, b: one planned comparison),
"ordering" (models in the order claimed, lowest first: each neighbour pair is tested),
"pairs" (pairs = [[a, b], ...]: one factor across pairs, e.g. each custom layer against its
standard analog), "gap" (a, b: what a regulariser, in b, does to the train–test gap).
Optional everywhere: title, margin (points, > 0), costs, evidence, figures,
accuracy_per (metrics to divide accuracy by, e.g. "params"), cost_ratios (true: each pair's
cost ratios), same_cost (a metric the models should share, e.g. "params").

    claims_source = "seed report 000"
    [[claims]]
    their_model = "simple CNN"     # as the other report names it
    model = "Simple CNN"           # ours in the same role (label or name)
    metric = "test_acc"            # a metric name (`cnnlab.results.metrics`)
    value = 98.96                  # in the metric's unit; accuracies in percent, as reports write them
    dataset = "mnist"              # the dataset the claim was measured on (a dataset name)
    note = ""                      # optional

Everything is checked when the study is loaded, so a malformed question costs no training.
Model references become labels; accuracies become fractions.
"""

import math

from cnnlab.choices import QUESTION_KINDS, QUESTION_NEEDS
from cnnlab.studies.fields import fail

QUESTION_KEYS = ("kind", "title", "asks", "models", "a", "b", "pairs", "what", "margin", "costs", "evidence",
                 "figures", "accuracy_per", "cost_ratios", "same_cost")
NEEDS = QUESTION_NEEDS
CLAIM_KEYS = ("their_model", "model", "metric", "value", "dataset", "note")
MAX_MARGIN = 100.0
MAX_TEXT = 2000


def _text(source, key, value, optional=True) -> str:
    if value is None and optional:
        return ""
    if not isinstance(value, str) or not value.strip():
        fail(source, key, f"expected a non-empty string, got {value!r}")
    if len(value) > MAX_TEXT:
        fail(source, key, f"is {len(value):,} characters long; at most {MAX_TEXT:,}")
    return value.strip()


def check_margin(source, key, value) -> float:
    """An equivalence margin in accuracy points: a finite number in (0, 100]."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        fail(source, key, f"expected a number of accuracy points (e.g. 1.0), got {value!r}")
    if not 0 < value <= MAX_MARGIN:
        fail(source, key, f"must be > 0 and at most {MAX_MARGIN:g} accuracy points, got {value!r}")
    return float(value)


class _Models:
    """Resolves a study's model references (label, or registered name when unique) to labels."""

    def __init__(self, models):
        self.labels = [m.label for m in models]
        names = [m.name for m in models]
        self.by_name = {n: m.label for m in models for n in [m.name] if names.count(n) == 1}

    def label(self, source, key, ref) -> str:
        if not isinstance(ref, str):
            fail(source, key, f"expected a model label, got {ref!r}")
        if ref in self.labels:
            return ref
        if ref in self.by_name:
            return self.by_name[ref]
        fail(source, key, f"unknown model {ref!r}; this study's models: {', '.join(self.labels)}")

    def labels_of(self, source, key, refs, at_least: int) -> list[str]:
        if not isinstance(refs, list) or len(refs) < at_least:
            fail(source, key, f"expected a list of at least {at_least} model labels, got {refs!r}")
        out = [self.label(source, f"{key}[{i}]", ref) for i, ref in enumerate(refs)]
        if len(set(out)) != len(out):
            fail(source, key, f"a model is listed twice in {refs}")
        return out


class _TableRefs:
    """Model references of one question table, for its kind's `parse`: keys relative to the table."""

    def __init__(self, models: _Models, source, key: str):
        self.models, self.source, self.key = models, source, key

    def label(self, key, ref) -> str:
        return self.models.label(self.source, f"{self.key}.{key}", ref)

    def labels(self, key, refs, at_least: int) -> list[str]:
        return self.models.labels_of(self.source, f"{self.key}.{key}", refs, at_least)

    def fail(self, key, reason):
        fail(self.source, f"{self.key}.{key}", reason)


def _names(source, key, value, valid, what) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        fail(source, key, f"expected a list of {what} names, got {value!r}")
    for i, v in enumerate(value):
        if v not in valid:
            fail(source, f"{key}[{i}]", f"unknown {what} {v!r}; valid: {', '.join(valid)}")
    return list(value)


def _figures(source, key, value) -> list[dict]:
    if not isinstance(value, list):
        fail(source, key, "expected a list of { file = \"...png\", caption = \"...\" } tables")
    out = []
    for i, item in enumerate(value):
        item = {"file": item} if isinstance(item, str) else item
        if not isinstance(item, dict) or set(item) - {"file", "caption"} or not isinstance(item.get("file"), str):
            fail(source, f"{key}[{i}]", "expected { file = \"name.png\", caption = \"...\" }")
        if "/" in item["file"] or not item["file"].endswith(".png"):
            fail(source, f"{key}[{i}].file", f"expected a plot's file name like accuracy_vs_cost.png, got "
                  f"{item['file']!r}")
        out.append({"file": item["file"], "caption": _text(source, f"{key}[{i}].caption", item.get("caption"))
                    or item["file"].removesuffix(".png").replace("_", " ")})
    return out


def _tables(source, name: str, raw, valid_keys) -> list[tuple[str, dict]]:
    """(key, table) for each table of the array `name` (e.g. [[questions]]), every key known."""
    if raw is None:
        return []
    if not isinstance(raw, list) or not all(isinstance(t, dict) for t in raw):
        fail(source, name, f"expected an array of tables ([[{name}]])")
    for i, table in enumerate(raw):
        for k in table:
            if k not in valid_keys:
                fail(source, f"{name}[{i}].{k}", f"unknown key; valid: {', '.join(valid_keys)}")
    return [(f"{name}[{i}]", table) for i, table in enumerate(raw)]


def parse_questions(source: str, raw, models, metric_names, analysis_names) -> tuple[dict, ...]:
    """Validated `[[questions]]`, model references turned into labels; each kind checks its own
    fields (cnnlab.report.questions)."""
    from cnnlab.report.questions import KINDS

    resolve = _Models(models)
    out = []
    for key, q in _tables(source, "questions", raw, QUESTION_KEYS):
        kind = q.get("kind")
        if kind not in QUESTION_KINDS:
            fail(source, f"{key}.kind", f"unknown kind {kind!r}; valid: {', '.join(QUESTION_KINDS)}")
        for needed in NEEDS[kind]:
            if needed not in q:
                fail(source, f"{key}.{needed}", f"missing (a {kind!r} question needs {', '.join(NEEDS[kind])})")
        question = {"kind": kind, "title": _text(source, f"{key}.title", q.get("title")),
                    "asks": _text(source, f"{key}.asks", q.get("asks")),
                    "what": _text(source, f"{key}.what", q.get("what")) or "model",
                    **KINDS[kind].parse(q, _TableRefs(resolve, source, key))}
        if "margin" in q:
            question["margin"] = check_margin(source, f"{key}.margin", q["margin"])
        for name, valid, what in (("costs", metric_names, "metric"), ("accuracy_per", metric_names, "metric"),
                                  ("evidence", analysis_names, "analysis")):
            if name in q:
                question[name] = _names(source, f"{key}.{name}", q[name], valid, what)
        if "figures" in q:
            question["figures"] = _figures(source, f"{key}.figures", q["figures"])
        if "cost_ratios" in q:
            if not isinstance(q["cost_ratios"], bool):
                fail(source, f"{key}.cost_ratios", f"expected true or false, got {q['cost_ratios']!r}")
            question["cost_ratios"] = q["cost_ratios"]
        if "same_cost" in q:
            question["same_cost"] = _names(source, f"{key}.same_cost", [q["same_cost"]], metric_names, "metric")[0]
        out.append(question)
    return tuple(out)


def parse_claims(source: str, raw, models, metric_units: dict, dataset_check) -> tuple[dict, ...]:
    """Validated `[[claims]]`: our model as a label, the value in the metric's own unit (fractions
    for accuracies, which the file gives in percent)."""
    resolve = _Models(models)
    out = []
    for key, c in _tables(source, "claims", raw, CLAIM_KEYS):
        for k in ("their_model", "model", "metric", "value", "dataset"):
            if k not in c:
                fail(source, f"{key}.{k}", f"missing (a claim needs {', '.join(CLAIM_KEYS[:5])})")
        metric = c["metric"]
        if metric not in metric_units:
            fail(source, f"{key}.metric", f"unknown metric {metric!r}; valid: {', '.join(metric_units)}")
        value = c["value"]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            fail(source, f"{key}.value", f"expected a finite number, got {value!r}")
        if metric_units[metric] == "fraction":
            if not 0 <= value <= 100:
                fail(source, f"{key}.value", f"an accuracy is given in percent (0 to 100), got {value!r}")
            value = value / 100
        out.append({"their_model": _text(source, f"{key}.their_model", c["their_model"], optional=False),
                    "model": resolve.label(source, f"{key}.model", c["model"]), "metric": metric,
                    "value": float(value), "dataset": dataset_check(source, f"{key}.dataset", c["dataset"]),
                    "note": _text(source, f"{key}.note", c.get("note"))})
    return tuple(out)
