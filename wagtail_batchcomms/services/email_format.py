"""Email formatting: inline our own small stylesheet, and turn HTML into readable plain text.

We control every tag a notice can contain (the rich text features of ``blocks.py`` and our
block templates), so a dozen selectors inlined as ``style`` attributes are enough for Gmail
and Outlook, which ignore or strip ``<style>``. No CSS parser dependency.
"""

from __future__ import annotations

import re
import textwrap

from bs4 import BeautifulSoup, NavigableString, Tag

FONT = "font-family:Arial,Helvetica,sans-serif;"
TEXT_COLOUR = "color:#1f2933;"

#: selector -> declarations, applied in order; a template's own style="" wins (it comes last).
EMAIL_STYLES: list[tuple[str, str]] = [
    ("p", f"margin:0 0 16px 0;{FONT}font-size:16px;line-height:24px;{TEXT_COLOUR}"),
    ("h2", f"margin:24px 0 12px 0;{FONT}font-size:20px;line-height:26px;{TEXT_COLOUR}"),
    ("h3", f"margin:24px 0 12px 0;{FONT}font-size:18px;line-height:24px;{TEXT_COLOUR}"),
    ("h4", f"margin:20px 0 8px 0;{FONT}font-size:16px;line-height:22px;{TEXT_COLOUR}"),
    ("ul, ol", f"margin:0 0 16px 0;padding:0 0 0 24px;{FONT}font-size:16px;{TEXT_COLOUR}"),
    ("li", "margin:0 0 6px 0;line-height:24px;"),
    ("a", "color:#0b5cad;text-decoration:underline;"),
    (
        "table.assemblies",
        f"width:100%;border-collapse:collapse;margin:0 0 20px 0;{FONT}font-size:14px;",
    ),
    (
        "table.assemblies th",
        "text-align:left;padding:6px 8px;line-height:20px;border-bottom:2px solid #1f2933;"
        "background-color:#f1f4f7;font-weight:bold;",
    ),
    (
        "table.assemblies td",
        f"padding:6px 8px;line-height:20px;border-bottom:1px solid #d6dde3;{TEXT_COLOUR}",
    ),
    (".signature p", "margin:0 0 4px 0;"),
    (".signature img", "display:block;max-width:220px;height:auto;border:0;margin:8px 0;"),
]


def inline_styles(fragment: str) -> str:
    """``fragment`` with ``EMAIL_STYLES`` copied into ``style`` attributes; drops data-* attrs."""
    soup = BeautifulSoup(fragment, "html.parser")
    for element in soup.find_all(True):
        for attribute in [a for a in element.attrs if a.startswith("data-")]:
            del element[attribute]
    applied: dict[int, list[str]] = {}
    elements: dict[int, Tag] = {}
    for selector, declarations in EMAIL_STYLES:
        for element in soup.select(selector):
            applied.setdefault(id(element), []).append(declarations)
            elements[id(element)] = element
    for key, element in elements.items():
        own = element.get("style", "")
        element["style"] = "".join(applied[key]) + own
    return str(soup)


# --- HTML -> plain text ---------------------------------------------------------------------

BLOCK_TAGS = {"p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "table", "section"}
WIDTH = 72


def html_to_text(fragment: str) -> str:
    """Readable plain text of a notice's HTML: paragraphs, headings, lists, links, tables."""
    soup = BeautifulSoup(fragment, "html.parser")
    blocks = _blocks(soup)
    return "\n\n".join(block for block in blocks if block.strip()).strip()


def _blocks(node: Tag) -> list[str]:
    blocks: list[str] = []
    inline: list[str] = []

    def flush() -> None:
        text = "".join(inline)
        if text.strip():
            blocks.append(_wrap(text))
        inline.clear()

    for child in node.children:
        if isinstance(child, NavigableString):
            inline.append(_collapse(str(child)))
        elif not isinstance(child, Tag):
            continue
        elif child.name in ("ul", "ol"):
            flush()
            blocks.append(_list(child))
        elif child.name == "table":
            flush()
            blocks.append(table_from_html(child))
        elif child.name in ("h1", "h2", "h3", "h4", "h5", "h6"):
            flush()
            title = " ".join(_inline_text(child).split())
            blocks.append(f"{title}\n{'-' * min(len(title), WIDTH)}")
        elif child.name in BLOCK_TAGS:
            flush()
            inner = _blocks(child)
            # A signature reads as consecutive lines, not as paragraphs.
            if "signature" in (child.get("class") or []):
                inner = ["\n".join(inner)] if inner else []
            blocks.extend(inner)
        elif child.name == "img":
            continue
        else:
            inline.append(_inline_text(child))
    flush()
    return blocks


def _collapse(text: str) -> str:
    """Whitespace as a browser shows it: any run of it is one space."""
    return re.sub(r"\s+", " ", text)


def _inline_text(node: Tag) -> str:
    if node.name == "br":
        return "\n"
    parts = []
    for child in node.children:
        if isinstance(child, NavigableString):
            parts.append(_collapse(str(child)))
        elif isinstance(child, Tag):
            parts.append(_inline_text(child))
    text = "".join(parts)
    if node.name == "a" and node.get("href"):
        href = node["href"]
        label = " ".join(text.split())
        if href.startswith("mailto:") and label == href[7:]:
            return label
        return label if label == href else f"{label} ({href})"
    return text


def _wrap(text: str) -> str:
    lines = []
    for line in text.split("\n"):
        line = " ".join(line.split())
        lines.append(textwrap.fill(line, WIDTH, break_long_words=False) if line else "")
    return "\n".join(lines)


def _list(node: Tag) -> str:
    items = []
    for number, item in enumerate(node.find_all("li", recursive=False), start=1):
        bullet = f"{number}. " if node.name == "ol" else "- "
        text = " ".join(_inline_text(item).split())
        wrapped = textwrap.fill(
            text,
            WIDTH,
            initial_indent=bullet,
            subsequent_indent=" " * len(bullet),
            break_long_words=False,
        )
        items.append(wrapped)
    return "\n".join(items)


def text_table(headers: list[str], rows: list[list[str]]) -> str:
    """An aligned plain-text table, e.g. for the assemblies of a notice."""
    columns = [headers, *rows]
    widths = [max(len(str(row[i])) for row in columns) for i in range(len(headers))]

    def line(cells: list[str]) -> str:
        return "  ".join(str(cell).ljust(width) for cell, width in zip(cells, widths, strict=True))

    out = [line(headers).rstrip(), "  ".join("-" * width for width in widths)]
    out.extend(line(row).rstrip() for row in rows)
    return "\n".join(out)


def table_from_html(table: Tag) -> str:
    headers = [" ".join(th.get_text(" ").split()) for th in table.find_all("th")]
    rows = []
    for tr in table.find_all("tr"):
        cells = [" ".join(td.get_text(" ").split()) for td in tr.find_all("td")]
        if cells:
            rows.append(cells)
    if headers and all(len(row) == len(headers) for row in rows):
        return text_table(headers, rows)
    return "\n".join("  ".join(row) for row in rows)
