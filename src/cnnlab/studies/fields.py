"""Checks of single values in a study file (or the options standing for them), shared by the
loader, `[[questions]]`/`[[claims]]` (questions.py) and `[tune]` (tune_spec.py): each either returns
the value or raises one line naming the file, the key and what is valid."""

from cnnlab.errors import UserError
from cnnlab.settings import MAX_SEED, type_name
from cnnlab.stats.constants import MAX_SEEDS
from cnnlab.studies.option_names import Given



def fail(source: "str | Given", key: str, reason: str):
    """`source`: the study file's name, or `Given` for settings a caller gave (named as they wrote them)."""
    if isinstance(source, Given):
        raise UserError(source.message(key, reason))
    raise UserError(f"{source}: key '{key}': {reason}")


def check_type(source, key, value, types, expected):
    types = types if isinstance(types, tuple) else (types,)
    ok = isinstance(value, types) and not (isinstance(value, bool) and bool not in types)
    if not ok:
        fail(source, key, f"expected {expected}, got {type_name(value)} {value!r}")


def choice(source, key, value, valid) -> str:
    """One of the names in `valid`."""
    check_type(source, key, value, str, f"one of {', '.join(valid)}")
    if value not in valid:
        fail(source, key, f"unknown value {value!r}; valid: {', '.join(valid)}")
    return value


def bounded_int(source, key, value, lo: int, hi: int) -> int:
    expected = f"a positive integer up to {hi:,}" if lo == 1 else f"an integer in [{lo}, {hi:,}]"
    check_type(source, key, value, int, expected)
    if not lo <= value <= hi:
        fail(source, key, f"must be {expected}, got {value}")
    return value


def seeds(source, key, value, expected: str = "a positive integer (count) or a list of integers") -> tuple[int, ...]:
    """A count (seeds 0..N-1) or a list of distinct seeds."""
    if isinstance(value, int) and not isinstance(value, bool):
        return tuple(range(bounded_int(source, key, value, 1, MAX_SEEDS)))
    check_type(source, key, value, list, expected)
    if not value:
        fail(source, key, "the list of seeds is empty")
    if len(value) > MAX_SEEDS:
        fail(source, key, f"{len(value):,} seeds; at most {MAX_SEEDS:,}")
    for i, seed in enumerate(value):
        bounded_int(source, f"{key}[{i}]", seed, 0, MAX_SEED)
    if len(set(value)) != len(value):
        fail(source, key, f"repeated seed in {value}")
    return tuple(value)


def text(source, key, value, max_length: int) -> str:
    """A name, label or title: not empty, not too long, and printable characters only,
    so that it cannot break a log line, a table or a file name."""
    check_type(source, key, value, str, "a string")
    if not value.strip():
        fail(source, key, "must not be empty")
    if len(value) > max_length:
        fail(source, key, f"is {len(value):,} characters long; at most {max_length:,}")
    if not value.isprintable():
        fail(source, key, f"{value!r} must be one line of printable characters")
    return value
