"""Everything that decides how a model is trained, in one frozen dataclass with a field per
training setting declared in cnnlab.settings (type, default and bounds come from there).

A TrainConfig is valid once made: construction checks every field with the declaration's
checks, so code that holds one never checks it again.
"""

from dataclasses import asdict, field, fields, make_dataclass

from cnnlab.errors import UserError
from cnnlab.settings import TRAINING, SettingError, check_all


def _to_dict(self) -> dict:
    return asdict(self)


@classmethod
def _from_dict(cls, d: dict):
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(d) - known)
    if unknown:
        raise UserError(f"unknown training option(s) {unknown}; valid: {', '.join(sorted(known))}")
    return cls(**d)


def _post_init(self):
    # Each field checked by its declaration, which also stores an int given for a float setting as
    # a float, so equal settings hash alike.
    try:
        checked = check_all({f.name: getattr(self, f.name) for f in fields(self)})
    except SettingError as e:
        raise UserError(str(e)) from None
    for name, value in checked.items():
        object.__setattr__(self, name, value)


TrainConfig = make_dataclass(
    "TrainConfig", [(s.name, s.kind, field(default=s.default)) for s in TRAINING], frozen=True,
    namespace={"__post_init__": _post_init, "to_dict": _to_dict, "from_dict": _from_dict,
               "__doc__": "The training settings of one run (cnnlab.settings.TRAINING), checked when made."})
TrainConfig.__module__ = __name__  # pickles and reprs name this module
