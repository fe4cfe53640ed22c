"""The numbers claimed in the course reports (../shared/PRODUCT.md), as data.

Each study file names the claims that apply to it with `reference = "1.1"` etc. A claim
is one number for one of *their* models, mapped to the cnnlab model that plays the same
role. They are claims, not targets: the report prints them next to what we measured and
says when the two are not measured on the same data, so nobody mistakes a different
setup for a failed reproduction.
"""

from dataclasses import dataclass

from cnnlab.report import fmt
from cnnlab.report.load import StudyResults
from cnnlab.report.stats import summarize

SOURCE = "seed report 000"

# Dataset of a claim -> (our dataset names that are the same data, full train size, full test size).
DATASETS = {"MNIST": (("mnist",), 60000, 10000), "CIFAR-10": (("cifar10",), 50000, 10000)}


@dataclass(frozen=True)
class Claim:
    their_model: str  # as the course report names it
    model: str  # our model in the same role
    metric: str  # a metric's name (cnnlab.report.load.metrics)
    value: float  # accuracies as fractions, times in seconds, counts as numbers
    dataset: str  # a key of DATASETS
    note: str = ""


def _acc(their, model, train, test, dataset, note=""):
    out = [Claim(their, model, "test_acc", test / 100, dataset, note)]
    if train is not None:
        out.insert(0, Claim(their, model, "train_acc", train / 100, dataset, note))
    return out


_GPU = "their total time on a GPU, their epochs"
_GRAD = "their layer is not stated; ours: the first (input-side) weight layer"
_SIX = "their '6 layers' is our depth-6"
_RESNET6 = "their 'ResNet-6' is a residual net of their deepest size; ours is depth-12-residual"

CLAIMS: dict[str, list[Claim]] = {
    "1.1": [
        *_acc("FC", "fc", 99.56, 97.72, "MNIST"), Claim("FC", "fc", "params", 567434, "MNIST"),
        Claim("FC", "fc", "train_seconds", 188, "MNIST", _GPU),
        *_acc("simple CNN", "simple-cnn", 99.83, 98.96, "MNIST"),
        Claim("simple CNN", "simple-cnn", "params", 421642, "MNIST"),
        Claim("simple CNN", "simple-cnn", "train_seconds", 206, "MNIST", _GPU),
        *_acc("residual CNN", "residual-cnn", 99.76, 98.85, "MNIST"),
        Claim("residual CNN", "residual-cnn", "params", 513994, "MNIST"),
        Claim("residual CNN", "residual-cnn", "train_seconds", 232, "MNIST", _GPU),
    ],
    "1.2": [
        *_acc("deep FC", "fc-deep", 53.6, 51.9, "CIFAR-10"),
        Claim("deep FC", "fc-deep", "train_seconds", 190, "CIFAR-10", _GPU),
        *_acc("residual CNN", "residual-cnn", 97.81, 75.07, "CIFAR-10"),
        Claim("residual CNN", "residual-cnn", "train_seconds", 293, "CIFAR-10", _GPU),
        *_acc("regularized residual CNN", "residual-cnn-reg", 84.27, 79.5, "CIFAR-10"),
        Claim("regularized residual CNN", "residual-cnn-reg", "train_seconds", 315, "CIFAR-10", _GPU),
    ],
    "2.1": [
        *_acc("3x3", "kernel-3x3", None, 78.2, "CIFAR-10"),
        *_acc("5x5", "kernel-5x5", None, 76.5, "CIFAR-10"),
        *_acc("7x7", "kernel-7x7", None, 74.1, "CIFAR-10"),
        *_acc("1x1+3x3", "kernel-1x1-3x3", None, 79.8, "CIFAR-10"),
    ],
    "2.2": [
        *_acc("2 layers", "depth-2", None, 72.3, "CIFAR-10"),
        Claim("2 layers", "depth-2", "grad_first_start", 1e-2, "CIFAR-10", _GRAD),
        Claim("2 layers", "depth-2", "grad_first_end", 1e-4, "CIFAR-10", _GRAD),
        *_acc("4 layers", "depth-4", None, 78.6, "CIFAR-10"),
        Claim("4 layers", "depth-4", "grad_first_start", 1e-3, "CIFAR-10", _GRAD),
        Claim("4 layers", "depth-4", "grad_first_end", 1e-5, "CIFAR-10", _GRAD),
        *_acc("6 layers", "depth-6", None, 68.4, "CIFAR-10", _SIX),
        Claim("6 layers", "depth-6", "grad_first_start", 1e-5, "CIFAR-10", _GRAD),
        Claim("6 layers", "depth-6", "grad_first_end", 1e-8, "CIFAR-10", _GRAD),
        *_acc("ResNet-6", "depth-12-residual", None, 82.1, "CIFAR-10", _RESNET6),
        Claim("ResNet-6", "depth-12-residual", "grad_first_start", 1e-3, "CIFAR-10", _GRAD),
        Claim("ResNet-6", "depth-12-residual", "grad_first_end", 1e-5, "CIFAR-10", _GRAD),
    ],
    "3.1": [
        *_acc("custom conv", "cnn-custom-conv", None, 98.2, "MNIST", "their custom-conv comparison was on MNIST"),
        *_acc("standard conv", "cnn-baseline", None, 98.5, "MNIST", "their custom-conv comparison was on MNIST"),
        *_acc("attention", "cnn-se", None, 93.4, "CIFAR-10", "their one attention model; ours: SE"),
        *_acc("attention", "cnn-cbam", None, 93.4, "CIFAR-10", "their one attention model; ours: CBAM"),
        *_acc("Swish", "cnn-swish", None, 92.8, "CIFAR-10"),
        *_acc("custom activation", "cnn-custom-act", None, 93.2, "CIFAR-10"),
        *_acc("ReLU (standard)", "cnn-baseline", None, 92.1, "CIFAR-10"),
    ],
    "3.2": [
        *_acc("basic block", "resnet-basic", None, 92.1, "CIFAR-10"),
        Claim("basic block", "resnet-basic", "params", 0.22e6, "CIFAR-10", "stated as '0.16M vs 0.22M params'"),
        *_acc("bottleneck block", "resnet-bottleneck", None, 92.8, "CIFAR-10"),
        Claim("bottleneck block", "resnet-bottleneck", "params", 0.16e6, "CIFAR-10",
              "stated as '0.16M vs 0.22M params'"),
        *_acc("wide block (k=2)", "resnet-wide", None, 93.5, "CIFAR-10"),
    ],
}

METRIC_NAMES = {"train_acc": "train accuracy", "test_acc": "test accuracy", "params": "parameters",
                "train_seconds": "training time", "grad_first_start": "gradient norm at start",
                "grad_first_end": "gradient norm at end"}


def _format(metric: str, value) -> str:
    if metric in ("train_acc", "test_acc"):
        return fmt.pct(value)
    if metric == "params":
        return f"{value:,.0f}"
    if metric == "train_seconds":
        return fmt.seconds(value)
    return fmt.sci(value)


def _measured(metric: str, values: list[float]) -> str:
    s = summarize(values)
    if s.mean is None:
        return fmt.DASH
    if metric in ("train_acc", "test_acc"):
        return fmt.mean_std(s, 100, unit="%")
    if metric == "params":
        return f"{s.mean:,.0f}"
    if metric == "train_seconds":
        return fmt.mean_std(s, unit="s")
    return fmt.sci(s.mean) + (f" (n = {s.n})" if s.n > 1 else "")


def dataset_note(study: StudyResults, claim_dataset: str) -> str:
    """Empty when we measured on the same data as the claim, else what differs."""
    names, full_size, full_test = DATASETS[claim_dataset]
    ours = str(study.info.dataset or study.manifest.dataset or "?")
    source = str(study.manifest.dataset_source or "")
    train_size, test_size = study.manifest.train_size, study.manifest.test_size
    subset = study.info.subset
    if ours.lower() not in names:
        size = f", {train_size:,} train images" if isinstance(train_size, int) else ""
        if study.info.test_subset and isinstance(test_size, int):
            size += f", {test_size:,} test images"
        return f"dataset differs: theirs {claim_dataset}, ours {ours}{size}"
    notes = []
    if subset or (isinstance(train_size, int) and train_size < full_size):
        n = train_size if isinstance(train_size, int) else subset
        notes.append(f"ours: subset of {claim_dataset} ({n:,} of {full_size:,} train images)"
                     if isinstance(n, int) else f"ours: subset of {claim_dataset}")
    if isinstance(test_size, int) and test_size < full_test:
        notes.append(f"ours: first {test_size:,} of {full_test:,} test images")
    if "jpeg" in source.lower():
        notes.append(f"ours: JPEG copy of {claim_dataset} (lossy re-encoding)")
    return "; ".join(notes)


def claims_rows(study: StudyResults) -> tuple[list[str], list[list[str]], str] | None:
    """Header, rows and a note shared by every row (the dataset difference when all claims
    share it), or None if the study names no known reference."""
    claims = CLAIMS.get(study.info.reference)
    if not claims:
        return None
    models = {m.name: m for m in study.models}
    data_notes = {c.dataset: dataset_note(study, c.dataset) for c in claims}
    shared = next(iter(data_notes.values())) if len(data_notes) == 1 else ""
    header = ["Their model", "Metric", "Claimed", "Our model", "Measured (mean ± std)", "Δ (ours − claimed)",
              "Note"]
    rows = []
    for c in claims:
        model = models.get(c.model)
        values = model.values(c.metric) if model else []
        measured = _measured(c.metric, values) if model else "not in this study"
        delta = fmt.DASH
        if values and c.metric in ("train_acc", "test_acc"):
            delta = fmt.points(summarize(values).mean - c.value)
        notes = [n for n in ("" if shared else data_notes[c.dataset], c.note) if n]
        rows.append([c.their_model, METRIC_NAMES[c.metric], _format(c.metric, c.value),
                     model.label if model else c.model, measured, delta, "; ".join(notes)])
    return header, rows, shared


def ranking_sentences(study: StudyResults) -> list[str]:
    """Their ranking by test accuracy next to ours (by mean), for the models both have."""
    claims = [c for c in CLAIMS.get(study.info.reference, []) if c.metric == "test_acc"]
    models = {m.name: m for m in study.models}
    seen, pairs = set(), []
    for c in claims:
        if c.model in models and c.model not in seen and models[c.model].values("test_acc"):
            seen.add(c.model)
            pairs.append((c, summarize(models[c.model].values("test_acc")).mean))
    if len(pairs) < 2 or len({c.dataset for c, _ in pairs}) > 1:
        return []
    theirs = " > ".join(f"{c.their_model} ({fmt.pct(c.value, 1)})" for c, _ in sorted(pairs, key=lambda p: -p[0].value))
    ours = " > ".join(f"{models[c.model].label} ({fmt.pct(m, 1)})" for c, m in sorted(pairs, key=lambda p: -p[1]))
    return [f"Their ranking by test accuracy: {theirs}.",
            f"Ours, by mean over seeds: {ours} (see Comparisons for which differences are significant)."]
