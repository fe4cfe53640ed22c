"""OUT/suite.json of `cnnlab run all` (SuiteRecord)."""

from dataclasses import dataclass, field, fields
from pathlib import Path

from cnnlab.errors import UserError
from cnnlab.store.schema.common import SCHEMA_VERSION, STUDIES_DIR, _checked, _list_of_objects, _read_json, _which_cnnlab
from cnnlab.store.schema.manifest import Manifest


HARDWARE_KEYS = ("device", "device_type", "cpu_model", "threads", "executor", "precision", "torch_version",
                 "python_version", "platform", "cnnlab_version", "code", "git")  # Manifest fields the suite keeps


@dataclass
class Invocation:
    """One `cnnlab run all` with the suite's settings: its wall-clock and what it trained."""
    started: str
    finished: str | None = None
    wall_clock_seconds: float = 0.0
    runs_trained: int = 0
    runs_cached: int = 0
    runs_failed: int = 0
    command: str | None = None


@dataclass(frozen=True)
class SuiteStudy:
    name: str
    reference: str
    title: str
    folder: str = ""  # its directory under OUT/studies, when not its name (a tuned study: "<name>-tuned")

    @property
    def dir(self) -> str:
        return f"{STUDIES_DIR}/{self.folder or self.name}"


@dataclass
class SuiteRecord:
    """OUT/suite.json of `cnnlab run all`: the studies, the settings that size them (only
    invocations with the same settings count towards the wall-clock), the hardware of the
    last study run, and every invocation."""
    profile: str
    settings: dict
    studies: list[SuiteStudy]
    hardware: Manifest = field(default_factory=Manifest)  # its HARDWARE_KEYS only
    invocations: list[Invocation] = field(default_factory=list)
    title: str = ""  # of the suite report; "" for the built-in suite's own

    def to_json(self) -> dict:
        return {"schema": SCHEMA_VERSION, "title": self.title, "profile": self.profile, "settings": self.settings,
                "studies": [{"name": s.name, "reference": s.reference, "title": s.title, "dir": s.dir}
                            for s in self.studies],
                "hardware": {k: getattr(self.hardware, k) for k in HARDWARE_KEYS},
                "invocations": [{f.name: getattr(i, f.name) for f in fields(Invocation)} for i in self.invocations]}


def read_suite(path) -> SuiteRecord:
    """Read OUT/suite.json; UserError when it is missing, corrupt or of another format."""
    path = Path(path)
    d = _read_json(path, "a suite file of `cnnlab run all`")
    reader = _SUITE_READERS.get(d.get("schema"))
    if reader is None:
        raise UserError(f"{path} was written by {_which_cnnlab(d.get('schema'))} (format {d.get('schema')!r}, this "
                        f"version reads {SCHEMA_VERSION}); run `cnnlab run all` again")
    return reader(path, d)


def _suite_v3(path: Path, d: dict) -> SuiteRecord:
    studies = [SuiteStudy(name=str(s.get("name", "")), reference=str(s.get("reference") or ""),
                          title=str(s.get("title") or s.get("name", "")), folder=_folder(s))
               for s in _list_of_objects(path, d, "studies")]
    invocations = []
    for i in _list_of_objects(path, d, "invocations"):
        known = {f.name: i[f.name] for f in fields(Invocation) if i.get(f.name) is not None}
        invocations.append(Invocation(**{"started": "", **known}))
    return SuiteRecord(profile=str(_checked(path, d, "profile", str, "a string") or ""),
                       settings=_checked(path, d, "settings", dict, "an object") or {}, studies=studies,
                       hardware=Manifest.from_json(d.get("hardware")), invocations=invocations,
                       title=str(_checked(path, d, "title", str, "a string") or ""))


def _folder(entry: dict) -> str:
    """The study's directory name from suite.json's "dir" ("studies/<folder>"): a plain name, never a path."""
    head, _, folder = str(entry.get("dir") or "").partition("/")
    ok = head == STUDIES_DIR and folder and folder[0].isalnum() and all(c.isalnum() or c in "._-" for c in folder)
    return folder if ok and folder != entry.get("name") else ""


_SUITE_READERS = {3: _suite_v3}
