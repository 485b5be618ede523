"""The rich text of a paragraph block, in and out of the template language.

In: ``paragraph_source`` turns a paragraph's stored rich text into Jinja source
(``prepare_rich_text`` undoes the editor's markup inside ``{{ }}`` and ``{% %}``). Out:
``clean_rich_text_html`` brings a rendered paragraph down to the tags and attributes its rich
text features allow, whatever the template put together.
"""

from __future__ import annotations

import html
import re
from typing import Any

from wagtail.whitelist import DEFAULT_ELEMENT_RULES, check_url

from ...blocks import PARAGRAPH_FEATURES


def prepare_rich_text(source: str) -> str:
    """Rich text HTML -> Jinja source.

    The editor stores ``{{ x|date("j F") }}`` as ``{{ x|date(&quot;j F&quot;) }}`` and may put
    markup or non-breaking spaces inside the braces; inside ``{{ }}``/``{% %}`` those are undone.
    A newline after each block element makes Jinja's line numbers count the paragraph's lines.
    """
    source = re.sub(r"(</(?:p|li|h[1-6]|ul|ol|blockquote)>|<br\s*/?>)", r"\1\n", source)

    def clean(match: re.Match) -> str:
        inner = re.sub(r"<[^>]*>", "", match.group(0))
        return html.unescape(inner).replace("\xa0", " ")

    return re.sub(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", clean, source, flags=re.DOTALL)


#: The tags each rich text feature of Wagtail writes (its contentstate converter's rules).
FEATURE_TAGS: dict[str, tuple[str, ...]] = {
    "bold": ("b", "strong"),
    "italic": ("i", "em"),
    "link": ("a",),
    "ol": ("ol", "li"),
    "ul": ("ul", "li"),
    **{f"h{n}": (f"h{n}",) for n in range(1, 7)},
    "hr": ("hr",),
    "superscript": ("sup",),
    "subscript": ("sub",),
}

#: Tags and attributes a rendered paragraph may keep: what the paragraph block's rich text
#: features allow (within Wagtail's own whitelist), links only to the URL schemes Wagtail
#: allows.
RICH_TEXT_TAGS = frozenset(
    tag
    for tag in ("p", "br", *(t for f in PARAGRAPH_FEATURES for t in FEATURE_TAGS.get(f, ())))
    if tag in DEFAULT_ELEMENT_RULES
)
RICH_TEXT_ATTRIBUTES = {"a": {"href"}}
_URL_ATTRIBUTES = frozenset({"href", "src"})
_TAG = re.compile(
    r"""<(/?)([a-zA-Z][a-zA-Z0-9]*)"""
    r"""((?:\s+[a-zA-Z_:][-\w:.]*(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'=<>`]+))?)*)\s*(/?)>"""
    r"""|<"""
)
_ATTRIBUTE = re.compile(
    r"""([a-zA-Z_:][-\w:.]*)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?"""
)


def _clean_tag(match: re.Match) -> str:
    name = (match.group(2) or "").lower()
    if name not in RICH_TEXT_TAGS:
        return html.escape(match.group(0))  # shown as text, as {{ value }} would show it
    if match.group(1):
        return f"</{name}>"
    allowed = RICH_TEXT_ATTRIBUTES.get(name, set())
    attributes = []
    for attribute in _ATTRIBUTE.finditer(match.group(3)):
        key = attribute.group(1).lower()
        value = next((v for v in attribute.group(2, 3, 4) if v is not None), None)
        if value is None or not (key in allowed or key == "data-block-key"):
            continue
        value = html.unescape(value)
        if key in _URL_ATTRIBUTES and check_url(value) is None:
            continue  # javascript:, data: ... (Wagtail's check, on the unescaped URL)
        attributes.append(f' {key}="{html.escape(value)}"')
    return f"<{name}{''.join(attributes)}{match.group(4)}>"


def clean_rich_text_html(fragment: str) -> str:
    """A rendered paragraph down to what its rich text allows: other tags are escaped
    (shown as text), other attributes and URLs with other schemes dropped, and every ``<``
    that does not start an allowed tag escaped. Whatever a template put together from pieces
    of the editor's markup, the email and the letter get no more than the editor could write.
    A regular expression, not a DOM: it runs for every paragraph of every notice."""
    return _TAG.sub(_clean_tag, fragment)


def paragraph_source(value: Any) -> str:
    """The Jinja source of a paragraph block's value (its rich text, prepared)."""
    return prepare_rich_text(getattr(value, "source", str(value)))
