"""Render a `Document` as one self-contained HTML file: inline CSS, images as data URIs.

Every piece of text goes through `html.escape`, titles, model names, class names and
paths included, so a study titled `<script>alert(1)</script>` shows that text and runs
nothing. The only markup is the one written here.
"""

import base64
from html import escape
from urllib.parse import quote

from cnnlab.document import Bullets, Document, Image, Link, Paragraph, Section, Table, slug

CSS = """
body { font: 15px/1.5 -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: #1f2328; margin: 0; }
main { max-width: 1150px; margin: 0 auto; padding: 24px 32px 64px; }
h1 { font-size: 1.8em; margin-bottom: 0.2em; }
h2 { border-bottom: 1px solid #d0d7de; padding-bottom: 0.2em; margin-top: 2em; }
.sub { color: #57606a; margin: 0.2em 0; }
nav ul { list-style: none; padding: 0; display: flex; flex-wrap: wrap; gap: 4px 14px; font-size: 0.9em; }
a { color: #0969da; text-decoration: none; }
/* A table wider than the page scrolls inside its own box. Headers and the first column
   (model labels, layer names) wrap; numbers never do. */
.table-wrap { overflow-x: auto; max-width: 100%; margin: 0.8em 0; }
table { border-collapse: collapse; font-size: 0.85em; }
caption { caption-side: top; text-align: left; color: #57606a; padding-bottom: 4px; font-style: italic; }
th, td { border: 1px solid #d0d7de; padding: 4px 9px; text-align: right; white-space: nowrap; }
th:first-child, td:first-child { text-align: left; }
th { background: #f6f8fa; white-space: normal; vertical-align: bottom; }
td:first-child { white-space: normal; min-width: 6em; }
tr:nth-child(even) td { background: #fbfcfd; }
td.text { white-space: normal; text-align: left; min-width: 14em; }
p.note { color: #57606a; font-size: 0.88em; border-left: 3px solid #d0d7de; padding-left: 10px; }
/* A plot shrinks with the page down to 2/3 of its own width (its min-width, set per image),
   where its labels are still readable; on a narrower screen (a phone) it scrolls inside its
   own box, like a wide table. */
figure { margin: 1em 0; overflow-x: auto; max-width: 100%; }
img { max-width: 100%; height: auto; display: block; }
figcaption { color: #57606a; font-size: 0.85em; }
"""


MIN_IMAGE_SCALE = 2 / 3  # the smallest a plot is shown, of its own size: labels of 12-15 px stay 8-10 px


def _png_size(png: bytes) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk (bytes 16-24)."""
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")


def _link(link: Link) -> str:
    return f'<a href="{escape(quote(link.target + ".html", safe="/._-"))}">{escape(link.text)}</a>'


def _cell(tag: str, text, wide: bool) -> str:
    cls = ' class="text"' if wide else ""
    body = _link(text) if isinstance(text, Link) else escape(str(text))
    return f"<{tag}{cls}>{body}</{tag}>"


def _table(t: Table) -> str:
    # Long free-text cells (notes) wrap; numbers stay on one line.
    wide = [any(len(str(row[i])) > 40 for row in t.rows if i < len(row)) for i in range(len(t.header))]
    parts = ['<div class="table-wrap"><table>']
    if t.caption:
        parts.append(f"<caption>{escape(t.caption)}</caption>")
    parts.append("<thead><tr>" + "".join(_cell("th", h, False) for h in t.header) + "</tr></thead><tbody>")
    for row in t.rows:
        parts.append("<tr>" + "".join(_cell("td", c, wide[i] if i < len(wide) else False)
                                      for i, c in enumerate(row)) + "</tr>")
    parts.append("</tbody></table></div>")
    return "".join(parts)


def _block(b) -> str:
    if isinstance(b, Paragraph):
        return f'<p class="note">{escape(b.text)}</p>' if b.note else f"<p>{escape(b.text)}</p>"
    if isinstance(b, Bullets):
        return "<ul>" + "".join(f"<li>{escape(item)}</li>" for item in b.items) + "</ul>"
    if isinstance(b, Table):
        return _table(b)
    if isinstance(b, Image):
        data = base64.b64encode(b.png).decode("ascii")
        width, height = _png_size(b.png)
        return (f'<figure><img src="data:image/png;base64,{data}" alt="{escape(b.alt)}" width="{width}" '
                f'height="{height}" style="min-width: {round(width * MIN_IMAGE_SCALE)}px">'
                f"<figcaption>{escape(b.alt)}</figcaption></figure>")
    if isinstance(b, Link):
        return f"<p>{_link(b)}</p>"
    raise TypeError(f"unknown block {type(b).__name__}")


def section_html(section: Section) -> str:
    """One section: its heading, with the id the table of contents links to, and its blocks."""
    return "\n".join([f'<section id="{slug(section.title)}"><h2>{escape(section.title)}</h2>',
                      *(_block(b) for b in section.blocks), "</section>"])


def to_html(doc: Document) -> str:
    title = escape(doc.title)
    toc = "".join(f'<li><a href="#{slug(s.title)}">{escape(s.title)}</a></li>' for s in doc.sections)
    parts = ["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
             '<meta name="viewport" content="width=device-width, initial-scale=1">',
             f"<title>{title}</title>", f"<style>{CSS}</style>", "</head>", "<body>", "<main>",
             f"<h1>{title}</h1>"]
    parts += [f'<p class="sub">{escape(line)}</p>' for line in doc.subtitle]
    parts.append(f"<nav><ul>{toc}</ul></nav>")
    parts += [section_html(section) for section in doc.sections]
    parts += ["</main>", "</body>", "</html>"]
    return "\n".join(parts) + "\n"
