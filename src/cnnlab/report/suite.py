"""The suite report of `cnnlab run all`: OUT/report.md and a self-contained OUT/report.html.

A header with the profile, hardware, wall-clock and runs trained vs reused (from
OUT/suite.json), a table linking the study reports, then one section per study: the
answer to each of its questions (cnnlab.report.answers) with how many of its comparisons
are decided, its evidence, the figures it rests on and whether other reports' claims
replicated. Figures are the study reports' own PNGs,
copied, never drawn again; the same Markdown and HTML renderers as the study reports
write it, so every user string is escaped the same way.
"""

import re
from pathlib import Path

from cnnlab.errors import UserError
from cnnlab.report import fmt, write_document
from cnnlab.report.answers import answers
from cnnlab.report.build import how_to_read, next_step_text
from cnnlab.document import Bullets, Document, Image, Link, Paragraph, Section, Table
from cnnlab.results import StudyResults, load_results
from cnnlab.store.schema import SUITE_FILE, Invocation, Manifest, SuiteRecord, SuiteStudy, read_suite
from cnnlab.units import duration_text

TITLE = "The course assignment, answered"
_STUDY_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")  # as study files require: never a path
COSTS_NOTE = ("Costs (parameters, time, memory) are measured values on the hardware above, not tested. "
              "\"Replicated\" means our verdict agrees, significantly, with the ordering a claim makes; \"not "
              "resolved\" means our seeds cannot tell.")


def _study_results(out_dir: Path, entry: SuiteStudy) -> tuple[StudyResults | None, str | None]:
    """A study's results, or None and why not."""
    try:
        return load_results(out_dir / entry.dir), None
    except UserError as e:
        return None, str(e)


# ---- header ------------------------------------------------------------------------------

def _hardware_line(h: Manifest) -> str:
    parts = [h.device or fmt.DASH]
    if h.cpu_model and h.cpu_model != h.device:
        parts.append(f"CPU {h.cpu_model}")
    if h.threads:
        parts.append(f"{h.threads} thread{'s' if h.threads != 1 else ''} per run")
    if h.executor:
        parts.append(f"executor {h.executor}")
    parts.append(f"precision {h.precision or fmt.DASH}")
    if h.torch_version:
        parts.append(f"torch {h.torch_version}")
    return "Hardware: " + ", ".join(str(p) for p in parts) + "."


def _wall_clock_lines(invocations: list[Invocation]) -> list[str]:
    if not invocations:
        return []
    last = invocations[-1]
    state = "" if last.finished else " (not finished)"
    lines = [f"Wall-clock of this invocation{state}: {duration_text(last.wall_clock_seconds)}; runs: "
             f"{last.runs_trained} trained, {last.runs_cached} reused (trained by an earlier or concurrent "
             "cnnlab run), "
             f"{last.runs_failed} failed."]
    if len(invocations) > 1:
        total = sum(i.wall_clock_seconds or 0 for i in invocations)
        trained = sum(i.runs_trained or 0 for i in invocations)
        lines.append(f"With these settings, {len(invocations)} invocations took {duration_text(total)} of wall-clock "
                     f"in total and trained {trained} runs.")
    return lines


def _override_text(key: str, value) -> str:
    if key == "stand_in" and isinstance(value, dict):  # --stand-in OLD=NEW
        return ", ".join(f"{new} standing in for {old}" for old, new in sorted(value.items()))
    return f"{key} {value}"


def _header(suite: SuiteRecord) -> list[str]:
    h = suite.hardware
    overrides = suite.settings.get("overrides") if isinstance(suite.settings.get("overrides"), dict) else {}
    overrides = ", ".join(_override_text(k, v) for k, v in sorted(overrides.items()))
    profile = (f"Profile: {suite.profile or fmt.DASH} (each study's own settings)" if suite.profile == "full" else
               f"Profile: {suite.profile or fmt.DASH} (each study's [profiles.{suite.profile}] settings)")
    lines = [profile + (f", overridden on the command line: {overrides}." if overrides else "."),
             _hardware_line(h), *_wall_clock_lines(suite.invocations)]
    git = h.git
    lines.append(f"cnnlab {h.cnnlab_version or fmt.DASH}, code fingerprint {h.code or fmt.DASH}"
                 + (f", git {git['commit'][:12]}{' (uncommitted changes)' if git.get('dirty') else ''}" if git else "")
                 + ".")
    return lines


# ---- sections ----------------------------------------------------------------------------

def _studies_section(entries: list[SuiteStudy], loaded: dict) -> Section:
    s = Section("Studies")
    rows = []
    for entry in entries:
        study, why = loaded[entry.name]
        if study is None:
            rows.append([entry.reference, entry.name, "not run", fmt.DASH, fmt.DASH, fmt.DASH, fmt.DASH])
            continue
        info, m = study.info, study.manifest
        runs = study.all_runs
        data = f"{info.dataset}, {fmt.whole(m.train_size)} train / {fmt.whole(m.test_size)} test"
        training = sum(r.summary()["train_seconds"] or 0 for r in runs if r.usable)
        rows.append([info.reference, Link(study.title, f"{entry.dir}/report"), info.profile or fmt.DASH, data,
                     f"{info.epochs} × {len(info.seeds)} seeds",
                     f"{sum(r.usable for r in runs)} of {len(runs)}", duration_text(training)])
    s.add(Table(["Question", "Study report", "Profile", "Data (images)", "Epochs × seeds", "Runs done",
                 "Training loops (sum over runs)"], rows))
    first = next((study for study, _ in loaded.values() if study is not None), None)
    if first is not None:
        s.add(Paragraph(how_to_read(first) + " " + COSTS_NOTE, note=True))
    return s


def _question_section(entry: SuiteStudy, study: StudyResults | None, why: str | None, profile: str) -> Section:
    s = Section(f"{entry.reference} {study.title if study else entry.title}".strip())
    if study is None:
        s.add(Paragraph(f"Not answered: this study has no results ({why})."))
        return s
    if study.info.profile != profile:
        s.add(Paragraph(f"Not answered: the results in {entry.dir} are of profile "
                        f"{study.info.profile!r}, this suite is {profile!r} (the study was run again with "
                        f"another profile); run 'cnnlab run all --profile {profile}' to answer with matching results."))
        s.add(Link(f"Report of the {study.info.profile} results", f"{entry.dir}/report"))
        return s
    results = answers(study)
    if not results:
        s.add(Paragraph("This study asks no questions ([[questions]] in its study file); its report compares every "
                        "pair of its models."))
    for result in results:
        s.add(Paragraph(f"Question {result.question}: {result.asks}"))
        s.add(Paragraph(f"Answer: {result.claim}"))
        s.add(Paragraph(result.decided_text(), note=True))
        s.add(Bullets(result.evidence))
        step = next_step_text(study, result.comparisons)
        if step:
            s.add(Paragraph(step, note=True))
        if result.tuning:
            s.add(Paragraph(f"Shared vs tuned settings: {result.tuning[0]}"))
            s.add(Bullets(result.tuning[1:]))
        for name, caption in result.figures:
            png = study.dir / "plots" / name
            if png.is_file():
                s.add(Image(f"{entry.reference or entry.name}-{name}".lower(), png.read_bytes(),
                            f"{study.title}: {caption}"))
            else:
                s.add(Paragraph(f"Figure not available: {caption} (render the study report with 'cnnlab report').",
                                note=True))
        if study.info.claims:
            s.add(Paragraph(f"Claims of {study.info.claims_source or 'other reports'}: {result.replication}"))
    s.add(Link(f"Full report: {study.title}", f"{entry.dir}/report"))
    return s


def build_suite_document(out_dir, suite: SuiteRecord) -> Document:
    out_dir = Path(out_dir)
    entries = [e for e in suite.studies if _STUDY_NAME.match(e.name)]
    loaded = {e.name: _study_results(out_dir, e) for e in entries}
    profile = suite.profile
    sections = [_studies_section(entries, loaded)]
    sections += [_question_section(e, *loaded[e.name], profile) for e in entries]
    return Document(title=f"{suite.title or TITLE} (profile {profile})", subtitle=_header(suite), sections=sections)


def render_suite_report(out_dir, suite: SuiteRecord | None = None) -> tuple[Path, Path]:
    """Write OUT/report.md (plots in OUT/plots/) and OUT/report.html from OUT/suite.json (or
    `suite`, already read from it) and the study results it names; returns their paths."""
    suite = suite if suite is not None else read_suite(Path(out_dir) / SUITE_FILE)
    return write_document(build_suite_document(out_dir, suite), Path(out_dir))
