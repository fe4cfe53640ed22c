"""The suite report of `cnnlab run all`: OUT/report.md and a self-contained OUT/report.html.

A header with the profile, hardware, wall-clock and runs trained vs reused (from
OUT/suite.json), a table linking the six study reports, then one section per course
question: the answer (cnnlab.report.answers), its evidence, the figures it rests on and
whether the course report's claim replicated. Figures are the study reports' own PNGs,
copied, never drawn again; the same Markdown and HTML renderers as the study reports
write it, so every user string is escaped the same way.
"""

import json
import re
from pathlib import Path

from cnnlab.errors import UserError
from cnnlab.report import fmt, write_document
from cnnlab.report.answers import answer
from cnnlab.report.document import Bullets, Document, Image, Link, Paragraph, Section, Table
from cnnlab.report.load import StudyResults, load_results
from cnnlab.store.records import SCHEMA_VERSION, SUITE_FILE
from cnnlab.units import duration_text

TITLE = "The course assignment, answered"
_STUDY_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")  # as study files require: never a path
STATISTICS_NOTE = (
    "How to read the answers: accuracies are test accuracies at the last epoch, as means over seeds with a 95% "
    "confidence interval (Student's t). \"A is better than B\" is said only when a two-sided Welch t-test, "
    "Holm-adjusted for the comparisons of the study, gives p < 0.05; otherwise the answer says there is no "
    "significant difference and gives the interval of the difference. Costs (parameters, time, memory) are "
    "measured values on the hardware above, not tested. \"Replicated\" means our test agrees, significantly, with "
    "the ordering the course report claims; \"not resolved\" means our seeds cannot tell.")


def read_suite(out_dir) -> dict:
    path = Path(out_dir) / SUITE_FILE
    try:
        suite = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        suite = None
    if not isinstance(suite, dict) or not isinstance(suite.get("studies"), list):
        raise UserError(f"{path} is not a suite file of `cnnlab run all` (missing, corrupt or not a JSON object)")
    if suite.get("schema") != SCHEMA_VERSION:
        raise UserError(f"{path} was written by another cnnlab (format {suite.get('schema')!r}, this version reads "
                        f"{SCHEMA_VERSION}); run `cnnlab run all` again")
    return suite


def _study_results(out_dir: Path, entry: dict) -> tuple[StudyResults | None, str | None]:
    """A study's results, or None and why not."""
    name = str(entry.get("name", ""))
    try:
        return load_results(out_dir / "studies" / name), None
    except UserError as e:
        return None, str(e)


# ---- header ------------------------------------------------------------------------------

def _hardware_line(h: dict) -> str:
    threads = h.get("threads")
    parts = [h.get("device") or fmt.DASH]
    if h.get("cpu_model") and h.get("cpu_model") != h.get("device"):
        parts.append(f"CPU {h['cpu_model']}")
    if threads:
        parts.append(f"{threads} thread{'s' if threads != 1 else ''} per run")
    if h.get("executor"):
        parts.append(f"executor {h['executor']}")
    parts.append(f"precision {h.get('precision') or fmt.DASH}")
    if h.get("torch_version"):
        parts.append(f"torch {h['torch_version']}")
    return "Hardware: " + ", ".join(str(p) for p in parts) + "."


def _wall_clock_lines(invocations: list[dict]) -> list[str]:
    if not invocations:
        return []
    last = invocations[-1]
    state = "" if last.get("finished") else " (not finished)"
    lines = [f"Wall-clock of this invocation{state}: {duration_text(last.get('wall_clock_seconds'))}; runs: "
             f"{last.get('runs_trained', 0)} trained, {last.get('runs_cached', 0)} reused from earlier invocations, "
             f"{last.get('runs_failed', 0)} failed."]
    if len(invocations) > 1:
        total = sum(i.get("wall_clock_seconds") or 0 for i in invocations)
        trained = sum(i.get("runs_trained") or 0 for i in invocations)
        lines.append(f"With these settings, {len(invocations)} invocations took {duration_text(total)} of wall-clock "
                     f"in total and trained {trained} runs.")
    return lines


def _override_text(key: str, value) -> str:
    if key == "stand_in" and isinstance(value, dict):  # --stand-in OLD=NEW
        return ", ".join(f"{new} standing in for {old}" for old, new in sorted(value.items()))
    return f"{key} {value}"


def _header(suite: dict) -> list[str]:
    h = suite.get("hardware") or {}
    settings = suite.get("settings") or {}
    overrides = ", ".join(_override_text(k, v) for k, v in sorted((settings.get("overrides") or {}).items()))
    profile = (f"Profile: {suite.get('profile') or fmt.DASH} (each study's own settings)"
               if suite.get("profile") == "full" else
               f"Profile: {suite.get('profile') or fmt.DASH} (each study's [profiles.{suite.get('profile')}] settings)")
    lines = [profile + (f", overridden on the command line: {overrides}." if overrides else "."),
             _hardware_line(h), *_wall_clock_lines(suite.get("invocations") or [])]
    git = h.get("git") if isinstance(h.get("git"), dict) else None
    lines.append(f"cnnlab {h.get('cnnlab_version') or fmt.DASH}, code fingerprint {h.get('code') or fmt.DASH}"
                 + (f", git {git['commit'][:12]}{' (uncommitted changes)' if git.get('dirty') else ''}" if git else "")
                 + ".")
    return lines


# ---- sections ----------------------------------------------------------------------------

def _studies_section(entries: list[dict], loaded: dict) -> Section:
    s = Section("Studies")
    rows = []
    for entry in entries:
        study, why = loaded[entry["name"]]
        if study is None:
            rows.append([str(entry.get("reference", "")), str(entry["name"]), "not run", fmt.DASH, fmt.DASH, fmt.DASH,
                         fmt.DASH])
            continue
        info, m = study.info, study.manifest
        runs = study.all_runs
        data = f"{info.get('dataset')}, {fmt.whole(m.get('train_size'))} train / {fmt.whole(m.get('test_size'))} test"
        training = sum(r.summary()["train_seconds"] or 0 for r in runs if r.usable)
        rows.append([str(info.get("reference") or ""), Link(study.title, f"{entry['dir']}/report"),
                     str(info.get("profile") or fmt.DASH), data,
                     f"{info.get('epochs')} × {len(info.get('seeds') or [])} seeds",
                     f"{sum(r.usable for r in runs)} of {len(runs)}", duration_text(training)])
    s.add(Table(["Question", "Study report", "Profile", "Data (images)", "Epochs × seeds", "Runs done",
                 "Training loops (sum over runs)"], rows))
    s.add(Paragraph(STATISTICS_NOTE, note=True))
    return s


def _question_section(entry: dict, study: StudyResults | None, why: str | None, profile: str) -> Section:
    title = f"{entry.get('reference', '')} {study.title if study else entry.get('title', entry['name'])}".strip()
    s = Section(title)
    if study is None:
        s.add(Paragraph(f"Not answered: this study has no results ({why})."))
        return s
    if study.info.get("profile") != profile:
        s.add(Paragraph(f"Not answered: the results in {entry['dir']} are of profile "
                        f"{study.info.get('profile')!r}, this suite is {profile!r} (the study was run again with "
                        f"another profile); run `cnnlab run all --profile {profile}` to answer with matching results."))
        s.add(Link(f"Report of the {study.info.get('profile')} results", f"{entry['dir']}/report"))
        return s
    result = answer(study)
    if result is None:
        s.add(Paragraph("This study names no course question that cnnlab answers."))
        return s
    s.add(Paragraph(f"Question: {result.asks}"))
    s.add(Paragraph(f"Answer: {result.claim}"))
    s.add(Bullets(result.evidence))
    for name, caption in result.figures:
        png = study.dir / "plots" / name
        if png.is_file():
            s.add(Image(f"{entry.get('reference') or entry['name']}-{name}".lower(), png.read_bytes(),
                        f"{study.title}: {caption}"))
        else:
            s.add(Paragraph(f"Figure not available: {caption} (render the study report with `cnnlab report`).",
                            note=True))
    s.add(Paragraph(f"Course report: {result.replication}"))
    s.add(Link(f"Full report: {study.title}", f"{entry['dir']}/report"))
    return s


def build_suite_document(out_dir, suite: dict) -> Document:
    out_dir = Path(out_dir)
    entries = [{**e, "dir": f"studies/{e['name']}"} for e in suite["studies"]
               if isinstance(e, dict) and _STUDY_NAME.match(str(e.get("name", "")))]
    loaded = {e["name"]: _study_results(out_dir, e) for e in entries}
    profile = str(suite.get("profile") or "")
    sections = [_studies_section(entries, loaded)]
    sections += [_question_section(e, *loaded[e["name"]], profile) for e in entries]
    return Document(title=f"{TITLE} (profile {profile})", subtitle=_header(suite), sections=sections)


def render_suite_report(out_dir) -> tuple[Path, Path]:
    """Write OUT/report.md (plots in OUT/plots/) and OUT/report.html from OUT/suite.json and
    the study results it names; returns their paths."""
    return write_document(build_suite_document(out_dir, read_suite(out_dir)), Path(out_dir))
