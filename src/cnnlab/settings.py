"""Every training setting a user can give, and the numbers that size a study, declared once: type,
default, bounds or choices, help text, command-line flag and where each may be set.

Everything else is derived from TRAINING below: `TrainConfig` (cnnlab.train.config) has one
field per setting; a study file's `[train]`, `[profiles.*.train]` and `[[models]].train` tables
accept the settings of their scope (cnnlab.studies.loader); `cnnlab train` and `cnnlab run`
get one flag per setting of theirs (cnnlab.cli.parser); `cnnlab.train_model` and `cnnlab.run`
take them as keywords (cnnlab.api); `--tune`'s grid keeps within their bounds
(cnnlab.studies.tune_spec); `cnnlab settings` and the README's table list them. To add a setting,
add a `Setting` here and the code that uses it; nothing between the two passes it by name.

Torch-free, so the command line and study-file checks never import torch.
"""

import math
from dataclasses import dataclass

from cnnlab.choices import OPTIMIZERS, PRECISIONS, SCHEDULES

# Where a setting may be given (Setting.scopes).
TRAIN_TABLE = "[train]"  # a study file's [train] and [profiles.NAME.train] tables: every model of the study
MODEL_TABLE = "[[models]].train"  # one model's own table: regularisation only (the rest is shared)
STUDY_TOP = "study file"  # a study file's top level and its [profiles.NAME] tables (SIZE settings)
TRAIN_COMMAND = "cnnlab train"  # its flags, and cnnlab.train_model's keywords
RUN_COMMAND = "cnnlab run"  # its flags, and cnnlab.run's keywords: over every model of every study run
SCOPES = (TRAIN_TABLE, MODEL_TABLE, STUDY_TOP, TRAIN_COMMAND, RUN_COMMAND)

TYPES = (int, float, bool, str)
_EXPECTED = {int: "an integer", float: "a number", bool: "true or false", str: "a string"}


class SettingError(ValueError):
    """A value a setting does not take; str(error) is the reason, without the setting's name
    (the caller says where it was given: a study file's key, a flag, a keyword)."""


@dataclass(frozen=True)
class Setting:
    name: str
    kind: type  # one of TYPES
    default: object
    help: str
    scopes: tuple[str, ...]
    low: float | None = None  # numbers: the bounds, each included unless open_low/open_high
    high: float | None = None
    open_low: bool = False
    open_high: bool = False
    choices: tuple[str, ...] = ()  # strings: the valid names
    flag: str = ""  # the command-line flag when it is not --NAME; for a boolean, the flag that flips its default
    instead: str = ""  # set elsewhere in a study file (not in [train]): where

    @property
    def cli_flag(self) -> str:
        if self.flag:
            return self.flag
        return "--" + self.name.replace("_", "-") if self.kind is not bool or not self.default else \
            "--no-" + self.name.replace("_", "-")

    @property
    def default_text(self) -> str:
        if self.default is None:
            return "all"  # the subsets: every image
        return str(self.default).lower() if self.kind is bool else str(self.default)

    def expected(self) -> str:
        """What the setting takes, in words: 'a number in (0, 10]', 'one of adam, sgd'."""
        if self.choices:
            return f"one of {', '.join(self.choices)}"
        if self.low is None:
            return _EXPECTED[self.kind]
        if self.kind is int and self.low == 1:
            return f"a positive integer up to {_number(self.high)}"
        low, high = _number(self.low), _number(self.high)
        return (f"{_EXPECTED[self.kind]} in {'(' if self.open_low else '['}{low}, {high}"
                f"{')' if self.open_high else ']'}")

    def check(self, value):
        """`value` as this setting's type (an integer where a number is expected becomes a float),
        or SettingError with the reason."""
        given, is_bool = value, isinstance(value, bool)
        if self.kind is float and isinstance(value, int) and not is_bool:
            value = float(value)
        if not isinstance(value, self.kind) or (is_bool and self.kind is not bool):
            raise SettingError(f"expected {self.expected()}, got {type_name(value)} {value!r}")
        if self.choices and value not in self.choices:
            raise SettingError(f"unknown {self.name} {value!r}; valid: {', '.join(self.choices)}")
        if self.low is not None and not self.within(value):
            raise SettingError(f"must be {self.expected()}, got {given!r}")
        return value

    def within(self, value) -> bool:
        if self.kind is float and not math.isfinite(value):
            return False
        above = value > self.low if self.open_low else value >= self.low
        below = value < self.high if self.open_high else value <= self.high
        return above and below

    def parse(self, text: str):
        """A command-line value: the text as this setting's type, then `check`."""
        if self.kind is str:
            return self.check(text)
        try:
            value = int(text) if self.kind is int else float(text)
        except ValueError:
            raise SettingError(f"expected {self.expected()}, got {text!r}") from None
        if not self.within(value):
            raise SettingError(f"must be {self.expected()}, got {text}")
        return value


def _number(x) -> str:
    return f"{int(x):,}" if float(x).is_integer() and abs(x) >= 1000 else f"{x:g}"


def type_name(value) -> str:
    """How an error names a value's type: 'a string', 'a table' (TOML's words for dict and list)."""
    return {bool: "a boolean", int: "an integer", float: "a number", str: "a string",
            list: "an array", dict: "a table"}.get(type(value), type(value).__name__)


# Upper bounds: far above anything useful, low enough that a typo fails here rather than as an
# allocation of terabytes or an integer overflow deep inside torch.
MAX_EPOCHS = 100_000
MAX_BATCH = 1 << 20
MAX_SEED = 2**31 - 1

_EVERYWHERE = (TRAIN_TABLE, TRAIN_COMMAND)
_REGULARISATION = (TRAIN_TABLE, MODEL_TABLE, TRAIN_COMMAND)

TRAINING = (
    Setting("epochs", int, 5, "training epochs", (TRAIN_COMMAND,), 1, MAX_EPOCHS, instead="top-level 'epochs'"),
    Setting("batch_size", int, 128, "training batch size", _EVERYWHERE, 1, MAX_BATCH),
    Setting("lr", float, 1e-3, "learning rate (the peak of a schedule)", _EVERYWHERE, 0, 10, open_low=True),
    Setting("optimizer", str, "adam", "the optimizer", _EVERYWHERE, choices=OPTIMIZERS),
    Setting("momentum", float, 0.9, "SGD momentum", _EVERYWHERE, 0, 1, open_high=True),
    Setting("nesterov", bool, False, "SGD with Nesterov momentum", _EVERYWHERE),
    Setting("schedule", str, "constant", "learning-rate schedule over all steps", _EVERYWHERE, choices=SCHEDULES),
    Setting("weight_decay", float, 0.0, "weight decay of conv and linear weights (biases, norm and custom-layer "
            "scalars are never decayed)", _REGULARISATION, 0, 10),
    Setting("label_smoothing", float, 0.0, "label smoothing of the cross-entropy loss", _REGULARISATION, 0, 1,
            open_high=True),
    Setting("seed", int, 0, "the run's seed: initialisation, data order, augmentation", (TRAIN_COMMAND,), 0, MAX_SEED,
            instead="top-level 'seeds'"),
    Setting("augment", bool, False, "random crop with padding + horizontal flip", _REGULARISATION),
    Setting("crop_padding", int, 4, "padding of the augmentation's random crop", _REGULARISATION, 0, 64),
    Setting("flip", bool, True, "the augmentation's horizontal flip", _REGULARISATION),
    Setting("grad_clip", float, 0.0, "clip the global gradient norm to this before each step (0 = off)",
            (*_REGULARISATION, RUN_COMMAND), 0, 1e6),
    Setting("precision", str, "auto", "auto = bf16 autocast + channels-last where the hardware has fast bf16",
            (*_EVERYWHERE, RUN_COMMAND), choices=PRECISIONS),
    Setting("eval_batch_size", int, 1000, "batch size of evaluation", _EVERYWHERE, 1, MAX_BATCH),
    Setting("grad_flow_every", int, 0, "record per-layer gradient norms every N steps (0 = off)", _EVERYWHERE,
            0, 10**9),
    Setting("log_steps", bool, False, "keep per-step loss and gradient norm (set by the stability analysis)",
            (TRAIN_TABLE,)),
    Setting("cuda_graphs", bool, True, "on a GPU, replay each full-batch training step from one captured CUDA "
            "graph", (*_EVERYWHERE, RUN_COMMAND), flag="--no-graphs"),
)
MAX_SUBSET = 10**9

# How big a study runs, beside its training settings: none of these is a TrainConfig field.
# (`epochs` above sizes a study too: its top-level key, and every run's TrainConfig.)
_SIZES = (STUDY_TOP, TRAIN_COMMAND, RUN_COMMAND)
SIZE = (
    Setting("subset", int, None, "train on the first N training images only (quick CPU runs)", _SIZES, 1, MAX_SUBSET),
    Setting("test_subset", int, None, "evaluate on the first N test images only", _SIZES, 1, MAX_SUBSET),
    Setting("inference_repeats", int, 30, "timed forward passes per batch size for inference timing", _SIZES,
            1, 10_000),
)
BY_NAME = {s.name: s for s in (*TRAINING, *SIZE)}
TRAINING_NAMES = frozenset(s.name for s in TRAINING)


def in_scope(scope: str) -> list[Setting]:
    """The training settings that may be given in `scope` (SIZE settings are listed apart)."""
    return [s for s in TRAINING if scope in s.scopes]


def names_in(scope: str) -> list[str]:
    return [s.name for s in in_scope(scope)]


def check_all(values: dict) -> dict:
    """Every value of a complete or partial set of training settings checked; the first bad one
    raises SettingError naming it."""
    out = {}
    for name, value in values.items():
        if name not in TRAINING_NAMES:
            raise SettingError(f"unknown training option {name!r}; valid: {', '.join(s.name for s in TRAINING)}")
        try:
            out[name] = BY_NAME[name].check(value)
        except SettingError as e:
            raise SettingError(f"{name}: {e}") from None
    return out


def flags_for(values: dict) -> list[str]:
    """The command-line flags that give these settings (`cnnlab run`'s, for an equivalent command)."""
    flags = []
    for name, value in values.items():
        setting = BY_NAME[name]
        if setting.kind is bool:
            flags += [setting.cli_flag] if value != setting.default else []
        else:
            flags += [setting.cli_flag, str(value)]  # repr of a float reads back as the same float
    return flags


def table_markdown() -> str:
    """The README's table of settings (a test checks that the README has it as written here)."""
    rows = ["| setting | default | takes | flag | where | what it does |", "|---|---|---|---|---|---|"]
    for s in (*TRAINING, *SIZE):
        where = ", ".join(f"`{scope}`" for scope in s.scopes)
        if s.instead:
            where += f"; in a study file: {s.instead}"
        commands = TRAIN_COMMAND in s.scopes or RUN_COMMAND in s.scopes
        flag = f"`{s.cli_flag}`" if commands else "-"
        rows.append(f"| `{s.name}` | `{s.default_text}` | {s.expected()} | {flag} | {where} | {s.help} |")
    return "\n".join(rows)
