"""`cnnlab run all`: the six built-in studies one after another into one output directory,
then the suite report that answers the course questions (cnnlab.report.suite).

    OUT/suite.json         profile, settings, the studies, hardware, and every invocation's
                           wall-clock and runs trained vs reused
    OUT/report.md|html     the suite report (plots in OUT/plots/)
    OUT/studies/<name>/    each study, exactly as `cnnlab run NAME` writes it

Every study is planned (its settings, dataset and models checked, its runs decided) before
the first run, so a mistake costs no training. Finished runs are reused, so a second `cnnlab run all` with the same
settings trains nothing; a study report whose results did not change is then left as it
is (its stamp file says what it was rendered from) and only the suite report is rewritten.
"""

import dataclasses
import time
from pathlib import Path

from cnnlab.version import __version__
from cnnlab.errors import UserError, say
from cnnlab.io import atomic_write_json, atomic_write_text
from cnnlab.store.schema import (HARDWARE_KEYS, REPORT_STAMP, STUDY_FILE, SUITE_FILE, Invocation, Manifest,
                                 SuiteRecord, SuiteStudy, read_study, read_suite, stable_hash)
from cnnlab.studies.run_one import load_run_data
from cnnlab.studies.loader import Study, load_builtin_studies, load_study
from cnnlab.studies.option_names import CLI, Names
from cnnlab.studies.options import RunOptions, StudyOptions, sized_studies
from cnnlab.studies.policy import requested
from cnnlab.studies.runner import StudyPlan, invocation_command, plan_study, run_plan

ALL = "all"  # the study name that means every built-in study


def builtin_suite(options: StudyOptions = StudyOptions(), names: Names = CLI) -> list[Study]:
    """The built-in studies in the course's order (1.1 ... 3.2), at the size `options` ask
    for (cnnlab.studies.options.sized_studies)."""
    return sized_studies(sorted(load_builtin_studies(), key=lambda s: (s.reference, s.name)), options, names)


def study_suite(names_or_paths: list[str], options: StudyOptions = StudyOptions(), names: Names = CLI) -> list[Study]:
    """A suite of the user's own: these studies (built-in names or .toml files) in the order
    given, sized like `builtin_suite`. Two studies of one name would share their directory."""
    if ALL in names_or_paths:
        raise UserError(f"`{ALL}` runs every built-in study; give it alone, or list the studies of your suite")
    studies = [load_study(x) for x in names_or_paths]
    seen = {}
    for study in studies:
        if study.name in seen:
            raise UserError(f"{study.source} and {seen[study.name]} are both named {study.name!r}: the studies of "
                            "one suite need distinct names (each writes OUT/studies/<name>)")
        seen[study.name] = study.source
    return sized_studies(studies, options, names)


def suite_settings(study_options: StudyOptions, run_options: RunOptions) -> dict:
    """What OUT/suite.json records as this suite's settings: invocations with other settings
    made other results, so their wall-clock is not counted with these."""
    from cnnlab.train.device import resolve_device

    device = resolve_device(run_options.device)
    workers, cpus_per_run = requested(study_options.profile, device, run_options.executor, run_options.workers,
                                      run_options.cpus_per_run)
    return {"profile": study_options.profile, "overrides": study_options.overrides(), "device": str(device),
            "executor": run_options.executor, "workers": workers, "cpus_per_run": cpus_per_run}


def plan_suite(studies: list[Study], out_dir, options: RunOptions, names: Names = CLI) -> list[StudyPlan]:
    """Every study checked and planned before any run (cnnlab.studies.runner.plan_study),
    each distinct dataset loaded once."""
    loaded, plans = {}, []
    for study in studies:
        key = (study.dataset, study.subset, study.test_subset)
        if key not in loaded:
            try:
                loaded[key] = load_run_data(study.dataset, study.subset, study.test_subset, options.data_dir,
                                            options.download)
            except UserError as e:
                other = names.given("stand_in", {study.dataset: "NEW"} if names.python else f"{study.dataset}=NEW")
                raise UserError(f"{e}; or train study {study.name} on another dataset: {other}") from None
        plans.append(plan_study(study, out_dir, options, names, data=loaded[key]))
    return plans


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


def _report_stamp(info: dict, directory: Path) -> str:
    """What a study report shows: the study (without the manifest of the latest
    invocation), its runs and their statuses, and the cnnlab version that renders it; for a
    tuned study also the runs of the same study at shared settings, which its answers compare with."""
    shared = None
    if isinstance(info.get("tuning"), dict) and info["tuning"].get("shared"):
        try:
            shared = read_study(directory.parent / info["tuning"]["shared"] / STUDY_FILE).to_json()["runs"]
        except UserError:
            shared = None
    return stable_hash({"study": {k: v for k, v in info.items() if k not in ("manifest", "report")},
                        "shared": shared, "version": __version__})


def _render_study_report(directory: Path, info: dict) -> bool:
    """Render the study's report unless it exists and was rendered from these results."""
    from cnnlab.report import render_report

    stamp = _report_stamp(info, directory)
    stamp_file = directory / REPORT_STAMP
    current = (directory / "report.md").is_file() and (directory / "report.html").is_file() and (
        stamp_file.is_file() and stamp_file.read_text(encoding="utf-8").strip() == stamp)
    if current:
        return False
    render_report(directory)
    atomic_write_text(stamp_file, stamp + "\n")
    return True


def run_suite(studies: list[Study], out_dir, settings: dict, options: RunOptions = RunOptions(), *,
              names: Names = CLI, on_checked=None, on_start=None, on_run=None, on_message=say,
              title: str = "", until=None) -> dict:
    """Run every study into `out_dir` (`options` as for `run_study`; `on_start`, `on_run`,
    `on_message` are called for each study as `run_study` calls them), then write the suite
    report when `options.report`. `settings` describe this suite (`suite_settings`) for
    OUT/suite.json: invocations with other settings are not counted in its wall-clock.
    `on_checked()` is called once every study is planned; `title` heads the suite report ("":
    the built-in suite's). `until` (cnnlab.studies.until_decided.UntilDecided): after every study's
    first look, add seeds where comparisons are open, study by study, within its limits.
    Returns suite.json's content."""
    started = time.time()
    plans = plan_suite(studies, out_dir, dataclasses.replace(options, report=False), names)
    if on_checked:
        on_checked()
    out_dir = Path(out_dir)
    invocation = Invocation(started=_when(started), command=invocation_command())
    suite = SuiteRecord(profile=settings["profile"], settings=settings,
                        studies=[SuiteStudy(name=s.name, reference=s.reference, title=s.title,
                                            folder=s.folder if s.folder != s.name else "") for s in studies],
                        invocations=[*_previous_invocations(out_dir, settings), invocation], title=title)

    def run_one(plan: StudyPlan) -> dict:
        info = run_plan(dataclasses.replace(plan, started=time.time()), on_start, on_run, on_message)
        statuses = [r["status"] for r in info["runs"]]
        invocation.runs_trained += info["manifest"]["runs_trained"]
        invocation.runs_cached += info["manifest"]["runs_cached"]
        invocation.runs_failed += statuses.count("failed")
        suite.hardware = Manifest(**{k: info["manifest"].get(k) for k in HARDWARE_KEYS})
        if options.report:
            _render_study_report(plan.directory, info)
        invocation.wall_clock_seconds = time.time() - started
        atomic_write_json(out_dir / SUITE_FILE, suite.to_json())  # after every study: an interrupted suite still counts
        return info

    looks = []
    for plan in plans:
        before = time.time()
        info = run_one(plan)
        looks.append((plan, info, time.time() - before))
    if until is not None:
        _keep_deciding(looks, run_one, out_dir, options, names, until, started, on_message)
    invocation.finished = _when(time.time())
    invocation.wall_clock_seconds = time.time() - started
    result = suite.to_json()
    atomic_write_json(out_dir / SUITE_FILE, result)
    if options.report:
        from cnnlab.report.suite import render_suite_report

        result["report"] = [str(p) for p in render_suite_report(out_dir)]
    return result


def _keep_deciding(looks, run_one, out_dir, options: RunOptions, names: Names, until, started: float, on_message):
    """The suite's further looks (cnnlab.studies.until_decided), each study planned again at its new
    size and run like its first look; each report is rendered again once the study stops."""
    from cnnlab.studies.until_decided import Look, keep_deciding

    plain = dataclasses.replace(options, report=False)

    def run_look(study: Study) -> dict:
        return run_one(plan_study(study, out_dir, plain, names, data=by_folder[study.folder].data))

    def render(directory: Path):
        if options.report:
            _render_study_report(directory, read_study(directory / STUDY_FILE).to_json())

    by_folder = {plan.study.folder: plan for plan, _, _ in looks}
    first = [Look(plan.study, plan.directory, info, wall) for plan, info, wall in looks]
    keep_deciding(first, run_look, until, started, on_message, render)
