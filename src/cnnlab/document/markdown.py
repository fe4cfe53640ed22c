"""Render a `Document` as GitHub-flavoured Markdown; images link to plots/*.png."""

import re
from urllib.parse import quote

from cnnlab.document import Bullets, Document, Image, Link, Paragraph, Table

_ALWAYS = "\\`*|"  # characters that are markup anywhere in a line
_WORD_EDGE_UNDERSCORE = re.compile(r"(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")  # intraword _ is literal on GitHub
_ENTITY = re.compile(r"&(#?[A-Za-z0-9]+;)")
# "<" opens raw HTML or an autolink only before a letter, "/", "!" or "?"; "p < 0.05" stays
# as it reads. A "<" at the end is escaped too: the next fragment could begin with a letter.
_TAG_OPEN = re.compile(r"<(?=[A-Za-z/!?]|$)")
_LINE_START = re.compile(r"^([#>+=-]|\d{1,9}(?=[.)]))")  # block markup at a line's start: "# ", "- ", "1. "


def escape(text, block: bool = True, brackets: bool = False) -> str:
    """Plain text -> Markdown that shows exactly that text, and stays readable as raw text.

    `<` that could open a tag becomes an entity because GitHub passes raw HTML through: a
    model named `<img onerror=...>` must stay text. Brackets are escaped only where they
    could form a link, underscores only where they could start emphasis, and a leading "#",
    "-" or "1." only where text starts a block (`block`; not in table cells); `brackets`
    escapes them always (the text of a link).
    """
    text = " ".join(str(text).split())  # no newline may break a table row or a list item
    text = _TAG_OPEN.sub("&lt;", _ENTITY.sub(r"&amp;\1", text))
    text = "".join("\\" + ch if ch in _ALWAYS else ch for ch in text)
    text = _WORD_EDGE_UNDERSCORE.sub(r"\\_", text)
    if brackets or "](" in text or "][" in text or "[^" in text:
        text = text.replace("[", "\\[").replace("]", "\\]")
    if not block:
        return text
    # "\#" for a symbol; "1\." for an ordered-list number (the escape goes before the dot).
    return _LINE_START.sub(lambda m: m.group(0) + "\\" if m.group(0)[0].isdigit() else "\\" + m.group(0), text)


def _link(link: Link) -> str:
    # The text is escaped like any text; the target is percent-encoded, so neither can end the link.
    text = escape(link.text, block=False, brackets=True)
    return f"[{text}]({quote(link.target + '.md', safe='/._-')})"


def _cell(c) -> str:
    return _link(c) if isinstance(c, Link) else escape(c, block=False)


def _table(t: Table) -> list[str]:
    lines = []
    if t.caption:
        lines += [f"*{escape(t.caption)}*", ""]
    lines.append("| " + " | ".join(escape(h, block=False) for h in t.header) + " |")
    lines.append("|" + "|".join("---" for _ in t.header) + "|")
    for row in t.rows:
        lines.append("| " + " | ".join(_cell(c) for c in row) + " |")
    return lines


def _block(b) -> list[str]:
    if isinstance(b, Paragraph):
        return [f"> {escape(b.text)}" if b.note else escape(b.text)]
    if isinstance(b, Bullets):
        return [f"- {escape(item)}" for item in b.items]
    if isinstance(b, Table):
        return _table(b)
    if isinstance(b, Image):
        return [f"![{escape(b.alt)}](plots/{b.name})"]  # names are made of [a-z0-9_.-] only
    if isinstance(b, Link):
        return [_link(b)]
    raise TypeError(f"unknown block {type(b).__name__}")


def to_markdown(doc: Document) -> str:
    lines = [f"# {escape(doc.title)}", ""]
    for line in doc.subtitle:
        lines += [escape(line), ""]
    for section in doc.sections:
        lines += [f"## {escape(section.title)}", ""]
        for block in section.blocks:
            lines += _block(block) + [""]
    return "\n".join(lines).rstrip() + "\n"
