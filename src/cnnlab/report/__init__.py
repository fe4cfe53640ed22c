"""The study report: `render_report(study_dir)` writes report.md, report.html, plots/*.png
and results.csv (one row per run and epoch).

It only reads results (study.json and the run directories), so it can be re-run at any
time without training: `cnnlab report DIR`.

    findings.py  pairwise comparisons and the sentences they support (tests: cnnlab.stats)
    answers.py   one answer per course question, from a study's results (questions/: one class per kind)
    claims.py    the course reports' numbers, mapped to our models
    sizes.py     verdicts across training sizes; noise.py: where the spread comes from
    tuning.py    the tuning section; compare.py: two result sets side by side
    plots.py     one function per plot -> a matplotlib Figure; png() -> PNG bytes
    sections.py  what every section uses (the analyses' own sections live in cnnlab.analyses)
    build.py     the built-in sections, and every section in its place
    suite.py     the suite report of `cnnlab run all`: the answers, linking the six study reports

Results are read by cnnlab.results (and results.csv written by cnnlab.results.export); the
document the sections make is rendered to Markdown and HTML by cnnlab.document.
"""

import tempfile
from contextlib import contextmanager
from pathlib import Path

from cnnlab.errors import UserError
from cnnlab.io import atomic_write_bytes, atomic_write_text
from cnnlab.report import plots
from cnnlab.report.build import build_document, section_titles
from cnnlab.document.html import to_html
from cnnlab.document.markdown import to_markdown
from cnnlab.results import load_results
from cnnlab.results.export import write_results_csv

__all__ = ["render_report", "render_results", "write_document", "section_titles"]


def render_report(study_dir, runs_dir=None, dpi: int | None = None) -> tuple[Path, Path]:
    """Render the report of the study in `study_dir` (OUT/studies/<name>).

    Runs are read from `runs_dir`, by default `study_dir/../../runs`; plots are drawn at
    `dpi` (default `plots.DPI`). Also writes results.csv (export.py). Returns the paths of
    report.md and report.html. Raises UserError when study_dir holds no readable study.json.
    """
    return render_results(load_results(study_dir, runs_dir), dpi)


def render_results(study, dpi: int | None = None) -> tuple[Path, Path]:
    """`render_report` of results already loaded (`load_results`): a caller that renders
    several studies reads them all first, so a damaged one stops it before anything is written."""
    check_writable(study.dir)  # before the plots are drawn
    paths = write_document(build_document(study, dpi=dpi or plots.DPI), study.dir)
    with _report_writes(study.dir):
        write_results_csv(study)
    return paths


def check_writable(directory):
    """Raise UserError unless the report's files can be written in `directory` and its
    plots/ (where it exists): a file is created in each and removed, so a read-only or
    immutable folder, or a file where plots/ should be, fails here with nothing written."""
    directory = Path(directory)
    for folder in (directory, directory / "plots"):
        if folder == directory or folder.exists():
            try:
                with tempfile.NamedTemporaryFile(dir=folder, prefix=".write-check.", suffix=".tmp"):
                    pass
            except OSError as e:
                raise UserError(f"cannot write the report in {directory}: {e.strerror or e} ({folder})") from None


@contextmanager
def _report_writes(directory: Path):
    """An OSError while writing the report (permissions, a full disk) as a one-line UserError."""
    try:
        yield
    except OSError as e:
        where = f" ({e.filename})" if e.filename else ""
        raise UserError(f"cannot write the report in {directory}: {e.strerror or e}{where}") from None


def write_document(doc, directory: Path) -> tuple[Path, Path]:
    """Write `doc` as directory/report.md (images in directory/plots/) and the
    self-contained directory/report.html; returns their paths."""
    directory = Path(directory)
    check_writable(directory)
    with _report_writes(directory):
        return _write_document(doc, directory)


def _write_document(doc, directory: Path) -> tuple[Path, Path]:
    plots_dir = directory / "plots"
    names = set()
    for image in doc.images:
        atomic_write_bytes(plots_dir / image.name, image.png)
        names.add(image.name)
    # Plots of an earlier rendering that this one no longer has (a model was removed) would
    # otherwise sit next to the report and mislead whoever browses plots/.
    if plots_dir.is_dir():
        for old in plots_dir.glob("*.png"):
            if old.name not in names:
                old.unlink(missing_ok=True)
    md_path, html_path = directory / "report.md", directory / "report.html"
    atomic_write_text(md_path, to_markdown(doc))
    atomic_write_text(html_path, to_html(doc))
    return md_path, html_path
