"""The report as data: sections of paragraphs, tables and images.

`build.py` fills these in once; `markdown.py` and `html.py` only render them, so the two
files always say the same thing. All text here is plain text, never markup: each renderer
escapes it for its own format (this is what keeps a study titled `<script>` harmless).
"""

from dataclasses import dataclass, field


@dataclass
class Paragraph:
    text: str
    note: bool = False  # a side remark (rendered smaller / as a quote)


@dataclass
class Bullets:
    items: list[str]


@dataclass
class Table:
    header: list[str]
    rows: list[list[str]]
    caption: str = ""


@dataclass
class Image:
    name: str  # file name under plots/, e.g. "learning_curves.png"
    png: bytes
    alt: str
    figure: object = field(default=None, repr=False, compare=False)  # the matplotlib Figure it came from


@dataclass
class Link:
    """A link to another cnnlab report, as a block or a table cell. `target` is its path
    relative to this report, without extension: each renderer links its own format
    (report.md to report.md, report.html to report.html)."""
    text: str
    target: str

    def __str__(self):
        return self.text


@dataclass
class Section:
    title: str
    blocks: list = field(default_factory=list)

    def add(self, block):
        self.blocks.append(block)
        return block


@dataclass
class Document:
    title: str
    subtitle: list[str]  # lines under the title (description, dataset, seeds)
    sections: list[Section]

    @property
    def images(self) -> list[Image]:
        return [b for s in self.sections for b in s.blocks if isinstance(b, Image)]


def slug(text: str) -> str:
    """An anchor or file-name fragment made of [a-z0-9-] only."""
    out = "".join(ch if ch.isalnum() and ch.isascii() else "-" for ch in text.lower())
    return "-".join(part for part in out.split("-") if part) or "x"
