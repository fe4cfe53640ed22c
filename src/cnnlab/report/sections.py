"""Pieces every report section uses, the built-in ones (build.py) and those of the analyses
(cnnlab.analyses): a section whose data was not measured in a study says so instead of
disappearing, so a reader can tell "not measured" from "forgotten"."""

from cnnlab.report import plots
from cnnlab.document import Image, Paragraph, Section
from cnnlab.results import ModelResults

NOT_MEASURED = "not measured in this study"


def capital(text: str) -> str:
    return text[:1].upper() + text[1:]  # str.capitalize() would also lower "MACs"


def not_measured(section: Section, what: str) -> Section:
    section.add(Paragraph(f"{capital(what)}: {NOT_MEASURED}."))
    return section


def with_runs(models: list[ModelResults]) -> list[ModelResults]:
    return [m for m in models if m.done]


def first_done(model: ModelResults, pick):
    """The value `pick(run)` of the lowest-seed finished run that has one, with that run's seed."""
    for run in model.done:
        value = pick(run)
        if value is not None:
            return value, run.seed
    return None, None


def image(name: str, figure, dpi: int, alt: str) -> Image:
    """A plot as the report embeds it (PNG at `dpi`); the Figure stays with it for the
    notebook API (`cnnlab.StudyResult.figure`)."""
    return Image(name, plots.png(figure, dpi), alt, figure=figure)
