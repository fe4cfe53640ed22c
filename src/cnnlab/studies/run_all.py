"""`cnnlab run all`: the six built-in studies one after another into one output directory,
then the suite report that answers the course questions (cnnlab.report.suite).

    OUT/suite.json         profile, settings, the studies, hardware, and every invocation's
                           wall-clock and runs trained vs reused
    OUT/report.md|html     the suite report (plots in OUT/plots/)
    OUT/studies/<name>/    each study, exactly as `cnnlab run NAME` writes it

Every study's settings, dataset and models are checked before the first run, so a mistake
costs no training. Finished runs are reused, so a second `cnnlab run all` with the same
settings trains nothing; a study report whose results did not change is then left as it
is (its stamp file says what it was rendered from) and only the suite report is rewritten.
"""

import sys
import time
from pathlib import Path

from cnnlab import __version__
from cnnlab.errors import UserError
from cnnlab.io import atomic_write_json, atomic_write_text
from cnnlab.store.schema import (HARDWARE_KEYS, REPORT_STAMP, SUITE_FILE, Invocation, Manifest, SuiteRecord,
                                 SuiteStudy, read_suite, stable_hash)
from cnnlab.studies.execute import load_run_data
from cnnlab.studies.loader import Study, check_stand_in, load_builtin_studies
from cnnlab.studies.runner import check_models, run_study, study_dir

ALL = "all"  # the study name that means every built-in study


def builtin_suite(profile: str, overrides: dict) -> list[Study]:
    """The built-in studies in the course's order (1.1 ... 3.2), sized by `profile`, then
    by the command line's explicit `overrides` (cnnlab.studies.loader.Study.with_overrides)."""
    studies = [s.with_profile(profile) for s in sorted(load_builtin_studies(), key=lambda s: (s.reference, s.name))]
    check_stand_in(overrides.get("stand_in"), studies)
    return [s.with_overrides(**overrides) for s in studies]


def check_suite(studies: list[Study], data_dir=None, download: bool = True):
    """Load each distinct dataset once and build every model for it, before any run."""
    loaded = {}
    for study in studies:
        key = (study.dataset, study.subset, study.test_subset)
        if key not in loaded:
            try:
                loaded[key] = load_run_data(study.dataset, study.subset, study.test_subset, data_dir, download)
            except UserError as e:
                raise UserError(f"{e}; or train study {study.name} on another dataset: "
                                f"--stand-in {study.dataset}=NEW") from None
        check_models(study, loaded[key])


def _when(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(t))


def _previous_invocations(out_dir: Path, settings: dict) -> list[Invocation]:
    """The invocations recorded in OUT/suite.json when they had these settings (so their
    wall-clock made these results), else none."""
    try:
        old = read_suite(out_dir / SUITE_FILE)
    except UserError:
        return []
    return old.invocations if old.settings == settings else []


def _report_stamp(info: dict) -> str:
    """What a study report shows: the study (without the manifest of the latest
    invocation), its runs and their statuses, and the cnnlab version that renders it."""
    return stable_hash({"study": {k: v for k, v in info.items() if k not in ("manifest", "report")},
                        "version": __version__})


def _render_study_report(directory: Path, info: dict) -> bool:
    """Render the study's report unless it exists and was rendered from these results."""
    from cnnlab.report import render_report

    stamp = _report_stamp(info)
    stamp_file = directory / REPORT_STAMP
    current = (directory / "report.md").is_file() and (directory / "report.html").is_file() and (
        stamp_file.is_file() and stamp_file.read_text(encoding="utf-8").strip() == stamp)
    if current:
        return False
    render_report(directory)
    atomic_write_text(stamp_file, stamp + "\n")
    return True


def run_suite(studies: list[Study], out_dir, profile: str, settings: dict, report: bool = True,
              on_checked=None, **run_options) -> dict:
    """Run every study into `out_dir` (run_options go to `run_study`: device, data_dir,
    executor, workers, on_start, on_run, ...), then write the suite report. `settings`
    describe this suite (profile, overrides, runtime) for OUT/suite.json: invocations with
    other settings are not counted in its wall-clock. `on_checked()` is called once every
    study passed its checks. Returns suite.json's content."""
    started = time.time()
    check_suite(studies, run_options.get("data_dir"), run_options.get("download", True))
    if on_checked:
        on_checked()
    out_dir = Path(out_dir)
    command = " ".join(["cnnlab", *sys.argv[1:]]) if sys.argv and "cnnlab" in sys.argv[0] else None
    invocation = Invocation(started=_when(started), command=command)
    suite = SuiteRecord(profile=profile, settings=settings,
                        studies=[SuiteStudy(name=s.name, reference=s.reference, title=s.title) for s in studies],
                        invocations=[*_previous_invocations(out_dir, settings), invocation])
    for study in studies:
        info = run_study(study, out_dir, report=False, **run_options)
        statuses = [r["status"] for r in info["runs"]]
        invocation.runs_trained += info["manifest"]["runs_trained"]
        invocation.runs_cached += info["manifest"]["runs_cached"]
        invocation.runs_failed += statuses.count("failed")
        suite.hardware = Manifest(**{k: info["manifest"].get(k) for k in HARDWARE_KEYS})
        if report:
            _render_study_report(study_dir(out_dir, study.name), info)
        invocation.wall_clock_seconds = time.time() - started
        atomic_write_json(out_dir / SUITE_FILE, suite.to_json())  # after every study: an interrupted suite still counts
    invocation.finished = _when(time.time())
    invocation.wall_clock_seconds = time.time() - started
    result = suite.to_json()
    atomic_write_json(out_dir / SUITE_FILE, result)
    if report:
        from cnnlab.report.suite import render_suite_report

        result["report"] = [str(p) for p in render_suite_report(out_dir)]
    return result
