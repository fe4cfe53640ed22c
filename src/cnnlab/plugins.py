"""Analyses are plug-ins: one module declares everything about one analysis, and registers it.

    register_analysis(Analysis(name="...", description="...", measure=..., check=..., metrics=...,
                               section=...))

An `Analysis` says what it measures after a run has trained (`measure(run) -> JSON value`,
stored under its name in the run's analysis.json), what a stored value must look like
(`check`), which per-run numbers it gives the report and the answers (`metrics`), and the
report section, summary columns and findings it contributes. A study file lists analyses
by name; nothing else in cnnlab names them.

Every layer reads analyses from this registry (the schema checks analysis.json with
`check`, the runner measures with `measure`, the report draws `section`), so this module
sits at the bottom and holds only records and callables. The built-in analyses
(`cnnlab.analyses`) and those of installed packages (entry point group "cnnlab.plugins")
are loaded by name the first time the registry is read, and so are the modules named in
$CNNLAB_PLUGINS (worker processes inherit it); a notebook or a test registers its own by
calling `register_analysis`. A plug-in module may register datasets too.

What decides a run's numbers is part of its key: `code_digest(analysis)` hashes the source
of `measure`, `train_settings` and `recorder` (cnnlab.fingerprint), so editing how an
analysis measures retrains the runs that use it, while editing its report section does not.
"""

import importlib
import os
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any, Callable

from cnnlab.errors import first_line, say

BUILTIN_PLUGINS = ("cnnlab.analyses",)
ENTRY_POINT_GROUP = "cnnlab.plugins"
PLUGINS_ENV = "CNNLAB_PLUGINS"  # comma-separated modules that register plug-ins, imported by every process
DEFAULT_ORDER = 500  # report position of a plug-in that does not choose one: after the built-in sections


@dataclass(frozen=True)
class Metric:
    """One number per run (None when not measured), e.g. "latency_ms". The report, the
    answers and the claims refer to metrics by name."""
    name: str
    title: str  # how a sentence names it: "inference latency at batch size 1"
    read: Callable[[Any], float | None]  # RunRecord -> value
    unit: str = ""  # "fraction" (shown as %), "seconds", "bytes", "ms", "count" or "" (plain number)


@dataclass(frozen=True)
class Column:
    """A column an analysis adds to the report's summary table (mean over seeds)."""
    header: str
    metric: str
    show: Callable[[float], str]
    what: str  # for "<what>: not measured in this study" when no model has it


@dataclass(frozen=True)
class ExampleRun:
    """A made-up finished run, for `Analysis.example`: what an example value may depend on."""
    rng: Any  # a numpy Generator: draw every made-up number from it, so examples are reproducible
    params: int  # the model's parameter count
    final_acc: float  # its final test accuracy (a fraction)
    metrics: list  # its metrics.jsonl rows, one per epoch (cnnlab.store.schema.metrics_row)


@dataclass(frozen=True)
class Analysis:
    name: str
    description: str  # one line: `cnnlab run --help`, the README
    measure: Callable[[Any], Any]  # cnnlab.studies.analyse.RunContext -> JSON-serialisable value
    check: Callable[[Any], bool]  # a stored value has what readers rely on (analysis.json schema)
    after_divergence: bool = False  # reads only the training history: also measured for a diverged run
    train_settings: Callable[[Any, int], dict] | None = None  # (TrainConfig, total steps) -> settings it needs
    recorder: Callable[[Any], Any] | None = None  # TrainConfig -> a training callback that records while it trains
    check_files: Callable[[Any, Any], str | None] | None = None  # (value, run dir) -> why its files are damaged
    metrics: tuple[Metric, ...] = ()
    summary_columns: tuple[Column, ...] = ()
    summary_note: Callable[[Any], str | None] | None = None  # StudyResults -> a note under the summary table
    title: str | None = None  # of its report section
    section: Callable[[Any, int], Any] | None = None  # (StudyResults, dpi) -> cnnlab.document.Section titled `title`
    findings: Callable[[Any], list[str]] | None = None  # StudyResults -> sentences for the Findings section
    evidence: Callable[[list], list[str]] | None = None  # [ModelResults] -> sentences an answer can quote
    # ([ModelResults], StudyResults) -> sentences an answer can quote, where they depend on the study's settings
    study_evidence: Callable[[list, Any], list[str]] | None = None
    order: float = DEFAULT_ORDER  # where its section goes among the report's sections
    example: Callable[[ExampleRun], Any] | None = None  # a value as `measure` stores it, for report tests


_ANALYSES: dict[str, Analysis] = {}
_loaded = False


def register_analysis(analysis: Analysis) -> Analysis:
    """Add an analysis to the registry. Registering a name twice is an error: a plug-in
    shadowing another would silently change what a study measures."""
    if not isinstance(analysis, Analysis):
        raise TypeError(f"register_analysis expects an Analysis, got {type(analysis).__name__}")
    if analysis.name in _ANALYSES:
        raise ValueError(f"analysis {analysis.name!r} is registered twice")
    _ANALYSES[analysis.name] = analysis
    return analysis


def unregister_analysis(name: str):
    """Remove a registered analysis (for tests and notebooks that register their own)."""
    _ANALYSES.pop(name, None)


def load_plugins():
    """Import the built-in analyses, the installed packages' plug-ins and the modules named in
    $CNNLAB_PLUGINS, once per process. A plug-in module that fails to load (it raises, has a
    syntax error, registers a name twice) is named in one warning line and left out: only
    what needs its analyses or datasets fails, naming it (`failed_plugins_hint`)."""
    global _loaded
    if _loaded:
        return
    _loaded = True
    for module in BUILTIN_PLUGINS:
        importlib.import_module(module)
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        _load(entry.value, entry.load)
    for module in filter(None, (m.strip() for m in os.environ.get(PLUGINS_ENV, "").split(","))):
        _load(module, lambda: _import(module))
    if _FAILED and not os.environ.get(_WARNED_ENV):
        os.environ[_WARNED_ENV] = "1"  # worker processes inherit it: the user is told once
        for module, why in _FAILED.items():
            say(f"warning: plug-in module {module!r} was not loaded ({why}); "
                f"the analyses and datasets it registers are not available")


_FAILED: dict[str, str] = {}  # plug-in module -> why it did not load
_WARNED_ENV = "CNNLAB_PLUGIN_WARNING_SHOWN"


def _import(module: str):
    if not all(part.isidentifier() for part in module.split(".")):
        raise ImportError(f"{PLUGINS_ENV} names modules by their absolute dotted name (pkg.module)")
    importlib.import_module(module)


def _load(module: str, load: Callable[[], Any]):
    try:
        load()
    except Exception as e:  # noqa: BLE001 - any failure of someone else's module is reported, not raised
        _FAILED[module] = f"{type(e).__name__}: {first_line(e)}"


def failed_plugins_hint() -> str:
    """" (plug-in module 'm' was not loaded: why)" when some failed, for errors about a name
    they may have registered; "" otherwise."""
    load_plugins()
    return "".join(f" (plug-in module {m!r} was not loaded: {why})" for m, why in _FAILED.items())


def analyses() -> list[Analysis]:
    """Every registered analysis, in report order (ties: registration order)."""
    load_plugins()
    return sorted(_ANALYSES.values(), key=lambda a: a.order)


def analysis_names() -> list[str]:
    return [a.name for a in analyses()]


def get_analysis(name: str) -> Analysis:
    load_plugins()
    if name not in _ANALYSES:
        raise KeyError(f"unknown analysis {name!r}; valid: {', '.join(analysis_names())}")
    return _ANALYSES[name]


def find_analysis(name: str) -> Analysis | None:
    load_plugins()
    return _ANALYSES.get(name)
