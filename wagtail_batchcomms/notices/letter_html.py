"""The letter HTML document: a chunk of letters (or one preview) with the print stylesheet.

The letter's twin of ``email_html``: ``rendering`` names each letter's page (``page_name``) and
puts a chunk's letters into one document (``document``), which ``letters`` turns into a PDF
and previews show on screen.

Each letter is a named page of its own (``L<id>``), so that its margin boxes can say
"Page 1 of 2": ``counter(page)`` is reset on the letter's first page and the total is the page
of an empty marker at the letter's end (``target-counter``). Checked with WeasyPrint and pypdf
in ``tests/test_letterhead.py``/``tests/test_rendering.py``.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources

from django.template.loader import render_to_string
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from ..conf import batchcomms_settings

#: @page size and margins per PAGE_SIZE setting (see the stylesheet for the window geometry).
PAGE_SETUP = {
    "letter": "size: letter; margin: 0.5in 0.75in 0.9in 1in;",
    "a4": "size: A4; margin: 12mm 20mm 22mm 25mm;",
}


@cache
def stylesheet() -> str:
    """The print stylesheet, read from the package (no URL fetch needed)."""
    path = resources.files("wagtail_batchcomms") / "static/wagtail_batchcomms/css/letters.css"
    return path.read_text(encoding="utf-8")


def css_string(text: str) -> str:
    """``text`` as a CSS string literal (quotes, backslashes and newlines escaped)."""
    text = text.replace("\\", "\\\\").replace('"', '\\"')
    text = re.sub(r"\r\n|\r|\n", r"\\A ", text)
    # Nothing that could close the <style> element the rules live in.
    text = text.replace("<", "\\3C ").replace(">", "\\3E ")
    return f'"{text}"'


def page_name(letter_id: object) -> str:
    """The CSS page name of one letter; ids are communication pks (or "preview")."""
    return "L" + re.sub(r"[^A-Za-z0-9_-]", "", str(letter_id))


def _page_number_content(name: str) -> str:
    # Translators can move the numbers: "Page %(page)s of %(pages)s".
    template = _("Page %(page)s of %(pages)s")
    parts = re.split(r"(%\(page\)s|%\(pages\)s)", template)
    content = []
    for part in parts:
        if part == "%(page)s":
            content.append("counter(page)")
        elif part == "%(pages)s":
            content.append(f"target-counter(url(#end-{name}), page)")
        elif part:
            content.append(css_string(part))
    return " ".join(content)


def page_rules(letter_ids: list, footer_text: str = "") -> str:
    """The @page rules of a chunk: page size, footer, and per-letter page numbering."""
    page_size = batchcomms_settings.PAGE_SIZE
    rules = [f"@page {{ {PAGE_SETUP[page_size]} "]
    if footer_text:
        rules.append(f"@bottom-left {{ content: {css_string(footer_text)}; }} ")
    rules.append("}")
    for letter_id in letter_ids:
        name = page_name(letter_id)
        rules.append(
            f"#letter-{name} {{ page: {name}; }}"
            f"@page {name} {{ @bottom-right {{ content: {_page_number_content(name)}; }} }}"
            f"@page {name}:nth(1 of {name}) {{ counter-reset: page 1; }}"
        )
    return "\n".join(rules)


def document(
    fragments: list[tuple[object, str]],
    *,
    footer_text: str = "",
    title: str = "",
    banner: str = "",
    pdf_url: str = "",
) -> str:
    """One HTML document from ``(letter_id, letter_html_fragment)`` pairs.

    ``banner``/``pdf_url``: a note (and a PDF link) shown on screen only, for previews.
    """
    return render_to_string(
        "wagtail_batchcomms/letters/document.html",
        {
            "title": title or _("Letters"),
            "stylesheet": stylesheet(),
            "page_rules": page_rules([letter_id for letter_id, _f in fragments], footer_text),
            "page_size": batchcomms_settings.PAGE_SIZE,
            "fragments": [fragment for _id, fragment in fragments],
            "language_code": get_language() or "en",
            "banner": banner,
            "pdf_url": pdf_url,
        },
    )
