"""Study files: TOML in, a validated `Study` out, or a one-line error naming file, key and reason.

A study file looks like this (every key is listed in STUDY_KEYS below):

    name = "mnist-fc-vs-cnn"
    title = "Fully connected net vs. CNNs on MNIST"
    dataset = "mnist"
    epochs = 10
    seeds = 3                      # 3 -> seeds 0, 1, 2; or an explicit list [0, 7, 42]
    analyses = ["inference", "confusion"]

    [train]                        # TrainConfig fields, shared by every model
    optimizer = "adam"
    lr = 1e-3

    [[models]]
    name = "fc"                    # a registered model (`cnnlab models`)
    label = "FC"                   # optional, unique within the study; defaults to name
    kwargs = { hidden = [512, 256] }   # optional, passed to the model factory

Every model in a study is trained with the same [train] settings. The one exception is
a model's own [models.train] table, which may set only regularisation keys
(REGULARISATION_KEYS): a study whose question is "what does regularisation buy?" has to
vary exactly those, and the report shows which model got which.

Everything is checked here, before any data is loaded or anything is written.
"""

import dataclasses
import inspect
import re
import tomllib
import typing
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path

from cnnlab.choices import ANALYSES
from cnnlab.errors import UserError
from cnnlab.train.config import TrainConfig

# top-level key -> (python types accepted, what to say when the type is wrong)
STUDY_KEYS = {
    "name": (str, "a string"),
    "title": (str, "a string"),
    "description": (str, "a string"),
    "reference": (str, "a string (the PRODUCT.md study it reproduces, e.g. \"1.1\")"),
    "dataset": (str, "a string"),
    "epochs": (int, "a positive integer"),
    "seeds": ((int, list), "a positive integer (count) or a list of integers"),
    "subset": (int, "a positive integer"),
    "analyses": (list, "a list of strings"),
    "train": (dict, "a table"),
    "models": (list, "an array of tables ([[models]])"),
}
REQUIRED = ("name", "dataset", "epochs", "models")
MODEL_KEYS = ("name", "label", "kwargs", "train")
# Set per run by the study itself, not in [train].
RUN_LEVEL = {"epochs": "top-level 'epochs'", "seed": "top-level 'seeds'"}
# The only training settings one model may change for itself (see the module docstring).
REGULARISATION_KEYS = ("weight_decay", "augment", "crop_padding", "flip", "label_smoothing")
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


@dataclass(frozen=True)
class ModelSpec:
    name: str
    label: str
    kwargs: dict = field(default_factory=dict)
    train: dict = field(default_factory=dict)  # this model's regularisation overrides

    def to_dict(self) -> dict:
        return {"name": self.name, "label": self.label, "kwargs": dict(self.kwargs), "train": dict(self.train)}


@dataclass(frozen=True)
class Study:
    name: str
    title: str
    description: str
    reference: str
    dataset: str
    epochs: int
    seeds: tuple[int, ...]
    subset: int | None
    analyses: tuple[str, ...]
    train: dict  # the [train] table as given (validated); defaults are filled in per run
    models: tuple[ModelSpec, ...]
    source: str  # the file it came from

    @property
    def run_count(self) -> int:
        return len(self.models) * len(self.seeds)

    def with_overrides(self, epochs=None, seeds=None, dataset=None, subset=None, precision=None,
                       cuda_graphs=None) -> "Study":
        """The command line's --epochs/--seeds/--dataset/--subset/--precision/--no-graphs win
        over the file."""
        changes = {}
        if epochs is not None:
            changes["epochs"] = _positive_int(self.source, "--epochs", epochs)
        if seeds is not None:
            changes["seeds"] = _seeds(self.source, "--seeds", seeds)
        if dataset is not None:
            changes["dataset"] = _dataset(self.source, "--dataset", dataset)
        if subset is not None:
            changes["subset"] = _positive_int(self.source, "--subset", subset)
        train = dict(self.train)
        if precision is not None:
            train["precision"] = precision
        if cuda_graphs is not None:
            train["cuda_graphs"] = cuda_graphs
        if train != self.train:
            _train_table(self.source, "train", train)
            changes["train"] = train
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        return {"name": self.name, "title": self.title, "description": self.description,
                "reference": self.reference, "dataset": self.dataset, "epochs": self.epochs,
                "seeds": list(self.seeds), "subset": self.subset, "analyses": list(self.analyses),
                "train": dict(self.train), "models": [m.to_dict() for m in self.models], "source": self.source}


# ---- finding study files ------------------------------------------------------------

def builtin_dir():
    return files("cnnlab.studies")


def builtin_names() -> list[str]:
    return sorted(p.name[:-5] for p in builtin_dir().iterdir() if p.name.endswith(".toml"))


def resolve_study_path(name_or_path) -> Path:
    """A built-in study's name, or the path of a user's .toml file."""
    text = str(name_or_path)
    path = Path(text)
    if path.suffix == ".toml" or "/" in text or path.is_file():
        if not path.is_file():
            raise UserError(f"study file {text} not found")
        return path
    if text in builtin_names():
        return Path(str(builtin_dir() / f"{text}.toml"))
    raise UserError(f"unknown study {text!r}; built-in studies: {', '.join(builtin_names())} "
                    "(or give the path of a .toml study file)")


def load_study(name_or_path) -> Study:
    path = resolve_study_path(name_or_path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise UserError(f"{path}: not a UTF-8 text file") from None
    except tomllib.TOMLDecodeError as e:
        raise UserError(f"{path}: invalid TOML: {e}") from None
    return parse_study(raw, str(path))


def load_builtin_studies() -> list[Study]:
    return [load_study(name) for name in builtin_names()]


# ---- validation -----------------------------------------------------------------------

def _fail(source: str, key: str, reason: str):
    raise UserError(f"{source}: key '{key}': {reason}")


def _type_name(value) -> str:
    return {bool: "a boolean", int: "an integer", float: "a number", str: "a string",
            list: "an array", dict: "a table"}.get(type(value), type(value).__name__)


def _check_type(source, key, value, types, expected):
    types = types if isinstance(types, tuple) else (types,)
    ok = isinstance(value, types) and not (isinstance(value, bool) and bool not in types)
    if not ok:
        _fail(source, key, f"expected {expected}, got {_type_name(value)} {value!r}")


def _positive_int(source, key, value) -> int:
    _check_type(source, key, value, int, "a positive integer")
    if value <= 0:
        _fail(source, key, f"must be a positive integer, got {value}")
    return value


def _seeds(source, key, value) -> tuple[int, ...]:
    if isinstance(value, int) and not isinstance(value, bool):
        return tuple(range(_positive_int(source, key, value)))
    _check_type(source, key, value, list, STUDY_KEYS["seeds"][1])
    if not value:
        _fail(source, key, "the list of seeds is empty")
    for i, seed in enumerate(value):
        _check_type(source, f"{key}[{i}]", seed, int, "a non-negative integer")
        if seed < 0:
            _fail(source, f"{key}[{i}]", f"seeds must be >= 0, got {seed}")
    if len(set(value)) != len(value):
        _fail(source, key, f"repeated seed in {value}")
    return tuple(value)


def _dataset(source, key, value) -> str:
    from cnnlab.data import DATASETS

    _check_type(source, key, value, str, "a string")
    if value.startswith("imagefolder:") and len(value) > len("imagefolder:"):
        return value
    if value not in DATASETS or value == "imagefolder:PATH":
        _fail(source, key, f"unknown dataset {value!r}; valid datasets: {', '.join(DATASETS)}")
    return value


_TRAIN_TYPES = typing.get_type_hints(TrainConfig)  # field name -> int, float, bool or str
_TYPE_WORDS = {bool: "true or false", int: "an integer", float: "a number", str: "a string"}


def _train_value(source, key, name, value):
    """Type-check one TrainConfig field, then validate it alone so the error names its key."""
    kind = _TRAIN_TYPES[name]
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if kind in _TYPE_WORDS:
        _check_type(source, key, value, kind, _TYPE_WORDS[kind])
    try:
        TrainConfig(**{name: value}).validate()
    except UserError as e:
        _fail(source, key, str(e))
    return value


def _train_table(source, key, table, allowed=None) -> dict:
    _check_type(source, key, table, dict, "a table")
    valid = allowed or [n for n in _TRAIN_TYPES if n not in RUN_LEVEL]
    out = {}
    for name, value in table.items():
        if name in RUN_LEVEL and allowed is None:
            _fail(source, f"{key}.{name}", f"set this with {RUN_LEVEL[name]}, not in [train]")
        if name not in valid:
            if allowed is not None and name in _TRAIN_TYPES:
                _fail(source, f"{key}.{name}", "every model in a study shares the training settings; "
                      f"a model may override only regularisation keys: {', '.join(allowed)}")
            _fail(source, f"{key}.{name}", f"unknown training option; valid: {', '.join(valid)}")
        out[name] = _train_value(source, f"{key}.{name}", name, value)
    return out


def _model_kwargs(source, key, name, kwargs):
    """Check kwargs against the factory's signature, so a typo fails before any training."""
    from cnnlab.models import model_entry

    _check_type(source, key, kwargs, dict, "a table")
    signature = inspect.signature(model_entry(name).factory)
    params = list(signature.parameters.values())[2:]  # after (in_shape, num_classes)
    if any(p.kind is p.VAR_KEYWORD for p in params):
        return dict(kwargs)
    valid = [p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    for arg in kwargs:
        if arg not in valid:
            _fail(source, f"{key}.{arg}", f"model {name!r} takes no argument {arg!r}; "
                  f"valid: {', '.join(valid) or '(none)'}")
    return dict(kwargs)


def _models(source, value) -> tuple[ModelSpec, ...]:
    from cnnlab.models import list_models

    _check_type(source, "models", value, list, STUDY_KEYS["models"][1])
    if not value:
        _fail(source, "models", "the list of models is empty; add at least one [[models]] table")
    specs, labels = [], set()
    for i, entry in enumerate(value):
        key = f"models[{i}]"
        _check_type(source, key, entry, dict, "a table with at least a 'name'")
        for k in entry:
            if k not in MODEL_KEYS:
                _fail(source, f"{key}.{k}", f"unknown key; valid: {', '.join(MODEL_KEYS)}")
        if "name" not in entry:
            _fail(source, f"{key}.name", "missing; every model needs a registered model name")
        name = entry["name"]
        _check_type(source, f"{key}.name", name, str, "a string")
        if name not in list_models():
            _fail(source, f"{key}.name", f"unknown model {name!r}; valid models: {', '.join(list_models())}")
        label = entry.get("label", name)
        _check_type(source, f"{key}.label", label, str, "a string")
        if not label.strip():
            _fail(source, f"{key}.label", "must not be empty")
        if label in labels:
            _fail(source, f"{key}.label", f"label {label!r} is used twice; labels must be unique in a study")
        labels.add(label)
        kwargs = _model_kwargs(source, f"{key}.kwargs", name, entry.get("kwargs", {}))
        train = _train_table(source, f"{key}.train", entry.get("train", {}), allowed=REGULARISATION_KEYS)
        specs.append(ModelSpec(name=name, label=label, kwargs=kwargs, train=train))
    return tuple(specs)


def parse_study(raw: dict, source: str) -> Study:
    """Validate the parsed TOML of a study file; `source` names the file in errors."""
    for key in raw:
        if key not in STUDY_KEYS:
            _fail(source, key, f"unknown key; valid: {', '.join(STUDY_KEYS)}")
    for key in REQUIRED:
        if key not in raw:
            _fail(source, key, "missing (required: " + ", ".join(REQUIRED) + ")")
    for key, value in raw.items():
        _check_type(source, key, value, *STUDY_KEYS[key])

    name = raw["name"]
    if not NAME_PATTERN.match(name):
        _fail(source, "name", f"{name!r} must be letters, digits, '.', '_' or '-' (it names a directory)")
    analyses = raw.get("analyses", [])
    for i, a in enumerate(analyses):
        _check_type(source, f"analyses[{i}]", a, str, "a string")
        if a not in ANALYSES:
            _fail(source, f"analyses[{i}]", f"unknown analysis {a!r}; valid: {', '.join(ANALYSES)}")
    if len(set(analyses)) != len(analyses):
        _fail(source, "analyses", f"an analysis is listed twice in {analyses}")
    subset = raw.get("subset")
    return Study(
        name=name,
        title=raw.get("title", name),
        description=raw.get("description", "").strip(),
        reference=raw.get("reference", ""),
        dataset=_dataset(source, "dataset", raw["dataset"]),
        epochs=_positive_int(source, "epochs", raw["epochs"]),
        seeds=_seeds(source, "seeds", raw.get("seeds", 1)),
        subset=None if subset is None else _positive_int(source, "subset", subset),
        analyses=tuple(analyses),
        train=_train_table(source, "train", raw.get("train", {})),
        models=_models(source, raw["models"]),
        source=source,
    )


SINGLE_RUN_ANALYSES = ("overfitting", "confusion")  # cheap; a study file for more


def single_run_study(model: str, dataset: str, seed: int, epochs: int, train: dict, analyses=None,
                     subset: int | None = None) -> Study:
    """The one-model, one-seed study behind `cnnlab train` and `cnnlab.train_model`, validated
    like a study file, so its run is an ordinary run directory that `cnnlab runs` and
    `cnnlab report` read. `analyses` default: SINGLE_RUN_ANALYSES, and grad_flow when
    `train` sets grad_flow_every."""
    if analyses is None:
        analyses = SINGLE_RUN_ANALYSES + (("grad_flow",) if train.get("grad_flow_every") else ())
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", dataset).strip("_")[:80] or "data"
    raw = {"name": f"train-{model}-{slug}", "title": f"{model} on {dataset}", "dataset": dataset,
           "epochs": epochs, "seeds": [seed], "analyses": list(analyses), "train": dict(train),
           "models": [{"name": model}]}
    if subset is not None:
        raw["subset"] = subset
    return parse_study(raw, "cnnlab train")
