"""Email formatting: inline our own small stylesheet, and turn HTML into readable plain text.

We control every tag a notice can contain: the rich text features of ``models.blocks``
(p, h3, h4, ul, ol, li, a, b, i, br) and our own block templates (which write their email styles as
``style`` attributes themselves). So styles are inlined per tag name, with a regular
expression over the rendered HTML, and the text part comes from a small tokenizer rather than
a DOM: both run for every email sent and must cost microseconds, not milliseconds. Gmail and
Outlook ignore or strip ``<style>``; inline ``style`` attributes survive.
"""

from __future__ import annotations

import html
import re
import textwrap

FONT = "font-family:Arial,Helvetica,sans-serif;"
TEXT_COLOUR = "color:#1f2933;"

#: Rich text tag -> its inline style in emails.
EMAIL_STYLES: dict[str, str] = {
    "p": f"margin:0 0 16px 0;{FONT}font-size:16px;line-height:24px;{TEXT_COLOUR}",
    "h2": f"margin:24px 0 12px 0;{FONT}font-size:20px;line-height:26px;{TEXT_COLOUR}",
    "h3": f"margin:24px 0 12px 0;{FONT}font-size:18px;line-height:24px;{TEXT_COLOUR}",
    "h4": f"margin:20px 0 8px 0;{FONT}font-size:16px;line-height:22px;{TEXT_COLOUR}",
    "ul": f"margin:0 0 16px 0;padding:0 0 0 24px;{FONT}font-size:16px;{TEXT_COLOUR}",
    "ol": f"margin:0 0 16px 0;padding:0 0 0 24px;{FONT}font-size:16px;{TEXT_COLOUR}",
    "li": "margin:0 0 6px 0;line-height:24px;",
    "a": "color:#0b5cad;text-decoration:underline;",
}

#: Styles our block templates write into their email variant (``styles`` in their context).
BLOCK_STYLES: dict[str, str] = {
    "heading": EMAIL_STYLES["h3"],
    "table": f"width:100%;border-collapse:collapse;margin:0 0 20px 0;{FONT}font-size:14px;",
    "th": (
        "text-align:left;padding:6px 8px;line-height:20px;border-bottom:2px solid #1f2933;"
        "background-color:#f1f4f7;font-weight:bold;"
    ),
    "td": f"padding:6px 8px;line-height:20px;border-bottom:1px solid #d6dde3;{TEXT_COLOUR}",
    "p": f"margin:0 0 4px 0;{FONT}font-size:16px;line-height:24px;{TEXT_COLOUR}",
    "img": "display:block;max-width:220px;height:auto;border:0;margin:8px 0;",
}

_START_TAG = re.compile(r"<([a-zA-Z][a-zA-Z0-9]*)(\s[^<>]*?)?(/?)>")
_DATA_ATTRIBUTE = re.compile(r"""\s+data-[\w-]+(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s>]+))?""")


def inline_styles(fragment: str) -> str:
    """Rich text HTML with ``EMAIL_STYLES`` as ``style`` attributes, ``data-*`` removed.

    A tag that already has a ``style`` keeps it (ours come after, and the first wins in the
    attribute list, so an explicit style is never overridden).
    """

    def restyle(match: re.Match) -> str:
        name, attributes, closing = match.group(1), match.group(2) or "", match.group(3)
        attributes = _DATA_ATTRIBUTE.sub("", attributes)
        style = EMAIL_STYLES.get(name.lower())
        if style and "style=" not in attributes.lower():
            attributes += f' style="{style}"'
        return f"<{name}{attributes}{closing}>"

    return _START_TAG.sub(restyle, fragment)


# --- HTML -> plain text ---------------------------------------------------------------------

WIDTH = 72
_TOKEN = re.compile(r"<!--.*?-->|<[^>]*>|[^<]+", re.DOTALL)
_TAG = re.compile(r"<\s*(/?)\s*([a-zA-Z][a-zA-Z0-9]*)([^>]*)>")
_HREF = re.compile(r"""href\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""", re.IGNORECASE)
_BLOCKS = {
    "p",
    "div",
    "section",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "ul",
    "ol",
    "li",
    "table",
    "tr",
    "blockquote",
}


class _TextWriter:
    """Collects blocks of text while the tokenizer walks the HTML."""

    def __init__(self) -> None:
        self.blocks: list[str] = []
        self.line: list[str] = []
        self.lists: list[list] = []  # [kind, counter]
        self.links: list[str | None] = []
        self.heading = False
        self.table: list[list[list[str]]] | None = None  # rows of cells
        self.cell: list[str] | None = None
        self.header_row = False
        self.signature_depth = 0
        self.signature: list[str] | None = None
        self._last_tight = False

    def text(self, data: str) -> None:
        text = re.sub(r"\s+", " ", html.unescape(data))
        if self.cell is not None:
            self.cell.append(text)
        else:
            self.line.append(text)

    def flush(self) -> None:
        text = "".join(self.line)
        self.line = []
        lines = [" ".join(part.split()) for part in text.split("\n")]
        if not any(lines):
            return
        if self.heading:
            title = " ".join(lines)
            self.emit(f"{title}\n{'-' * min(len(title), WIDTH)}")
        elif self.lists:
            kind, number = self.lists[-1]
            bullet = f"{number}. " if kind == "ol" else "- "
            indent = "  " * (len(self.lists) - 1)
            self.emit(
                textwrap.fill(
                    " ".join(lines),
                    WIDTH,
                    initial_indent=indent + bullet,
                    subsequent_indent=indent + " " * len(bullet),
                    break_long_words=False,
                ),
                tight=True,
            )
        else:
            self.emit(
                "\n".join(
                    textwrap.fill(line, WIDTH, break_long_words=False) if line else ""
                    for line in lines
                )
            )

    def emit(self, block: str, tight: bool = False) -> None:
        if self.signature is not None:
            self.signature.append(block)
        elif tight and self.blocks and self._last_tight:
            self.blocks[-1] += "\n" + block
        else:
            self.blocks.append(block)
        self._last_tight = tight


def html_to_text(fragment: str) -> str:
    """Readable plain text of a notice's HTML: paragraphs, headings, lists (numbered or
    bulleted), links as "label (url)", tables as aligned columns, the signature as lines."""
    writer = _TextWriter()
    for token in _TOKEN.findall(fragment):
        if token.startswith("<!--"):
            continue
        match = _TAG.match(token) if token.startswith("<") else None
        if match is None:
            writer.text(token)
            continue
        closing, name, attributes = match.group(1), match.group(2).lower(), match.group(3)
        if closing:
            _end(writer, name)
        else:
            _start(writer, name, attributes)
    writer.flush()
    text = "\n\n".join(block for block in writer.blocks if block.strip()).strip()
    return text.replace("\x00", "")  # the start marker of a link never closed


def _start(writer: _TextWriter, name: str, attributes: str) -> None:
    if name == "br":
        (writer.cell if writer.cell is not None else writer.line).append("\n")
    elif name == "a":
        href = _HREF.search(attributes)
        url = next((g for g in href.groups() if g), "") if href else ""
        writer.links.append(html.unescape(url))
        writer.line.append("\x00")  # marks where the link's label starts
    elif name == "table":
        writer.flush()
        writer.table = []
    elif name == "tr" and writer.table is not None:
        writer.table.append([])
        writer.header_row = False
    elif name in ("td", "th") and writer.table is not None:
        writer.cell = []
    elif name in ("ul", "ol"):
        writer.flush()
        writer.lists.append([name, 0])
    elif name == "li":
        writer.flush()
        if writer.lists:
            writer.lists[-1][1] += 1
    elif name in ("h1", "h2", "h3", "h4", "h5", "h6"):
        writer.flush()
        writer.heading = True
    elif name == "div" and "signature" in attributes:
        writer.flush()
        writer.signature = []
        writer.signature_depth = 1
    elif name == "div" and writer.signature is not None:
        writer.signature_depth += 1
    elif name in _BLOCKS:
        writer.flush()


def _end(writer: _TextWriter, name: str) -> None:
    if name == "a" and writer.links:
        url = writer.links.pop()
        text = "".join(writer.line)
        start = text.rfind("\x00")
        label = " ".join(text[start + 1 :].split())
        if url and label != url and not (url.startswith("mailto:") and label == url[7:]):
            label = f"{label} ({url})"
        writer.line = [text[:start], label]
    elif name in ("td", "th") and writer.table is not None and writer.cell is not None:
        if writer.table:
            writer.table[-1].append(" ".join("".join(writer.cell).split()))
        if name == "th":
            writer.header_row = True
        writer.cell = None
    elif name == "table" and writer.table is not None:
        rows = [row for row in writer.table if row]
        writer.table = None
        if rows:
            header, body = rows[0], rows[1:]
            if all(len(row) == len(header) for row in body):
                writer.emit(text_table(header, body))
            else:
                writer.emit("\n".join("  ".join(row) for row in rows))
    elif name in ("ul", "ol") and writer.lists:
        writer.flush()
        writer.lists.pop()
        writer._last_tight = bool(writer.lists)  # an outer list goes on
    elif name in ("h1", "h2", "h3", "h4", "h5", "h6"):
        writer.flush()
        writer.heading = False
    elif name == "div" and writer.signature is not None:
        writer.signature_depth -= 1
        if writer.signature_depth == 0:
            writer.flush()
            lines, writer.signature = writer.signature, None
            if lines:
                writer.emit("\n".join(lines))
    elif name in _BLOCKS:
        writer.flush()


def text_table(headers: list[str], rows: list[list[str]]) -> str:
    """An aligned plain-text table, e.g. for the assemblies of a notice."""
    columns = [headers, *rows]
    widths = [max(len(str(row[i])) for row in columns) for i in range(len(headers))]

    def line(cells: list[str]) -> str:
        return "  ".join(str(cell).ljust(width) for cell, width in zip(cells, widths, strict=True))

    out = [line(headers).rstrip(), "  ".join("-" * width for width in widths)]
    out.extend(line(row).rstrip() for row in rows)
    return "\n".join(out)
