"""study.json's "tuning" of a study run with --tune: the grid, the search per model and its choice."""

from dataclasses import dataclass, field, fields

from cnnlab.errors import UserError
from cnnlab.numeric import is_number, number
from cnnlab.store.schema.common import _is_int, _list_of_objects, _numbers_only
from cnnlab.store.schema.run import setting_text


@dataclass(frozen=True)
class TuningRun:
    """One tuning run as study.json lists it: its final validation accuracy and loss."""
    run_key: str
    seed: int | None
    status: str  # done | diverged | failed | pending | missing
    accuracy: float | None = None  # final validation accuracy (a fraction)
    loss: float | None = None
    seconds: float | None = None  # its training time


@dataclass(frozen=True)
class TuningPoint:
    """One setting of one model's search, with its runs (one per tuning seed)."""
    setting: dict  # e.g. {"lr": 0.001}
    runs: tuple[TuningRun, ...] = ()
    mean: float | None = None  # mean validation accuracy over the seeds; None unless every seed is done
    loss: float | None = None  # mean validation loss, the same way


@dataclass(frozen=True)
class ModelTuning:
    """One model's search: every point of the grid, what was chosen, where it lies, what it cost."""
    label: str
    model: str
    points: tuple[TuningPoint, ...] = ()
    chosen: dict | None = None  # the setting its evaluation runs use; None: no point finished (shared setting)
    edge: dict = field(default_factory=dict)  # searched key -> "lowest" | "highest": the choice is at the grid's end
    runs: int = 0  # tuning runs (the budget, the same for every model)
    seconds: float = 0.0  # their summed training time

    def lead(self) -> tuple[float, dict] | None:
        """(how far the chosen setting's mean validation accuracy is ahead of the next best, that
        setting), or None without a choice and a runner-up."""
        chosen = next((p for p in self.points if self.chosen is not None and p.setting == self.chosen
                       and p.mean is not None), None)
        others = [p for p in self.points if p is not chosen and p.mean is not None]
        if chosen is None or not others:
            return None
        runner_up = max(others, key=lambda p: p.mean)
        return chosen.mean - runner_up.mean, runner_up.setting

    def weak_choice(self, validation_images: int | None) -> list[str]:
        """Why this model's choice is weak, in short phrases: at an end of the grid, or ahead of the
        next setting by less than one validation image (a coin toss between the two)."""
        out = [f"the {where} {key} on the grid" for key, where in self.edge.items()]
        lead = self.lead()
        if lead and validation_images and lead[0] < 1 / validation_images:
            out.append(f"ahead of {setting_text(lead[1])} by less than one of the {validation_images:,} "
                       "validation images")
        return out


@dataclass(frozen=True)
class TuningRecord:
    """How a tuned study chose each model's settings (study.json's "tuning"): the grid, the
    tuning seeds and epochs, the validation split, the rule, and per model the validation
    accuracy of every point, its choice and its budget. `shared`: the study directory of the
    same study at shared settings (OUT/studies/<shared>), compared with in the report."""
    grid: dict  # searched key -> its values, in order, e.g. {"lr": [1e-4, 1e-3, 1e-2]}
    seeds: tuple[int, ...]
    epochs: int
    validation: dict  # {"fraction", "seed", "train_size", "validation_size"}
    rule: str  # the selection rule, in words
    models: tuple[ModelTuning, ...] = ()
    shared: str | None = None

    def to_json(self) -> dict:
        def point(p):
            return {"setting": dict(p.setting), "mean": p.mean, "loss": p.loss,
                    "runs": [{f.name: getattr(r, f.name) for f in fields(TuningRun)} for r in p.runs]}

        return {"grid": {k: list(v) for k, v in self.grid.items()}, "seeds": list(self.seeds), "epochs": self.epochs,
                "validation": dict(self.validation), "rule": self.rule, "shared": self.shared,
                "models": [{"label": m.label, "model": m.model, "chosen": m.chosen, "edge": dict(m.edge),
                            "runs": m.runs, "seconds": m.seconds, "points": [point(p) for p in m.points]}
                           for m in self.models]}

    @classmethod
    def from_json(cls, path, d) -> "TuningRecord":
        """Read study.json's "tuning"; a value of the wrong type where a number is expected reads as
        unknown, a structure that is not what this version writes is a damaged file (UserError)."""
        if not isinstance(d, dict) or not isinstance(d.get("grid"), dict) or not isinstance(d.get("models"), list):
            raise UserError(f"{path}: 'tuning' must be an object with a grid and models; the file is damaged: "
                            "run the study again to re-create it")
        models = []
        for m in _list_of_objects(path, d, "models"):
            points = []
            for p in _list_of_objects(path, m, "points"):
                runs = tuple(TuningRun(run_key=str(r.get("run_key") or ""),
                                       seed=r.get("seed") if _is_int(r.get("seed")) else None,
                                       status=str(r.get("status") or "missing"), accuracy=number(r.get("accuracy")),
                                       loss=number(r.get("loss")), seconds=number(r.get("seconds")))
                             for r in _list_of_objects(path, p, "runs"))
                points.append(TuningPoint(setting=_numbers_only(p.get("setting")), runs=runs,
                                          mean=number(p.get("mean")), loss=number(p.get("loss"))))
            chosen = m.get("chosen")
            models.append(ModelTuning(
                label=str(m.get("label") or m.get("model") or ""), model=str(m.get("model") or ""),
                points=tuple(points), chosen=_numbers_only(chosen) if isinstance(chosen, dict) else None,
                edge={str(k): str(v) for k, v in (m.get("edge") or {}).items()} if isinstance(m.get("edge"), dict)
                else {}, runs=m["runs"] if _is_int(m.get("runs")) else 0, seconds=number(m.get("seconds")) or 0.0))
        grid = {str(k): [float(x) for x in v if is_number(x)] for k, v in d["grid"].items() if isinstance(v, list)}
        validation = d.get("validation") if isinstance(d.get("validation"), dict) else {}
        return cls(grid=grid, seeds=tuple(x for x in d.get("seeds") or () if _is_int(x)),
                   epochs=d["epochs"] if _is_int(d.get("epochs")) else 0, validation=dict(validation),
                   rule=str(d.get("rule") or ""), models=tuple(models),
                   shared=d["shared"] if isinstance(d.get("shared"), str) else None)
