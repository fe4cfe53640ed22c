"""How the caller wrote an option, so that an error names it the same way: `--epochs` on the
command line, `epochs=` in Python (`cnnlab.run`, `cnnlab.train_model`).

    CLI.explain("workers", "must be an integer in [1, 256], got 0")
        --workers must be an integer in [1, 256], got 0
    PYTHON.explain("workers", "must be an integer in [1, 256], got 0")
        must be an integer in [1, 256], got 0 (workers=)

Study files name their keys themselves (`s.toml: key 'train.lr': ...`, studies/loader.py);
settings a caller gives on top of a study go through `Given`, which words them like this.
"""

from dataclasses import dataclass
from pathlib import PurePath

from cnnlab.settings import TRAINING

# Options whose flag is not the option's name with dashes: the flag turns the default off.
FLAGS = {"download": "--offline", "report": "--no-report",
         **{s.name: s.cli_flag for s in TRAINING if s.cli_flag != "--" + s.name.replace("_", "-")}}


@dataclass(frozen=True)
class Names:
    python: bool = False

    def __call__(self, option: str) -> str:
        """'cpus_per_run' -> '--cpus-per-run' or 'cpus_per_run='."""
        if self.python:
            return f"{option}="
        return FLAGS.get(option, "--" + option.replace("_", "-"))

    def given(self, option: str, value) -> str:
        """An option with its value as the caller would write it: `--out runs`, `out='runs'`."""
        if self.python:
            return f"{option}={str(value)!r}" if isinstance(value, PurePath) else f"{option}={value!r}"
        return f"{self(option)} {value}"

    def explain(self, option: str, reason: str, value=None) -> str:
        """One error line about `option` (with the value given, where the reason does not say it).
        On the command line the flag leads ("--out runs: ..."); in Python the reason leads and the
        argument follows its first clause ("unknown model 'x' (model=); valid models: ...")."""
        if not self.python:
            return f"{self(option)} {reason}" if value is None else f"{self(option)} {value}: {reason}"
        head, sep, tail = reason.partition("; ")
        named = self(option) if value is None else self.given(option, value)
        return f"{head} ({named}){sep}{tail}"


CLI = Names(python=False)
PYTHON = Names(python=True)


def option_of(key: str) -> tuple[str, str]:
    """A study key as the option that sets it, and what follows: 'epochs' -> ('epochs', ''),
    'analyses[1]' -> ('analyses', '[1]'), 'train.lr' -> ('lr', '') (a training setting is an
    option of its own: --lr, lr=)."""
    if key.startswith("train."):
        key = key.removeprefix("train.")
    cut = min((i for i in (key.find("["), key.find(".")) if i >= 0), default=len(key))
    return key[:cut], key[cut:]


@dataclass(frozen=True)
class Given:
    """Settings a caller gave for a study, not its file: the study loader's checks name them
    as the caller wrote them. On the command line the message keeps the loader's form
    (`s.toml: key '--epochs': ...`, the study's source first); in Python it is the reason
    with the argument (`... (epochs=)`)."""

    source: str  # the study's file, or "cnnlab train"
    names: Names = CLI

    def message(self, key: str, reason: str) -> str:
        option, rest = option_of(key)
        if self.names.python:
            return self.names.explain(option, reason)
        return f"{self.source}: key '{self.names(option)}{rest}': {reason}"
