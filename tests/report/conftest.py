"""A fake but realistic results directory: what `cnnlab run` writes, without training.

Everything is written through the run-record schema (`cnnlab.store.schema`, `RunDir`), so
the files have exactly the layout and keys the runner writes and the report reads; the
analysis.json content is checked by `check_analysis` like a real run's. Overfitting comes
from the real `cnnlab.analyses.overfitting.measure`; the other measurements are each analysis's
example value (`Analysis.example`), made-up numbers in the shapes its `measure` stores.
"""

from pathlib import Path

import numpy as np
import pytest

from cnnlab.analyses.overfitting.measure import overfitting
from cnnlab.io import atomic_write_json
from cnnlab import plugins
from cnnlab.plugins import ExampleRun, analysis_names
from cnnlab.store.rundir import RunDir
from cnnlab.store.schema import (STUDY_FILE, Manifest, ModelTuning, RunConfig, RunEntry, StudyModel, StudyRecord,
                                 TuningPoint, TuningRecord, TuningRun, check_analysis, metrics_row)
from cnnlab.train import TrainConfig

ALL_ANALYSES = analysis_names()


def _metrics(rng, epochs: int, final_acc: float, gap: float | None = None) -> list[dict]:
    """`gap`: the final train-test gap, reached linearly and varying a little by seed
    (default: 0.02 per epoch, the same for every seed)."""
    rows = []
    for e in range(1, epochs + 1):
        test_acc = final_acc - 0.1 * (epochs - e) / epochs + rng.normal(0, 0.002)
        step = 0.02 * e if gap is None else gap * e / epochs + rng.normal(0, 0.002)
        train_acc = min(test_acc + step, 0.999)
        rows.append(metrics_row(epoch=e, train_loss=1.5 / e, train_acc=train_acc, test_loss=1.6 / e + 0.01 * e,
                                test_acc=test_acc, epoch_seconds=1.2, train_seconds=1.0 + 0.1 * (e == 1),
                                images_per_second=5000.0, lr=1e-3))
    return rows


def _analysis(rng, params: int, final_acc: float, analyses, metrics, sharing=1) -> dict:
    """A run's analysis.json: the numbers every run has, then each analysis's own example value
    (cnnlab.plugins.Analysis.example), as its measure would store it."""
    out = {"params": {"total": params, "trainable": params}, "macs": params * 3, "flops": params * 6,
           "train_seconds": 3.1, "device": "cpu", "precision": "fp32", "step_mode": "eager",
           "sharing": {"runs_per_device": sharing}}
    run = ExampleRun(rng=rng, params=params, final_acc=final_acc, metrics=metrics)
    for analysis in plugins.analyses():
        if analysis.name in analyses and analysis.example is not None:
            out[analysis.name] = analysis.example(run)
    return out


def write_study(root: Path, title: str = "Fake study", models=(("fc", "FC"), ("simple-cnn", "Simple CNN")),
                accuracies=(0.80, 0.95), seeds=(0, 1), epochs: int = 3, reference: str = "1.1",
                dataset: str = "mnist-small", analyses=ALL_ANALYSES, noise: float = 0.002,
                statuses: dict | None = None, profile: str = "full", name: str = "fake",
                gaps: dict | None = None, sharing: int | None = 1, questions=(), claims=(), claims_source: str = "",
                margin: float = 1.0, looks=(), source: str | None = None, folder: str | None = None,
                model_train: dict | None = None, tuning=None, edit_run=None, test: str = "welch",
                plan_seeds: int | None = None) -> Path:
    """Write OUT/runs/<key>/... and OUT/studies/fake/study.json under `root`; return the study dir.

    `statuses` maps (model name, seed) to a status other than "done" ("failed" runs get no
    metrics, only error.txt; None means the run directory is missing). `accuracies`: one per
    model, or a dict by model name; `gaps`: the final train-test gap by model name.
    `questions`, `claims` (as cnnlab.studies.questions returns them), `claims_source`,
    `margin` and `looks` go into study.json as the runner writes them; by default those of the
    built-in study with this `reference` (`builtin_parts`). `edit_run(model, seed, metrics,
    analysis)` may change a run's records in place before they are written. `folder`: the study's directory
    (default its name; a tuned study's is "<name>-tuned"), `model_train`: each model's own
    training settings by model name (a tuned model's chosen lr), `tuning`: a TuningRecord."""
    statuses = statuses or {}
    if reference and not questions and not claims:
        parts = builtin_parts(reference, models)
        questions, claims, claims_source = parts["questions"], parts["claims"], parts["claims_source"]
    accuracies = accuracies if isinstance(accuracies, dict) else dict(zip((n for n, _ in models), accuracies))
    rng = np.random.default_rng(0)
    train = TrainConfig(epochs=epochs, optimizer="adam", lr=1e-3, precision="fp32").to_dict()
    runs = []
    for model_name, label in models:
        acc = accuracies[model_name]
        params = 10_000 + 5_000 * len(runs)
        for seed in seeds:
            own = (model_train or {}).get(model_name, {})
            config = RunConfig(study=name, model=model_name, label=label, model_kwargs={}, seed=seed, dataset=dataset,
                               subset=None, train={**train, **own, "seed": seed}, analyses=tuple(analyses),
                               code="0" * 16, runtime={"device": "cpu", "threads": 2, "torch": "2.x"}, profile=profile)
            status = statuses.get((model_name, seed), "done")
            runs.append(RunEntry(run_key=config.key, model=model_name, label=label, seed=seed,
                                 status=status or "missing"))
            if status is None:
                continue
            run = RunDir(root / "runs" / config.key)
            run.write_config(config)
            if status == "failed":
                run.write_error("RuntimeError: out of memory")
                run.set_status(status)
                continue
            final = acc + rng.normal(0, noise)
            metrics = _metrics(rng, epochs, final, (gaps or {}).get(model_name))
            analysis = _analysis(rng, params, final, analyses, metrics, sharing)
            if status == "diverged":
                metrics = metrics[:1]
                analysis["diverged_epoch"] = 2
                if "overfitting" in analyses:
                    analysis["overfitting"] = overfitting(metrics)
                for key in ("confusion", "receptive_field", "erf", "inference", "memory", "activations"):
                    analysis.pop(key, None)
            if edit_run:  # a test's own change to one run's records, (model, seed, metrics, analysis)
                edit_run(model_name, seed, metrics, analysis)
            run.write_metrics(metrics)
            run.write_analysis(check_analysis(analysis, analyses, status))
            if "activations" in analyses and status == "done":
                np.savez_compressed(run.path / "activations.npz",
                                    images=rng.integers(0, 255, size=(8, 1, 8, 8), dtype=np.uint8),
                                    labels=np.arange(8), filters=rng.normal(size=(4, 1, 3, 3)).astype(np.float32),
                                    **{"layer:conv1": rng.normal(size=(8, 4, 8, 8)).astype(np.float32)})
            run.set_status(status)
    study_dir = root / "studies" / (folder or name)
    study_dir.mkdir(parents=True)
    record = StudyRecord(
        name=name, title=title, description="A study made up for tests.", reference=reference, profile=profile,
        dataset=dataset, epochs=epochs, seeds=tuple(seeds), inference_repeats=30, analyses=tuple(analyses),
        train={"optimizer": "adam", "lr": 1e-3, "epochs": epochs},
        models=tuple(StudyModel(name=n, label=lab, train=dict((model_train or {}).get(n, {}))) for n, lab in models),
        runs=tuple(runs), tuning=tuning, test=test,
        questions=tuple(questions), claims=tuple(claims), claims_source=claims_source, margin=margin,
        looks=tuple(looks) or (len(seeds),), plan_seeds=plan_seeds, source=source,
        manifest=Manifest(cnnlab_version="0.1.0", torch_version="2.14.1", device="Fake CPU 3000",
                          cpu_model="Fake CPU 3000", threads=2, precision="fp32", dataset=dataset,
                          dataset_source="bundled", train_size=5000, test_size=10000, wall_clock_seconds=75.5,
                          started="2025-01-01T10:00:00", finished="2025-01-01T10:01:15"))
    atomic_write_json(study_dir / STUDY_FILE, record.to_json())
    return study_dir


def builtin_parts(reference: str, models) -> dict:
    """The questions, claims and claims_source of the built-in study for `reference` ("1.1"),
    as the study loader resolves them against `models` ((registered name, label) pairs): what
    it asks about models a fake study lacks is left out, as if its file named only these."""
    import tomllib

    from cnnlab.studies.loader import load_builtin_studies, parse_study

    source = next(s.source for s in load_builtin_studies() if s.reference == reference)
    raw = tomllib.loads(Path(source).read_text(encoding="utf-8"))
    names = {n for n, _ in models}
    raw["models"] = [{"name": n, "label": label} for n, label in models]
    raw["claims"] = [c for c in raw.get("claims", []) if c["model"] in names]
    questions = []
    for q in raw.get("questions", []):
        q = dict(q)
        if "models" in q:
            q["models"] = [m for m in q["models"] if m in names]
        if "pairs" in q:
            q["pairs"] = [p for p in q["pairs"] if set(p) <= names]
        if len(q.get("models", [0, 0])) >= 2 and q.get("pairs", [0]) and {q.get("a"), q.get("b")} - {None} <= names:
            questions.append(q)
    raw["questions"] = questions
    study = parse_study(raw, source)
    return {"questions": study.questions, "claims": study.claims, "claims_source": study.claims_source}


def fake_tuning(models, grid: list[float], curves: dict, seeds=(1000, 1001), shared: str = "fake") -> TuningRecord:
    """A TuningRecord as the runner writes it: `curves` maps a model name to its validation accuracy
    at each lr of `grid` (each seed ±0.01 around it); the best one is chosen, as by the rule."""
    from cnnlab.studies.tune_runs import best_point

    out = []
    for name, label in models:
        points = [TuningPoint({"lr": lr}, tuple(TuningRun(f"{name}-{lr}-{s}", s, "done", acc + (0.01 if i else -0.01),
                                                          1 - acc, 2.0) for i, s in enumerate(seeds)), mean=acc,
                              loss=1 - acc) for lr, acc in zip(grid, curves[name])]
        best = best_point(points, ["lr"])
        edge = {"lr": "lowest" if best.setting["lr"] == grid[0] else "highest"} if best.setting["lr"] in (
            grid[0], grid[-1]) else {}
        out.append(ModelTuning(label, name, tuple(points), chosen=dict(best.setting), edge=edge,
                               runs=len(grid) * len(seeds), seconds=2.0 * len(grid) * len(seeds)))
    return TuningRecord(grid={"lr": list(grid)}, seeds=tuple(seeds), epochs=2,
                        validation={"fraction": 0.1, "seed": 0, "train_size": 4500, "validation_size": 500},
                        rule="the highest mean validation accuracy", models=tuple(out), shared=shared)


@pytest.fixture
def write_fake_study():
    """`write_study` and `fake_tuning` themselves, for tests that put several studies under one root."""
    return write_study, fake_tuning


@pytest.fixture
def make_study(tmp_path):
    def make(**kw):
        return write_study(tmp_path / f"out{len(list(tmp_path.iterdir()))}", **kw)
    return make


@pytest.fixture(scope="session")
def full_study(tmp_path_factory):
    """One study with every analysis, rendered once and shared by the read-only tests."""
    from cnnlab.report import render_report

    study_dir = write_study(tmp_path_factory.mktemp("full"))
    md_path, html_path = render_report(study_dir, dpi=30)
    return study_dir, md_path.read_text(encoding="utf-8"), html_path.read_text(encoding="utf-8")
