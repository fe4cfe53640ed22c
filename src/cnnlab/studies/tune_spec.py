"""What a study searches before it compares: the `[tune]` table of a study file, and the grid,
seeds, epochs and validation split it resolves to (`resolve_tune`).

    [tune]                         # optional: the settings `cnnlab run --tune` (cnnlab.run(tune=True)) searches
    lr = [1e-4, 1e-3, 1e-2]        # the learning rates to try; without it, `points` log-spaced ones
    points = 5                     #   around the study's own lr, `span` decades either side:
    span = 1                       #   lr x 10^[-1, -0.5, 0, 0.5, 1] (the default)
    weight_decay = [0, 5e-4]       # optional: weight decay too (every combination with lr)
    seeds = 2                      # tuning seeds: a count (1000, 1001, ...) or a list, never an evaluation seed
    epochs = 3                     # epochs of each tuning run (default: the study's)
    validation = 0.1               # share of the training images held out to score the tuning runs

A study without [tune] gets these defaults when it is run with --tune, and a [profiles.quick]
table may size the tuning too (`tune = { points = 3, seeds = 2, epochs = 2 }`). Every model gets
the same grid, seeds and epochs: the same number of tuning runs.
"""

import itertools
from dataclasses import dataclass

from cnnlab.numeric import is_number
from cnnlab.studies.fields import fail, seeds
from cnnlab import settings
from cnnlab.settings import MAX_EPOCHS

TUNE_KEYS = ("lr", "points", "span", "weight_decay", "seeds", "epochs", "validation")
SEARCHED = ("lr", "weight_decay")  # the training settings a grid may vary, in the order settings name them
DEFAULT_POINTS = 5
DEFAULT_SPAN = 1.0  # decades either side of the study's lr
DEFAULT_TUNE_SEEDS = 2
TUNE_SEED_BASE = 1000  # tuning seeds 1000, 1001, ...: apart from the evaluation seeds 0, 1, 2, ...
DEFAULT_VALIDATION = 0.1
VALIDATION_SEED = 0  # one split for every model and every study run with these settings
MAX_POINTS = 50
MAX_SPAN = 4.0
MAX_TUNE_SEEDS = 100
MAX_VALIDATION = 0.5
# How the best point is chosen, in the words the report prints.
SELECTION_RULE = ("the setting with the highest mean validation accuracy over the tuning seeds (final epoch); "
                  "a setting counts only when every tuning seed finished without diverging; ties go to the lower "
                  "mean validation loss, then to the smaller value (learning rate first)")


@dataclass(frozen=True)
class TuneSpec:
    """A study's search, resolved: the same for every model."""
    grid: dict  # searched key (SEARCHED) -> ascending tuple of values
    seeds: tuple[int, ...]
    epochs: int
    validation: float  # share of the training images held out

    def settings(self) -> list[dict]:
        """Every point of the grid, e.g. [{"lr": 1e-4}, {"lr": 1e-3}, ...], lr varying slowest."""
        keys = list(self.grid)
        return [dict(zip(keys, values)) for values in itertools.product(*(self.grid[k] for k in keys))]

    @property
    def runs_per_model(self) -> int:
        return len(self.settings()) * len(self.seeds)


# ---- the [tune] table -------------------------------------------------------------------

def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _int(source, key, value, lo: int, hi: int) -> int:
    if not _is_int(value) or not lo <= value <= hi:
        fail(source, key, f"expected an integer in [{lo}, {hi:,}], got {value!r}")
    return value


def _values(source, key, value, setting: settings.Setting) -> tuple[float, ...]:
    """A non-empty list of distinct values that `setting` takes (its declared bounds), ascending."""
    if not isinstance(value, list):
        fail(source, key, f"expected a list of {setting.expected().replace('a number', 'numbers')}, "
                          f"e.g. [1e-4, 1e-3, 1e-2], got {value!r}")
    if not value:
        fail(source, key, "the list is empty: give at least one value to try")
    for i, x in enumerate(value):
        if not is_number(x) or not setting.within(x):
            fail(source, f"{key}[{i}]", f"must be {setting.expected()}, got {x!r}")
    if len(set(value)) != len(value):
        fail(source, key, f"a value is listed twice in {value}")
    return tuple(sorted(float(x) for x in value))


def parse_tune(source, key: str, table) -> dict:
    """A [tune] table (or a profile's `tune`), checked; returns it as plain values (lists as
    ascending tuples). `key` names it in errors ("tune", "profiles.quick.tune")."""
    if not isinstance(table, dict):
        fail(source, key, f"expected a table ([tune]), got {table!r}")
    out = {}
    for name, value in table.items():
        where = f"{key}.{name}"
        if name not in TUNE_KEYS:
            fail(source, where, f"unknown key; valid: {', '.join(TUNE_KEYS)}")
        if name in SEARCHED:
            out[name] = _values(source, where, value, settings.BY_NAME[name])
        elif name == "points":
            out[name] = _int(source, where, value, 1, MAX_POINTS)
        elif name == "span":
            if not is_number(value) or not 0 < value <= MAX_SPAN:
                fail(source, where, f"expected a number of decades in (0, {MAX_SPAN:g}], got {value!r}")
            out[name] = float(value)
        elif name == "seeds":
            out[name] = _tune_seeds(source, where, value)
        elif name == "epochs":
            out[name] = _int(source, where, value, 1, MAX_EPOCHS)
        else:  # validation
            if not is_number(value) or not 0 < value <= MAX_VALIDATION:
                fail(source, where, f"expected the share of training images to hold out, a number in "
                                     f"(0, {MAX_VALIDATION:g}], got {value!r}")
            out[name] = float(value)
    if "lr" in out and ("points" in out or "span" in out):
        fail(source, f"{key}.lr", "give either lr (the values to try) or points/span (a grid around the study's lr)")
    return out


def _tune_seeds(source, key, value):
    if _is_int(value):
        return _int(source, key, value, 1, MAX_TUNE_SEEDS)
    return seeds(source, key, value, f"a count (1 to {MAX_TUNE_SEEDS}) or a non-empty list of seeds")


def merge_tune(base: dict, override: dict) -> dict:
    """A profile's `tune` on top of the study's [tune]: its keys win, and a grid given one way
    (lr, or points/span) replaces a grid given the other way."""
    merged = dict(base)
    if "lr" in override:
        merged.pop("points", None), merged.pop("span", None)
    if "points" in override or "span" in override:
        merged.pop("lr", None)
    return {**merged, **override}


# ---- resolved ---------------------------------------------------------------------------

def _round(x: float) -> float:
    return float(f"{x:.3g}")  # 3.1623e-4 -> 0.000316: a grid people can read and type


def resolve_tune(study) -> TuneSpec:
    """The search for `study` (a cnnlab.studies.loader.Study at its final size): its [tune] table
    with the defaults filled in. Raises UserError when the grid leaves the training settings'
    bounds, a tuning seed is also an evaluation seed, or weight decay is searched for a study
    whose models set their own."""
    table, source = study.tune_table, study.source
    if "lr" in table:
        lrs = tuple(table["lr"])
    else:
        base = study.train.get("lr", settings.BY_NAME["lr"].default)
        points, span = table.get("points", DEFAULT_POINTS), table.get("span", DEFAULT_SPAN)
        exponents = [0.0] if points == 1 else [span * (2 * i / (points - 1) - 1) for i in range(points)]
        lrs = tuple(sorted({_round(base * 10 ** e) for e in exponents}))
        if lrs[-1] > settings.BY_NAME["lr"].high:
            fail(source, "tune.span", f"the grid around lr {base:g} reaches {lrs[-1]:g}, above the largest "
                                       f"learning rate allowed ({settings.BY_NAME['lr'].high:g}); give a smaller span or an lr list")
    grid = {"lr": lrs}
    if "weight_decay" in table:
        own = [f"models[{i}] ({m.label})" for i, m in enumerate(study.models) if "weight_decay" in m.train]
        if own:
            fail(source, "tune.weight_decay", f"{', '.join(own)} set their own weight_decay, which is what this "
                                               "study compares; search only lr, or remove their own setting")
        grid["weight_decay"] = tuple(table["weight_decay"])
    seeds = table.get("seeds", DEFAULT_TUNE_SEEDS)
    seeds = tuple(range(TUNE_SEED_BASE, TUNE_SEED_BASE + seeds)) if _is_int(seeds) else tuple(seeds)
    for model in study.models:  # a seed_offset moves a model's evaluation seeds: onto tuning seeds, too
        shared = sorted(set(seeds) & set(model.seeds(study.seeds)))
        if shared:
            fail(source, "tune.seeds", f"seed {shared[0]} is both a tuning seed and an evaluation seed of "
                                        f"{model.label}; tuning seeds must be others (the default: 1000, 1001, ...)")
    return TuneSpec(grid=grid, seeds=seeds, epochs=table.get("epochs", study.epochs),
                    validation=table.get("validation", DEFAULT_VALIDATION))
