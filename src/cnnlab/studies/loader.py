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
    seed_offset = 0                # optional: this model's seeds are the study's plus this (an A/A
                                   # study lists one model twice, the second on disjoint seeds)

    [profiles.quick]               # optional: what `--profile quick` changes (PROFILE_KEYS)
    epochs = 3
    seeds = 3
    subset = 2000
    train = { batch_size = 32 }
    tune = { points = 3, epochs = 2 }   # and how `--tune` searches at this size

    [tune]                         # optional: what `--tune` searches (cnnlab.studies.tune_spec)
    points = 5                     # learning rates lr x 10^[-1, -0.5, 0, 0.5, 1]
    seeds = 2

A profile (cnnlab.choices.PROFILES) picks a size: "full" is the file's own settings,
"quick" applies the file's [profiles.quick] table on top of them (fewer epochs, a subset,
a smaller batch for a CPU). The profile is part of every run's key, so quick and full
results never mix.

Every model in a study is trained with the same [train] settings. The one exception is
a model's own [models.train] table, which may set only regularisation keys
(the settings of scope MODEL_TABLE in cnnlab.settings): a study whose question is "what does regularisation buy?" has to
vary exactly those, and the report shows which model got which.

With `--tune` (cnnlab.run(tune=True)) each model first searches its own settings on a
validation split (the [tune] table, or its defaults: cnnlab.studies.tune_spec) and is then
compared at them; the tuned study's results go to OUT/studies/<name>-tuned (`Study.folder`),
beside the same study at shared settings.

Everything is checked here, before any data is loaded or anything is written.
"""

import dataclasses
import functools
import inspect
import math
import re
import tomllib
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path

from cnnlab.choices import DEFAULT_MARGIN_POINTS, DEFAULT_PROFILE, DEFAULT_TEST, NO_PROFILE, PROFILES, TESTS
from cnnlab.errors import UserError
from cnnlab.plugins import analysis_names, failed_plugins_hint
from cnnlab import settings
from cnnlab.studies import fields
from cnnlab.studies.option_names import CLI, Given, Names
from cnnlab.studies.questions import check_margin, parse_claims, parse_questions
from cnnlab.studies.tune_spec import merge_tune, parse_tune, resolve_tune

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
    "test_subset": (int, "a positive integer"),
    "inference_repeats": (int, "a positive integer"),
    "analyses": (list, "a list of strings"),
    "train": (dict, "a table"),
    "models": (list, "an array of tables ([[models]])"),
    "profiles": (dict, "a table of profiles ([profiles.quick])"),
    "margin": ((int, float), "a number of accuracy points (the equivalence margin, default 1)"),
    "test": (str, "the t-test of the verdicts: \"welch\" (default) or \"paired\" (over seeds)"),
    "questions": (list, "an array of tables ([[questions]], see cnnlab.studies.questions)"),
    "claims": (list, "an array of tables ([[claims]], see cnnlab.studies.questions)"),
    "claims_source": (str, "a string (where the claims come from)"),
    "tune": (dict, "a table ([tune], see cnnlab.studies.tune_spec)"),
    "convergence": (dict, "a table: { target = 0.40 }, the test accuracy models are timed to (analyses/convergence)"),
}
REQUIRED = ("name", "dataset", "epochs", "models")
MODEL_KEYS = ("name", "label", "kwargs", "train", "seed_offset")
MAX_SEED_OFFSET = 10**6
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
# What a [profiles.NAME] table may change: the size of the study, never what it compares.
PROFILE_KEYS = ("dataset", "epochs", "seeds", "subset", "test_subset", "inference_repeats", "train", "tune")
TUNED_SUFFIX = "-tuned"  # a tuned study's directory: OUT/studies/<name>-tuned, beside <name> at shared settings
DEFAULT_INFERENCE_REPEATS = settings.BY_NAME["inference_repeats"].default
# Bounds far above real use, low enough that a typo fails here rather than as a file name
# the system refuses, a table nobody can read, or a list of seeds that fills the memory.
MAX_NAME_LENGTH = 128  # the study name is a directory name
MAX_LABEL_LENGTH = 80  # labels head table columns and plot legends
MAX_TITLE_LENGTH = 200
MAX_REFERENCE_LENGTH = 20
MAX_DESCRIPTION_LENGTH = 10_000


@dataclass(frozen=True)
class ModelSpec:
    name: str
    label: str
    kwargs: dict = field(default_factory=dict)
    train: dict = field(default_factory=dict)  # this model's regularisation overrides
    seed_offset: int = 0  # its seeds are the study's plus this: the same model twice on disjoint seeds (A/A)
    seed_count: int | None = None  # --until-decided: this model's own number of seeds (None: the study's)
    source: str | None = None  # a model of the user's own code: where it loads from (cnnlab.models.user_code)

    def to_dict(self) -> dict:
        out = {"name": self.name, "label": self.label, "kwargs": dict(self.kwargs), "train": dict(self.train)}
        if self.seed_offset:
            out["seed_offset"] = self.seed_offset
        if self.source:
            out["source"] = self.source
        return {**out, "seed_count": self.seed_count} if self.seed_count is not None else out

    def seeds(self, study_seeds) -> tuple[int, ...]:
        """The study's seeds (plus the offset); with a `seed_count`, the first that many of them,
        continued past the last one when it asks for more."""
        seeds = list(study_seeds)
        if self.seed_count is not None:
            seeds = seeds[:self.seed_count]
            seeds += range(max(study_seeds) + 1, max(study_seeds) + 1 + self.seed_count - len(seeds))
        return tuple(seed + self.seed_offset for seed in seeds)


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
    test_subset: int | None = None
    inference_repeats: int = DEFAULT_INFERENCE_REPEATS  # timed forward passes per batch size
    profiles: dict = field(default_factory=dict)  # profile name -> its validated overrides
    profile: str = DEFAULT_PROFILE  # the profile applied (with_profile); NO_PROFILE for `cnnlab train`
    margin: float = DEFAULT_MARGIN_POINTS  # equivalence margin in accuracy points, for every question that sets none
    test: str = DEFAULT_TEST  # the verdicts' t-test (cnnlab.choices.TESTS)
    questions: tuple[dict, ...] = ()  # what the study asks (cnnlab.studies.questions)
    claims: tuple[dict, ...] = ()  # numbers claimed elsewhere for its models
    claims_source: str = ""
    tune_table: dict = field(default_factory=dict)  # the [tune] table as given (validated); cnnlab.studies.tune_spec
    tuned: bool = False  # each model searches its settings first (--tune)
    plan_seeds: int | None = None  # the most seeds per model its verdicts plan for (--until-decided's max; None: its first look)
    variant: str = ""  # one of several sizes of the same study (--sizes): its folder is OUT/studies/<name>@<variant>
    convergence_target: float | None = None  # the test accuracy the convergence analysis times models to

    @property
    def run_count(self) -> int:
        """Its evaluation runs (the results); a tuned study trains `tune_run_count` more first."""
        return sum(len(model.seeds(self.seeds)) for model in self.models)

    @property
    def tune_run_count(self) -> int:
        return len(self.models) * self.search.runs_per_model if self.tuned else 0

    @functools.cached_property
    def search(self):
        """The search its [tune] table (and profile) resolve to at this size: resolved once per
        study, checked when the study is made (a grid out of bounds fails there)."""
        return resolve_tune(self)

    @property
    def folder(self) -> str:
        """Its directory under OUT/studies: a tuned study's results sit beside the shared-settings ones,
        a size of `--sizes` beside the others."""
        return (self.name + TUNED_SUFFIX if self.tuned else self.name) + (f"@{self.variant}" if self.variant else "")

    def with_profile(self, name: str) -> "Study":
        """This study at the size of profile `name`: "full" is the file's own settings,
        any other its [profiles.NAME] table applied on top of them."""
        if name not in PROFILES:
            raise UserError(f"unknown profile {name!r}; valid: {', '.join(PROFILES)}")
        if name == DEFAULT_PROFILE:  # a one-run study of `cnnlab train` keeps having no profile
            return self if self.profile == NO_PROFILE else dataclasses.replace(self, profile=name)
        if name not in self.profiles:
            defined = ", ".join([DEFAULT_PROFILE, *self.profiles])
            raise UserError(f"{self.source}: study {self.name!r} has no [profiles.{name}] table; its profiles: "
                            f"{defined} (add the table to the study file to define one)")
        changes = {k: v for k, v in self.profiles[name].items() if k not in ("train", "tune")}
        train = {**self.train, **self.profiles[name].get("train", {})}
        tune = merge_tune(self.tune_table, self.profiles[name].get("tune", {}))
        return dataclasses.replace(self, **changes, train=train, tune_table=tune, profile=name)

    def with_overrides(self, epochs=None, seeds=None, dataset=None, subset=None, test_subset=None,
                       inference_repeats=None, analyses=None, stand_in=None, tune=None, train=None,
                       names: Names = CLI) -> "Study":
        """Settings given explicitly (the command line's --epochs/--seeds/--dataset/--subset/
        --test-subset/--inference-repeats/--analyses/--tune, or the same keywords in Python) win
        over the file and its profile; an error names the option as `names` writes it. `train`:
        training settings of `cnnlab run`'s scope (cnnlab.settings.RUN_COMMAND: --precision,
        --grad-clip, ...) over the study's [train] table. `stand_in` ({dataset: dataset},
        --stand-in OLD=NEW) swaps the study's dataset only where it is OLD, so one `cnnlab run all`
        can replace a dataset that is not at hand. `tune`: True searches each model's settings
        first (cnnlab.studies.tune_spec)."""
        given = Given(self.source, names)
        changes = {}
        if tune is not None:
            fields.check_type(given, "tune", tune, bool, "true or false")
            changes["tuned"] = tune
        if analyses is not None:
            fields.check_type(given, "analyses", analyses, (list, tuple), STUDY_KEYS["analyses"][1])
            changes["analyses"] = _analyses(given, "analyses", list(analyses))
        if epochs is not None:
            changes["epochs"] = _declared(given, "epochs", "epochs", epochs)
        if seeds is not None:
            changes["seeds"] = fields.seeds(given, "seeds", seeds)
        if dataset is not None:
            changes["dataset"] = _dataset(given, "dataset", dataset)
        elif stand_in and self.dataset in stand_in:
            changes["dataset"] = _dataset(given, "stand_in", stand_in[self.dataset])
        if subset is not None:
            changes["subset"] = _declared(given, "subset", "subset", subset)
        if test_subset is not None:
            changes["test_subset"] = _declared(given, "test_subset", "test_subset", test_subset)
        if inference_repeats is not None:
            changes["inference_repeats"] = _declared(given, "inference_repeats", "inference_repeats", inference_repeats)
        if train:
            changes["train"] = {**self.train, **_train_table(given, "train", train, scope=settings.RUN_COMMAND)}
        study = dataclasses.replace(self, **changes)
        if study.tuned:
            study.search  # the grid at this size: within bounds, tuning seeds apart from these seeds
        return study

    def to_dict(self) -> dict:
        return {"name": self.name, "title": self.title, "description": self.description,
                "reference": self.reference, "profile": self.profile, "dataset": self.dataset,
                "epochs": self.epochs, "seeds": list(self.seeds), "subset": self.subset,
                "test_subset": self.test_subset, "inference_repeats": self.inference_repeats,
                "analyses": list(self.analyses), "train": dict(self.train),
                "models": [m.to_dict() for m in self.models], "profiles": dict(self.profiles),
                "source": self.source, "margin": self.margin, "test": self.test,
                "questions": [dict(q) for q in self.questions],
                "claims": [dict(c) for c in self.claims], "claims_source": self.claims_source,
                "plan_seeds": self.plan_seeds, "convergence_target": self.convergence_target}


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


def load_study(name_or_path, check_models: bool = True) -> Study:
    """A study file, validated. `check_models=False` takes its model names and arguments as
    written: for listing the built-in studies (whose models the tests check) without
    importing the networks and torch."""
    path = resolve_study_path(name_or_path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise UserError(f"{path}: not a UTF-8 text file") from None
    except tomllib.TOMLDecodeError as e:
        raise UserError(f"{path}: invalid TOML: {e}") from None
    return parse_study(raw, str(path), check_models)


def check_stand_in(stand_in: dict | None, studies: list[Study], names: Names = CLI) -> None:
    """--stand-in OLD=NEW where no study uses OLD would change nothing (a typo, or a profile
    that already uses another dataset): say so instead of running something else."""
    used = sorted({s.dataset for s in studies})
    for old, new in (stand_in or {}).items():
        if old not in used:
            raise UserError(names.explain("stand_in", f"no study of this run uses dataset {old!r}; they use: "
                                          f"{', '.join(used)}", value={old: new} if names.python else f"{old}={new}"))


def load_builtin_studies(check_models: bool = True) -> list[Study]:
    return [load_study(name, check_models) for name in builtin_names()]


# ---- validation -----------------------------------------------------------------------

def _dataset(source, key, value) -> str:
    from cnnlab.data import dataset_entry, list_datasets

    fields.check_type(source, key, value, str, "a string")
    if "\0" in value:
        fields.fail(source, key, "the dataset name contains a NUL character")
    try:
        entry = dataset_entry(value)
    except UserError as e:
        fields.fail(source, key, str(e))
    if entry.prefix and value == entry.name:  # a family's listed name, e.g. imagefolder:PATH itself
        fields.fail(source, key, f"unknown dataset {value!r}; valid datasets: {', '.join(list_datasets())}"
                   f"{failed_plugins_hint()}")
    return value


def train_option_names() -> list[str]:
    """The training settings a [train] table may set (cnnlab.settings)."""
    return settings.names_in(settings.TRAIN_TABLE)


def _declared(source, key, name, value):
    """`value` checked by the declaration of training setting `name` (cnnlab.settings)."""
    try:
        return settings.BY_NAME[name].check(value)
    except settings.SettingError as e:
        fields.fail(source, key, str(e))


def _train_table(source, key, table, scope: str = settings.TRAIN_TABLE) -> dict:
    """A table of training settings, each checked by its declaration (cnnlab.settings); `scope`:
    where the table is, which decides the settings it may hold."""
    fields.check_type(source, key, table, dict, "a table")
    valid = settings.names_in(scope)
    out = {}
    for name, value in table.items():
        setting = settings.BY_NAME.get(name) if name in settings.TRAINING_NAMES else None
        if setting is not None and setting.instead and scope == settings.TRAIN_TABLE:
            fields.fail(source, f"{key}.{name}", f"set this with {setting.instead}, not in [train]")
        if name not in valid:
            if setting is not None and scope == settings.MODEL_TABLE:
                fields.fail(source, f"{key}.{name}", "every model in a study shares the training settings; "
                            f"a model may override only regularisation keys: {', '.join(valid)}")
            fields.fail(source, f"{key}.{name}", f"unknown training option; valid: {', '.join(valid)}")
        out[name] = _declared(source, f"{key}.{name}", name, value)
    return out


def _model_kwargs(source, key, name, kwargs):
    """Check kwargs against the factory's signature, so a typo fails before any training."""
    from cnnlab.models import model_entry

    fields.check_type(source, key, kwargs, dict, "a table")
    _finite_numbers(source, key, kwargs)
    signature = inspect.signature(model_entry(name).factory)
    params = list(signature.parameters.values())[2:]  # after (in_shape, num_classes)
    if any(p.kind is p.VAR_KEYWORD for p in params):
        return dict(kwargs)
    valid = [p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    for arg in kwargs:
        if arg not in valid:
            fields.fail(source, f"{key}.{arg}", f"model {name!r} takes no argument {arg!r}; "
                  f"valid: {', '.join(valid) or '(none)'}")
    return dict(kwargs)


def _finite_numbers(source, key, value):
    """No NaN or infinity anywhere in a model's arguments: comparisons with NaN are
    always false, so range checks inside the model would let it through."""
    if isinstance(value, float) and not math.isfinite(value):
        fields.fail(source, key, f"must be a finite number, got {value}")
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for k, v in items:
        _finite_numbers(source, f"{key}.{k}" if isinstance(value, dict) else f"{key}[{k}]", v)


def _model_name(source, key, name) -> tuple[str, str | None]:
    """(the model's name, where its code loads from): a registered model (built in, or by a
    plug-in module), or your own code named `file.py:Name` (relative to the study file) or
    `module:Name`, loaded and registered under that name (cnnlab.models.user_code)."""
    from cnnlab.models import list_models
    from cnnlab.models.user_code import is_reference, register_reference
    from cnnlab.plugins import load_plugins
    from cnnlab.models.registry import registered_source

    fields.check_type(source, key, name, str, "a string")
    if is_reference(name):
        origin = str(getattr(source, "source", source))
        base = Path(origin).resolve().parent if origin.endswith(".toml") else Path.cwd()  # a study file's folder
        try:
            return name, register_reference(name, name, base=base)
        except UserError as e:
            fields.fail(source, key, str(e))
        except ValueError as e:
            fields.fail(source, key, str(e))
    load_plugins()  # a plug-in module may register models too
    if name not in list_models():
        fields.fail(source, key, f"unknown model {name!r}; valid models: {', '.join(list_models())}, or your own "
                                 "as file.py:Name")
    return name, registered_source(name) or _plugin_source(name)


def _plugin_source(name: str) -> str | None:
    """A model registered by a plug-in module: the reference its code loads from, so its runs are
    keyed by that code as a study file's own models are (None for cnnlab's own)."""
    import inspect

    from cnnlab.models import model_entry

    entry = model_entry(name)
    if entry.source:
        return entry.source
    module = inspect.getmodule(entry.factory)
    if module is None or (module.__name__ or "").startswith("cnnlab."):
        return None
    return f"{module.__name__}:{entry.factory.__name__}"


def _model_specs(source, value, check_models: bool = True) -> tuple[ModelSpec, ...]:
    fields.check_type(source, "models", value, list, STUDY_KEYS["models"][1])
    if not value:
        fields.fail(source, "models", "the list of models is empty; add at least one [[models]] table")
    specs, labels = [], set()
    for i, entry in enumerate(value):
        key = f"models[{i}]"
        fields.check_type(source, key, entry, dict, "a table with at least a 'name'")
        for k in entry:
            if k not in MODEL_KEYS:
                fields.fail(source, f"{key}.{k}", f"unknown key; valid: {', '.join(MODEL_KEYS)}")
        if "name" not in entry:
            fields.fail(source, f"{key}.name", "missing; every model needs a registered model name")
        name, code = (_model_name(source, f"{key}.name", entry["name"]) if check_models
                      else (str(entry["name"]), None))
        label = fields.text(source, f"{key}.label", entry.get("label", name), MAX_LABEL_LENGTH)
        if label in labels:
            fields.fail(source, f"{key}.label", f"label {label!r} is used twice; labels must be unique in a study")
        labels.add(label)
        kwargs = (_model_kwargs(source, f"{key}.kwargs", name, entry.get("kwargs", {})) if check_models
                  else dict(entry.get("kwargs", {})))
        train = _train_table(source, f"{key}.train", entry.get("train", {}), scope=settings.MODEL_TABLE)
        offset = fields.bounded_int(source, f"{key}.seed_offset", entry.get("seed_offset", 0), 0, MAX_SEED_OFFSET)
        specs.append(ModelSpec(name=name, label=label, kwargs=kwargs, train=train, seed_offset=offset, source=code))
    return tuple(specs)


def _analyses(source, key, analyses: list) -> tuple[str, ...]:
    for i, a in enumerate(analyses):
        fields.check_type(source, f"{key}[{i}]", a, str, "a string")
        if a not in analysis_names():
            fields.fail(source, f"{key}[{i}]", f"unknown analysis {a!r}; valid: {', '.join(analysis_names())}"
                       f"{failed_plugins_hint()}")
    if len(set(analyses)) != len(analyses):
        fields.fail(source, key, f"an analysis is listed twice in {analyses}")
    return tuple(analyses)


def _profiles(source, value) -> dict:
    """The [profiles.NAME] tables: each may change only PROFILE_KEYS, validated like the
    top-level keys of the same name; a profile keeps at least two seeds (statistics)."""
    out = {}
    for name, table in value.items():
        key = f"profiles.{name}"
        if name == DEFAULT_PROFILE:
            fields.fail(source, key, f"'{DEFAULT_PROFILE}' is the study's own settings; set them at the top level")
        if name not in PROFILES:
            valid = ", ".join(p for p in PROFILES if p != DEFAULT_PROFILE)
            fields.fail(source, key, f"unknown profile {name!r}; valid: {valid}")
        fields.check_type(source, key, table, dict, "a table")
        overrides = {}
        for k, v in table.items():
            if k not in PROFILE_KEYS:
                fields.fail(source, f"{key}.{k}", f"a profile may change only: {', '.join(PROFILE_KEYS)}")
            if k == "train":
                overrides[k] = _train_table(source, f"{key}.train", v)
            elif k == "seeds":
                overrides[k] = fields.seeds(source, f"{key}.seeds", v)
                if len(overrides[k]) < 2:
                    fields.fail(source, f"{key}.seeds", "a profile needs at least 2 seeds: one seed has no spread to test")
            elif k == "dataset":
                overrides[k] = _dataset(source, f"{key}.dataset", v)
            elif k == "tune":
                overrides[k] = parse_tune(source, f"{key}.tune", v)
            else:  # epochs, subset, test_subset, inference_repeats
                overrides[k] = _declared(source, f"{key}.{k}", k, v)
        out[name] = overrides
    return out


def parse_study(raw: dict, source: str, check_models: bool = True) -> Study:
    """Validate the parsed TOML of a study file; `source` names the file in errors."""
    for key in raw:
        if key not in STUDY_KEYS:
            fields.fail(source, key, f"unknown key; valid: {', '.join(STUDY_KEYS)}")
    for key in REQUIRED:
        if key not in raw:
            fields.fail(source, key, "missing (required: " + ", ".join(REQUIRED) + ")")
    for key, value in raw.items():
        fields.check_type(source, key, value, *STUDY_KEYS[key])

    name = fields.text(source, "name", raw["name"], MAX_NAME_LENGTH)
    if not NAME_PATTERN.match(name):
        fields.fail(source, "name", f"{name!r} must be letters, digits, '.', '_' or '-' (it names a directory)")
    if name.endswith(TUNED_SUFFIX):
        fields.fail(source, "name", f"{name!r} ends in {TUNED_SUFFIX!r}, which is reserved for the folder of a "
                                    f"study's tuned results (cnnlab run --tune); choose another name")
    analyses = _analyses(source, "analyses", raw.get("analyses", []))
    subset, test_subset = raw.get("subset"), raw.get("test_subset")
    description, reference = raw.get("description", ""), raw.get("reference", "")
    if len(description) > MAX_DESCRIPTION_LENGTH:
        fields.fail(source, "description", f"is {len(description):,} characters long; at most {MAX_DESCRIPTION_LENGTH:,}")
    models = _model_specs(source, raw["models"], check_models)
    questions, claims = _questions_and_claims(source, raw, models)
    study = Study(
        name=name,
        title=fields.text(source, "title", raw.get("title", name), MAX_TITLE_LENGTH),
        description=description.strip(),
        reference=reference and fields.text(source, "reference", reference, MAX_REFERENCE_LENGTH),
        dataset=_dataset(source, "dataset", raw["dataset"]),
        epochs=_declared(source, "epochs", "epochs", raw["epochs"]),
        seeds=fields.seeds(source, "seeds", raw.get("seeds", 1)),
        subset=None if subset is None else _declared(source, "subset", "subset", subset),
        analyses=analyses,
        train=_train_table(source, "train", raw.get("train", {})),
        models=models,
        source=source,
        test_subset=None if test_subset is None else _declared(source, "test_subset", "test_subset", test_subset),
        inference_repeats=_declared(source, "inference_repeats", "inference_repeats",
                                    raw.get("inference_repeats", DEFAULT_INFERENCE_REPEATS)),
        profiles=_profiles(source, raw.get("profiles", {})),
        margin=check_margin(source, "margin", raw.get("margin", DEFAULT_MARGIN_POINTS)),
        test=fields.choice(source, "test", raw.get("test", DEFAULT_TEST), TESTS),
        questions=questions,
        claims=claims,
        claims_source=raw.get("claims_source") and fields.text(source, "claims_source", raw["claims_source"],
                                                         MAX_TITLE_LENGTH) or "",
        tune_table=parse_tune(source, "tune", raw.get("tune", {})),
        convergence_target=_convergence_target(source, raw.get("convergence")),
    )
    if "tune" in raw:
        study.search  # a grid that leaves the bounds fails now, not when --tune is given
    return study


def _convergence_target(source, table) -> float | None:
    """`convergence = { target = 0.40 }`: a test accuracy (a fraction) in (0, 1)."""
    if table is None:
        return None
    for key in table:
        if key != "target":
            fields.fail(source, f"convergence.{key}", "unknown key; valid: target")
    target = table.get("target")
    if isinstance(target, bool) or not isinstance(target, (int, float)) or not 0 < target < 1:
        fields.fail(source, "convergence.target", f"must be a test accuracy as a fraction in (0, 1), got {target!r}")
    return float(target)


def _questions_and_claims(source, raw, models):
    from cnnlab.results import metrics

    known = metrics()
    questions = parse_questions(source, raw.get("questions"), models, list(known), analysis_names())
    claims = parse_claims(source, raw.get("claims"), models, {name: m.unit for name, m in known.items()},
                          lambda src, key, name: _dataset(src, key, name))
    return questions, tuple(_with_full_size(c) for c in claims)


def _with_full_size(claim: dict) -> dict:
    """A claim with the full train/test sizes of its dataset, so a report can say when ours
    is a subset of what they used."""
    from cnnlab.data import dataset_entry

    entry = dataset_entry(claim["dataset"])
    return {**claim, "train_size": entry.train_size, "test_size": entry.test_size}


SINGLE_RUN_ANALYSES = ("overfitting", "confusion")  # cheap; a study file for more
SINGLE_RUN_SOURCE = "cnnlab train"  # what the command line's errors about a one-run study start with


def single_run_study(model: str, dataset: str = "mnist-small", seed: int = 0, train: dict | None = None,
                     names: Names = CLI) -> Study:
    """The one-model, one-seed study behind `cnnlab train` and `cnnlab.train_model`, validated
    like a study file (errors name the caller's options), so its run is an ordinary run
    directory that `cnnlab runs` and `cnnlab report` read. `train`: TrainConfig fields.
    Epochs are TrainConfig's default and the analyses SINGLE_RUN_ANALYSES (and grad_flow
    when `train` sets grad_flow_every) until the caller sizes it like any study
    (cnnlab.studies.options.sized_study)."""
    given = Given(SINGLE_RUN_SOURCE, names)
    _model_name(given, "model", model)  # before the study name, which is made from it
    dataset = _dataset(given, "dataset", dataset)
    seed = _declared(given, "seed", "seed", seed)
    train = _train_table(given, "train", {} if train is None else train)
    analyses = SINGLE_RUN_ANALYSES + (("grad_flow",) if train.get("grad_flow_every") else ())
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", dataset).strip("_")[:80] or "data"
    model_slug = re.sub(r"[^A-Za-z0-9._-]+", "_", model).strip("_.")[-60:] or "model"  # nets.py:TinyNet -> nets.py_TinyNet
    title = f"{model} on {dataset}"
    if len(title) > MAX_TITLE_LENGTH or not title.isprintable():  # an odd image-folder path
        title = f"{model} on {slug}"
    raw = {"name": f"train-{model_slug}-{slug}", "title": title, "dataset": dataset,
           "epochs": settings.BY_NAME["epochs"].default, "seeds": [seed], "analyses": list(analyses), "train": train,
           "models": [{"name": model}]}
    # No profile: its size is what the call says, not a study file's "full" or "quick" (shown as "-").
    return dataclasses.replace(parse_study(raw, SINGLE_RUN_SOURCE), profile=NO_PROFILE)
