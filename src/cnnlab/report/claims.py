"""Numbers other reports claimed for a study's models (its `[[claims]]`), next to what we measured.

A claim is one number for one of *their* models, mapped to the model of ours that plays the
same role (cnnlab.studies.questions). They are claims, not targets: the report prints them
next to the measurement and says when the two were not measured on the same data, so nobody
mistakes a different setup for a failed reproduction.
"""

import math

from cnnlab.report import fmt
from cnnlab.results import StudyResults, get_metric
from cnnlab.stats.constants import ALPHA
from cnnlab.stats.scipy_lazy import sps
from cnnlab.stats.summary import summarize, summarize_accuracy


def _measured(unit: str, values: list[float], images: int | None) -> str:
    if unit == "fraction":
        s = summarize_accuracy(values, images=images)
        return fmt.mean_std(s, 100, unit="%") if s.mean is not None else fmt.DASH
    s = summarize(values)
    if s.mean is None:
        return fmt.DASH
    if unit == "seconds":
        return fmt.mean_std(s, unit="s")
    if unit in ("count", "bytes", "ms", "img/s", "px"):
        return fmt.by_unit(unit, s.mean)
    return fmt.sci(s.mean) + (f" (n = {s.n})" if s.n > 1 else "")


def _claimed(unit: str, value) -> str:
    return fmt.by_unit(unit, value) if unit in ("fraction", "count", "seconds", "bytes", "ms", "img/s", "px") \
        else fmt.sci(value)


def dataset_note(study: StudyResults, claim_dataset: str) -> str:
    """Empty when we measured on the same data as the claim, else what differs. The claim's
    full train/test sizes are those its dataset registers (`claims[].train_size`, `test_size`)."""
    claim = next((c for c in study.info.claims if c.get("dataset") == claim_dataset), {})
    full_train, full_test = claim.get("train_size"), claim.get("test_size")
    ours = str(study.info.dataset or study.manifest.dataset or "?")
    source = str(study.manifest.dataset_source or "")
    train_size, test_size = study.manifest.train_size, study.manifest.test_size
    if ours != claim_dataset:
        size = f", {train_size:,} train images" if isinstance(train_size, int) else ""
        if study.info.test_subset and isinstance(test_size, int):
            size += f", {test_size:,} test images"
        return f"dataset differs: theirs {claim_dataset}, ours {ours}{size}"
    notes = []
    if study.info.subset or (isinstance(train_size, int) and full_train and train_size < full_train):
        n = train_size if isinstance(train_size, int) else study.info.subset
        of = f" of {full_train:,}" if full_train else ""
        notes.append(f"ours: subset of {claim_dataset} ({n:,}{of} train images)" if isinstance(n, int)
                     else f"ours: subset of {claim_dataset}")
    if isinstance(test_size, int) and full_test and test_size < full_test:
        notes.append(f"ours: first {test_size:,} of {full_test:,} test images")
    if "jpeg" in source.lower():
        notes.append(f"ours: JPEG copy of {claim_dataset} (lossy re-encoding)")
    return "; ".join(notes)


def claims_rows(study: StudyResults) -> tuple[list[str], list[list[str]], str] | None:
    """Header, rows and a note shared by every row (the dataset difference when all claims
    share it), or None if the study states no claims."""
    claims = study.info.claims
    if not claims:
        return None
    models = {m.label: m for m in study.models}
    data_notes = {c["dataset"]: dataset_note(study, c["dataset"]) for c in claims}
    shared = next(iter(data_notes.values())) if len(data_notes) == 1 else ""
    header = ["Their model", "Metric", "Claimed", "Our model", "Measured (mean ± std)", "Δ (ours − claimed)",
              "Note"]
    rows = []
    for c in claims:
        metric = get_metric(c["metric"])
        model = models.get(c["model"])
        values = model.values(c["metric"]) if model else []
        measured = _measured(metric.unit, values, study.test_images) if model else "not in this study"
        delta = fmt.DASH
        if values and metric.unit == "fraction":
            delta = fmt.points(summarize(values).mean - c["value"])
        notes = [n for n in ("" if shared else data_notes[c["dataset"]], c.get("note", "")) if n]
        rows.append([c["their_model"], metric.title, _claimed(metric.unit, c["value"]), c["model"], measured, delta,
                     "; ".join(notes)])
    return header, rows, shared


def test_sampling_note(study: StudyResults) -> str | None:
    """What our accuracy intervals leave out, for a reader setting them beside other reports' numbers:
    they are over seeds on these test images; other test images would move a model's accuracy by
    about ±1.96·sqrt(p(1-p)/N) (binomial), a width they do not contain."""
    images = study.test_images
    measured = [summarize(m.values("test_acc")).mean for m in study.models if m.values("test_acc")]
    if not images or not measured:
        return None
    p = sum(measured) / len(measured)
    half = float(sps.norm.ppf(1 - ALPHA / 2)) * math.sqrt(p * (1 - p) / images)
    return (f"Our accuracy intervals are over seeds, on these {images:,} test images: they leave out how much a "
            f"model's accuracy would move on other test images from the same distribution, about ±{100 * half:.1f} "
            f"points at {100 * p:.0f}% on {images:,} images (binomial, 95%). A claim outside our interval may "
            "still agree with our model on the full test distribution.")


def ranking_sentences(study: StudyResults) -> list[str]:
    """Their ranking by test accuracy next to ours (by mean), for the models both have."""
    claims = [c for c in study.info.claims if c["metric"] == "test_acc"]
    models = {m.label: m for m in study.models}
    seen, pairs = set(), []
    for c in claims:
        if c["model"] in models and c["model"] not in seen and models[c["model"]].values("test_acc"):
            seen.add(c["model"])
            pairs.append((c, summarize(models[c["model"]].values("test_acc")).mean))
    if len(pairs) < 2 or len({c["dataset"] for c, _ in pairs}) > 1:
        return []
    theirs = " > ".join(f"{c['their_model']} ({fmt.pct(c['value'], 1)})"
                        for c, _ in sorted(pairs, key=lambda p: -p[0]["value"]))
    ours = " > ".join(f"{c['model']} ({fmt.pct(m, 1)})" for c, m in sorted(pairs, key=lambda p: -p[1]))
    return [f"Their ranking by test accuracy: {theirs}.",
            f"Ours, by mean over seeds: {ours} (see Comparisons and Answers for which differences are decided)."]
