"""From a study to the list of runs it needs: one `RunConfig` per (model, seed).

A run's key hashes everything that can change its result: study and profile, model and
its arguments, seed, dataset and its train/test subsets, every training setting with defaults filled in (and
"auto" precision resolved for this hardware), the analyses, the fingerprint of the code
that trains and measures it, and the runtime (device type, CPU threads, torch version).
The same key means the same run, so a finished one is never trained twice, and a run
made by other code or on another runtime is never served as this one.
"""

import math
from dataclasses import replace

import torch

from cnnlab.errors import UserError
from cnnlab.fingerprint import code_fingerprint
from cnnlab.store.schema import RunConfig
from cnnlab.studies.analyse import analysis_train_settings
from cnnlab.studies.loader import Study
from cnnlab.train.config import TrainConfig
from cnnlab.train.precision import resolve_precision

def resolve_train(study: Study, model_train: dict, seed: int, device, n_train: int) -> dict:
    """The full TrainConfig of one run: shared settings, the model's regularisation
    overrides, epochs and seed, then what the analyses need."""
    config = TrainConfig(**{**study.train, **model_train, "epochs": study.epochs, "seed": seed})
    config = replace(config, precision=resolve_precision(config.precision, device).name)
    total_steps = math.ceil(n_train / config.batch_size) * config.epochs
    return replace(config, **analysis_train_settings(study.analyses, config, total_steps)).to_dict()


def runtime(device: torch.device, threads: int) -> dict:
    """What besides the code decides a run's exact numbers: float sums split over another
    number of CPU threads round differently; on a GPU the CPU threads do not matter."""
    return {"device": device.type, "threads": int(threads) if device.type == "cpu" else None,
            "torch": torch.__version__}


def plan_runs(study: Study, device, n_train: int, threads: int) -> list[RunConfig]:
    """Every (model, seed) of the study in order: models as listed, seeds within each model."""
    specs, seen = [], {}
    run_time = runtime(device, threads)
    for i, model in enumerate(study.models):
        code = code_fingerprint(study.analyses, model_source=model.source)  # a user's model: its code too
        for seed in model.seeds(study.seeds):
            spec = RunConfig(study=study.name, model=model.name, label=model.label,
                             model_kwargs=dict(model.kwargs), seed=seed, dataset=study.dataset,
                             subset=study.subset, test_subset=study.test_subset, profile=study.profile,
                             train=resolve_train(study, model.train, seed, device, n_train),
                             analyses=tuple(study.analyses), code=code, runtime=run_time, model_source=model.source)
            if spec.key in seen and seen[spec.key] != i:
                raise UserError(f"{study.source}: key 'models[{i}]': same model, arguments and training "
                                f"settings as models[{seen[spec.key]}]; the two would be one run (to compare a "
                                "model with itself, give one of them a seed_offset)")
            seen[spec.key] = i
            specs.append(spec)
    return specs
