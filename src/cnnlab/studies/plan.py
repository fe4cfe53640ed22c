"""From a study to the list of runs it needs: one `RunSpec` per (model, seed).

A run's key is the hash of its resolved config, everything that can change its result:
study, model and its arguments, seed, dataset and subset, every training setting with
defaults filled in (and "auto" precision resolved for this hardware), and the analyses.
The same key means the same run, so a finished one is never trained twice.
"""

import math
from dataclasses import dataclass

from cnnlab.errors import UserError
from cnnlab.studies.loader import Study
from cnnlab.train.config import TrainConfig, config_hash
from cnnlab.train.device import resolve_precision

GRAD_FLOW_POINTS = 100  # gradient-flow snapshots per run when the study does not set grad_flow_every


@dataclass(frozen=True)
class RunSpec:
    study: str
    model: str
    label: str
    model_kwargs: dict
    seed: int
    dataset: str
    subset: int | None
    train: dict  # TrainConfig.to_dict(), fully resolved
    analyses: tuple[str, ...]

    def config(self) -> dict:
        """What config.json holds (besides the cnnlab version), and what the key hashes."""
        return {"study": self.study, "model": self.model, "model_kwargs": dict(self.model_kwargs),
                "seed": self.seed, "dataset": self.dataset, "subset": self.subset,
                "train": dict(self.train), "analyses": list(self.analyses)}

    @property
    def run_key(self) -> str:
        return config_hash(self.config())

    @property
    def name(self) -> str:
        return f"{self.label} seed {self.seed}"


def resolve_train(study: Study, model_train: dict, seed: int, device, n_train: int) -> dict:
    """The full TrainConfig of one run: shared settings, the model's regularisation
    overrides, epochs and seed, then what the analyses need."""
    config = TrainConfig.from_dict({**study.train, **model_train, "epochs": study.epochs, "seed": seed})
    autocast_dtype, _ = resolve_precision(config.precision, device)
    config.precision = "bf16" if autocast_dtype is not None else "fp32"
    if "grad_flow" in study.analyses and not config.grad_flow_every:
        total_steps = math.ceil(n_train / config.batch_size) * config.epochs
        config.grad_flow_every = max(1, total_steps // GRAD_FLOW_POINTS)
    if "stability" in study.analyses:
        config.log_steps = True  # per-step loss and gradient norm
    return config.validate().to_dict()


def plan_runs(study: Study, device, n_train: int) -> list[RunSpec]:
    """Every (model, seed) of the study in order: models as listed, seeds within each model."""
    specs, seen = [], {}
    for i, model in enumerate(study.models):
        for seed in study.seeds:
            spec = RunSpec(study=study.name, model=model.name, label=model.label,
                           model_kwargs=dict(model.kwargs), seed=seed, dataset=study.dataset,
                           subset=study.subset, train=resolve_train(study, model.train, seed, device, n_train),
                           analyses=tuple(study.analyses))
            if spec.run_key in seen and seen[spec.run_key] != i:
                raise UserError(f"{study.source}: key 'models[{i}]': same model, arguments and training "
                                f"settings as models[{seen[spec.run_key]}]; the two would be one run")
            seen[spec.run_key] = i
            specs.append(spec)
    return specs
