"""OUT/studies/<name>/study.json: the study as it was run, its runs and its manifest (StudyRecord)."""

from dataclasses import dataclass, field, fields
from pathlib import Path

from cnnlab.choices import DEFAULT_MARGIN_POINTS, DEFAULT_TEST, QUESTION_KINDS, QUESTION_NEEDS, TESTS
from cnnlab.errors import UserError
from cnnlab.numeric import is_number
from cnnlab.store.schema.common import (SCHEMA_VERSION, STUDIES_DIR, STUDY_FILE, _checked, _field, _list_of_objects,
                                         _read_json, _which_cnnlab)
from cnnlab.store.schema.manifest import Manifest
from cnnlab.store.schema.tuning import TuningRecord


@dataclass(frozen=True)
class RunEntry:
    """One run of a study as study.json lists it; `status` is "pending" until it has run."""
    run_key: str
    model: str
    label: str
    seed: int | None
    status: str


@dataclass(frozen=True)
class StudyModel:
    name: str
    label: str
    kwargs: dict = field(default_factory=dict)
    train: dict = field(default_factory=dict)  # its own regularisation settings


@dataclass(frozen=True)
class StudyRecord:
    """OUT/studies/<name>/study.json: the study as it was run (profile and overrides applied),
    the training settings every model shares, its runs and the manifest. The runner rewrites
    it after every run, so a report can be rendered while a study is still running."""
    name: str
    title: str = ""
    description: str = ""
    reference: str = ""
    profile: str | None = None
    dataset: str | None = None
    epochs: int | None = None
    seeds: tuple[int, ...] = ()
    subset: int | None = None
    test_subset: int | None = None
    inference_repeats: int | None = None
    analyses: tuple[str, ...] = ()
    train: dict = field(default_factory=dict)  # the resolved TrainConfig shared by every model, without seed
    models: tuple[StudyModel, ...] = ()
    profiles: dict = field(default_factory=dict)
    source: str | None = None  # the study file
    margin: float = DEFAULT_MARGIN_POINTS  # equivalence margin in accuracy points
    test: str = DEFAULT_TEST  # the verdicts' t-test: welch or paired (cnnlab.choices.TESTS)
    questions: tuple[dict, ...] = ()  # cnnlab.studies.questions, model references as labels
    claims: tuple[dict, ...] = ()  # numbers claimed elsewhere, accuracies as fractions
    claims_source: str = ""
    looks: tuple[int, ...] = ()  # seeds per model at each invocation that added seeds: how often results were seen
    plan_seeds: int | None = None  # the most seeds per model its verdicts plan for, fixed at its first look (None: that look)
    convergence_target: float | None = None  # the test accuracy the convergence analysis times models to (None: its default)
    runs: tuple[RunEntry, ...] = ()  # the evaluation runs: the study's results
    tuning: TuningRecord | None = None  # how each model's settings were chosen (None: shared settings)
    # --until-decided: {"max_seeds": N, "budget_seconds": S or None, "stopped": why, "spent_seconds": S}
    until_decided: dict | None = None
    manifest: Manifest = field(default_factory=Manifest)
    extra: dict = field(default_factory=dict)  # keys of the study this record does not type, as written

    def to_json(self) -> dict:
        out = {"schema": SCHEMA_VERSION, **self.extra}
        for f in fields(self):
            if f.name == "extra":
                continue
            value = getattr(self, f.name)
            if f.name in ("seeds", "analyses", "looks"):
                value = list(value)
            elif f.name in ("questions", "claims"):
                value = [dict(x) for x in value]
            elif f.name == "models":
                value = [{"name": m.name, "label": m.label, "kwargs": dict(m.kwargs), "train": dict(m.train)}
                         for m in value]
            elif f.name == "runs":
                value = [{"run_key": r.run_key, "model": r.model, "label": r.label, "seed": r.seed,
                          "status": r.status} for r in value]
            elif f.name in ("manifest", "tuning"):
                value = value.to_json() if value is not None else None
            out[f.name] = value
        return out

    @classmethod
    def from_study(cls, study: dict, train: dict, runs, manifest: Manifest, looks=(),
                   tuning: TuningRecord | None = None, plan_seeds: int | None = None) -> "StudyRecord":
        """From `cnnlab.studies.loader.Study.to_dict()`; keys this record does not type go to `extra`."""
        typed = {f.name for f in fields(cls)}
        return cls._build(study, train=train, runs=tuple(runs), manifest=manifest, looks=tuple(looks), tuning=tuning,
                          plan_seeds=plan_seeds, extra={k: v for k, v in study.items() if k not in typed})

    @classmethod
    def _build(cls, d: dict, **given) -> "StudyRecord":
        models = tuple(StudyModel(name=str(m["name"]), label=str(m.get("label") or m["name"]),
                                  kwargs=m.get("kwargs") or {}, train=m.get("train") or {})
                       for m in d.get("models") or [] if isinstance(m, dict) and "name" in m)
        values = {"name": str(d.get("name") or ""), "title": str(d.get("title") or ""),
                  "description": str(d.get("description") or ""), "reference": str(d.get("reference") or ""),
                  "profile": d.get("profile"), "dataset": d.get("dataset"), "epochs": d.get("epochs"),
                  "seeds": tuple(d.get("seeds") or ()), "subset": d.get("subset"),
                  "test_subset": d.get("test_subset"), "inference_repeats": d.get("inference_repeats"),
                  "analyses": tuple(d.get("analyses") or ()), "train": dict(d.get("train") or {}),
                  "models": models, "profiles": dict(d.get("profiles") or {}), "source": d.get("source"),
                  "margin": float(d["margin"]) if is_number(d.get("margin")) and d["margin"] > 0 else DEFAULT_MARGIN_POINTS,
                  "test": d["test"] if d.get("test") in TESTS else DEFAULT_TEST,
                  "questions": tuple(q for q in d.get("questions") or () if isinstance(q, dict)),
                  "claims": tuple(c for c in d.get("claims") or () if isinstance(c, dict)),
                  "claims_source": str(d.get("claims_source") or ""),
                  "looks": tuple(d.get("looks") or ()),
                  "plan_seeds": d.get("plan_seeds"),
                  "convergence_target": (float(d["convergence_target"]) if is_number(d.get("convergence_target"))
                                         and 0 < d["convergence_target"] < 1 else None),
                  "until_decided": dict(d["until_decided"]) if isinstance(d.get("until_decided"), dict) else None}
        return cls(**{**values, **given})


def study_dirs(path) -> list[Path]:
    """A study directory (with study.json), or the study directories of an output directory
    (studies/*/study.json): what `cnnlab report`, `cnnlab compare` and `cnnlab.load` accept."""
    if not str(path).strip():
        raise UserError("DIR is empty; give the output directory of `cnnlab run` or one of its studies/<name>")
    path = Path(path)
    if (path / STUDY_FILE).is_file():
        return [path]
    found = sorted(p.parent for p in path.glob(f"{STUDIES_DIR}/*/{STUDY_FILE}"))
    if not found:
        raise UserError(f"no study.json in {path} or {path / STUDIES_DIR}/*; pass the output directory of "
                        "`cnnlab run` or one of its studies/<name> directories")
    return found


def read_study(path) -> StudyRecord:
    """Read a study.json; UserError when it is missing, corrupt, of another format, or holds
    values of the wrong type."""
    path = Path(path)
    d = _read_json(path, "a valid study file")
    reader = _STUDY_READERS.get(d.get("schema"))
    if reader is None:
        raise UserError(f"{path} was written by {_which_cnnlab(d.get('schema', 1))} (results format "
                        f"{d.get('schema', 1)!r}, this version reads {SCHEMA_VERSION}); run the study again to "
                        "re-create its results")
    return reader(path, d)


def _study_v3(path: Path, d: dict) -> StudyRecord:
    for key, kinds, what in (("name", str, "a string"), ("title", str, "a string"), ("profile", str, "a string"),
                             ("dataset", str, "a string"), ("epochs", int, "an integer"),
                             ("seeds", list, "a list"), ("analyses", list, "a list"), ("train", dict, "an object"),
                             ("profiles", dict, "an object"), ("reference", str, "a string"),
                             ("questions", list, "a list"), ("claims", list, "a list"), ("looks", list, "a list"),
                             ("test", str, "a string"), ("until_decided", dict, "an object"),
                             ("plan_seeds", int, "an integer")):
        _checked(path, d, key, kinds, what)
    _check_looks(path, d.get("looks") or [], d.get("plan_seeds"))
    for m in _list_of_objects(path, d, "models"):
        _checked(path, m, "name", str, "a string", optional=False)
    for i, question in enumerate(_list_of_objects(path, d, "questions")):
        _check_question(path, f"questions[{i}]", question)
    for i, claim in enumerate(_list_of_objects(path, d, "claims")):
        for key in ("their_model", "model", "metric", "dataset", "note"):
            _field(path, f"claims[{i}]", claim, key, str, "a string")
        _field(path, f"claims[{i}]", claim, "value", (int, float), "a number", optional=False)
    runs = []
    for r in _list_of_objects(path, d, "runs"):
        key = r.get("run_key")
        runs.append(RunEntry(run_key=str(key) if key is not None else "", model=str(r.get("model") or ""),
                             label=str(r.get("label") or r.get("model") or ""),
                             seed=r.get("seed") if isinstance(r.get("seed"), int) else None,
                             status=str(r.get("status") or "missing")))
    typed = {f.name for f in fields(StudyRecord)} | {"schema"}
    tuning = TuningRecord.from_json(path, d["tuning"]) if d.get("tuning") is not None else None
    return StudyRecord._build(d, runs=tuple(runs), manifest=Manifest.from_json(d.get("manifest")), tuning=tuning,
                              extra={k: v for k, v in d.items() if k not in typed})


def _check_looks(path, looks: list, plan_seeds):
    """The looks decide how strictly each verdict is tested: damaged ones are an error, never
    read as fewer looks than were made."""
    whole = [n for n in looks if isinstance(n, int) and not isinstance(n, bool)]
    if len(whole) != len(looks) or any(n < 1 for n in whole) or any(b <= a for a, b in zip(whole, whole[1:])):
        raise UserError(f"{path}: 'looks' is {looks!r}, not increasing whole numbers of seeds; the file is damaged: "
                        "run the study again to re-create it")
    if plan_seeds is not None and plan_seeds < 1:
        raise UserError(f"{path}: 'plan_seeds' is {plan_seeds!r}, not a positive number of seeds; the file is "
                        "damaged: run the study again to re-create it")


def _check_question(path, where: str, q: dict):
    """A question as the study loader wrote it: a known kind, the model references it needs, and
    every field of the type the report reads (cnnlab.studies.questions)."""
    kind = _field(path, where, q, "kind", str, "a string", optional=False)
    if kind not in QUESTION_KINDS:
        raise UserError(f"{path}: '{where}.kind' is {kind[:40]!r}, not one of {', '.join(QUESTION_KINDS)}; the file is "
                        "damaged: run the study again to re-create it")
    for key in ("title", "asks", "what", "same_cost", "a", "b"):
        _field(path, where, q, key, str, "a string", optional=key not in QUESTION_NEEDS[kind])
    for key in ("models", "costs", "evidence", "pairs", "figures"):
        items = _field(path, where, q, key, list, "a list", optional=key not in QUESTION_NEEDS[kind]) or []
        for j, item in enumerate(items):
            if key == "pairs":
                ok = isinstance(item, list) and len(item) == 2 and all(isinstance(x, str) for x in item)
            elif key == "figures":
                ok = isinstance(item, dict) and isinstance(item.get("file"), str)
            else:
                ok = isinstance(item, str)
            if not ok:
                raise UserError(f"{path}: '{where}.{key}[{j}]' is malformed; the file is damaged: run the study "
                                "again to re-create it")
    _field(path, where, q, "margin", (int, float), "a number")


_STUDY_READERS = {3: _study_v3}
