"""A tuned study: every model searches the same grid on a validation split, then is compared at
its own best setting. The runner (runner.py, `run_tuning`) goes through these steps:

    plan_tuning   the tuning runs, one per (model, setting, tuning seed): ordinary cached runs
                  whose key adds role "tune", the validation split and the setting, so a second
                  call trains nothing and a larger grid trains only its new points
    select        per model, the best setting by SELECTION_RULE from the tuning runs' summaries:
                  the TuningRecord study.json keeps (grid, validation accuracy of every point,
                  the choice, whether it lies on the grid's edge, the budget)
    tuned_study   the study with each model's chosen setting as its own training setting; its
                  evaluation runs are planned like any study's (plan.plan_runs), so an evaluation
                  run at the study's own lr is the very run of the study at shared settings

Tuning runs get the validation split (`validation_data`): the training images minus the
held-out ones, and the held-out ones as their test split. The real test images are not in it,
so nothing chosen here can have seen them.
"""

import dataclasses
import statistics

from cnnlab.data.splits import holdout
from cnnlab.fingerprint import code_fingerprint
from cnnlab.numeric import number
from cnnlab.store.schema import ModelTuning, RunConfig, TuningPoint, TuningRecord, TuningRun
from cnnlab.studies.loader import Study
from cnnlab.studies.plan import resolve_train, runtime
from cnnlab.studies.tune_spec import SELECTION_RULE, VALIDATION_SEED, TuneSpec


def validation_data(data, tune: TuneSpec):
    """The data of every tuning run: the same held-out images for every model (stratified, seeded)."""
    return holdout(data, tune.validation, VALIDATION_SEED)


def plan_tuning(study: Study, tune: TuneSpec, device, n_train: int, threads: int) -> list[RunConfig]:
    """Every tuning run in order: models as listed, then settings, then tuning seeds. No analyses
    (nothing of a tuning run is reported but its validation accuracy), the tuning epochs, and the
    model's own regularisation settings under the searched ones."""
    run_time = runtime(device, threads)
    sized = dataclasses.replace(study, epochs=tune.epochs, analyses=())
    split = {"fraction": tune.validation, "seed": VALIDATION_SEED}
    return [RunConfig(study=study.name, model=model.name, label=model.label, model_kwargs=dict(model.kwargs),
                      seed=seed, dataset=study.dataset, subset=study.subset, test_subset=None, profile=study.profile,
                      train=resolve_train(sized, {**model.train, **setting}, seed, device, n_train), analyses=(),
                      code=code_fingerprint((), model_source=model.source), runtime=run_time, role="tune",
                      validation=dict(split), setting=dict(setting), model_source=model.source)
            for model in study.models for setting in tune.settings() for seed in tune.seeds]


def _run(spec: RunConfig, summary: dict | None) -> TuningRun:
    summary = summary or {}
    status = summary.get("status", "pending")
    done = status == "done"
    return TuningRun(run_key=spec.key, seed=spec.seed, status=status,
                     accuracy=number(summary.get("test_acc")) if done else None,  # its test split is the validation split
                     loss=number(summary.get("test_loss")) if done else None,
                     seconds=number(summary.get("train_seconds")))


def _point(setting: dict, runs: list[TuningRun]) -> TuningPoint:
    """A point counts only when every seed finished: a setting that diverged for one seed is not a choice."""
    complete = bool(runs) and all(r.status == "done" and r.accuracy is not None for r in runs)
    losses = [r.loss for r in runs]
    return TuningPoint(setting=setting, runs=tuple(runs),
                       mean=statistics.fmean(r.accuracy for r in runs) if complete else None,
                       loss=statistics.fmean(losses) if complete and None not in losses else None)


def best_point(points: list[TuningPoint], keys) -> TuningPoint | None:
    """SELECTION_RULE: the highest mean validation accuracy; ties to the lower mean validation
    loss, then to the smaller values in `keys` order. None when no point finished."""
    eligible = [p for p in points if p.mean is not None]
    if not eligible:
        return None
    return min(eligible, key=lambda p: (-p.mean, p.loss if p.loss is not None else float("inf"),
                                        tuple(p.setting[k] for k in keys)))


def select(study: Study, tune: TuneSpec, specs: list[RunConfig], summaries: list[dict], train_size: int,
           validation_size: int) -> TuningRecord:
    """Each model's choice from its tuning runs' summaries (those not in `summaries` are pending)."""
    by_key = {s["run_key"]: s for s in summaries}
    models = []
    for model in study.models:
        own = [spec for spec in specs if spec.label == model.label]
        points = [_point(setting, [_run(spec, by_key.get(spec.key)) for spec in own if spec.setting == setting])
                  for setting in tune.settings()]
        best = best_point(points, list(tune.grid))
        edge = {}
        for key, values in tune.grid.items():
            if best is not None and len(values) > 1 and best.setting[key] in (values[0], values[-1]):
                edge[key] = "lowest" if best.setting[key] == values[0] else "highest"
        runs = [r for p in points for r in p.runs]
        models.append(ModelTuning(label=model.label, model=model.name, points=tuple(points),
                                  chosen=dict(best.setting) if best else None, edge=edge, runs=len(runs),
                                  seconds=sum(r.seconds or 0.0 for r in runs)))
    return TuningRecord(grid={k: list(v) for k, v in tune.grid.items()}, seeds=tuple(tune.seeds), epochs=tune.epochs,
                        validation={"fraction": tune.validation, "seed": VALIDATION_SEED, "train_size": train_size,
                                    "validation_size": validation_size},
                        rule=SELECTION_RULE, models=tuple(models), shared=study.name)


def tuned_study(study: Study, record: TuningRecord) -> Study:
    """`study` with each model's chosen setting as its own; a model with no finished point keeps
    the shared setting (the report says so)."""
    chosen = {m.label: m.chosen for m in record.models}
    models = tuple(dataclasses.replace(m, train={**m.train, **chosen[m.label]}) if chosen.get(m.label) else m
                   for m in study.models)
    return dataclasses.replace(study, models=models)
