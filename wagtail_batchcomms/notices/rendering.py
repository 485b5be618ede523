"""Rendering notices: the email (HTML + text) and the letter of each communication.

The functions the rest of the app renders with:

- ``render_communication(communication, *, email=True, letter=True) -> RenderedNotice``
- ``render_communications(communications, *, email=True, letter=True) -> list[RenderedNotice]``
  in the same order, with a constant number of queries whatever the number of communications;
  ``letter=False`` skips the letter part when only the email is needed (and vice versa).
- ``letters_html(communications) -> str``: ONE HTML document holding one letter per
  communication (``letters.chunks`` passes ``RENDER_GROUP`` at a time), with the print
  stylesheet inlined (``letter_html``), ready for
  ``weasyprint.HTML(string=..., url_fetcher=...)``. Every letter starts on a new page
  and numbers its own pages ("Page 1 of 2"). Images (logo, signature) are referenced by the
  storage URL of the original file (``/media/original_images/...`` with the default storage),
  which the letters URL fetcher resolves from storage.
- ``preview_email_html(communication) -> str``: the email HTML document as it will be sent.

Previews of a template for editors are ``previews``, which renders through ``render_notice``.

A communication renders with its batch's PINNED revision (``batch.template_revision``), never
the template's current draft; a one-time communication (no batch) with the content it was
recorded with (``stored_notice``). ``RenderError`` (from ``exceptions``: a message fit for the
admin and for ``Communication.error``) is raised when a notice cannot render, e.g. it exceeds
the sandbox's limits or a merge field is missing.
"""

from __future__ import annotations

import datetime
import logging
import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import dateformat, timezone
from django.utils.html import linebreaks
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from jinja2 import TemplateError
from wagtail.models import Revision
from wagtail.rich_text import expand_db_html

from ..exceptions import RenderError
from ..models.blocks import ASSEMBLY_COLUMNS, DEFAULT_COLUMNS
from . import letter_html
from .email_html import BLOCK_STYLES, html_to_text, inline_styles
from .language.compiler import render
from .language.limits import render_budget
from .language.rich_text import clean_rich_text_html, paragraph_source
from .merge_data import build_merge_data_many, letterhead_data, load_communications

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RenderedNotice:
    """One notice rendered for one recipient.

    ``subject``: plain text, one line. ``html``: a complete email HTML document with inlined
    styles. ``text``: the plain-text alternative. ``letter_html_fragment``: the letter (address
    block, date, body, table, signature) as a ``<section class="letter">`` for
    ``letter_html.document()``; ``letter_id`` names it (a communication's pk).
    """

    subject: str
    html: str
    text: str
    letter_html_fragment: str
    letter_id: str = "preview"


def build_merge_data(communication) -> dict:
    """The plain data (dicts, lists, str, date) a template sees for ``communication``.

    Keys: ``contact``, ``location``, ``batch``, ``assemblies``, ``assembly``,
    ``organisation``, ``today`` (see ``merge_fields.MERGE_FIELDS``). Never model instances.
    """
    return build_merge_data_many([communication])[0]


#: (revision id, created at) -> the template object; revisions never change. The creation time
#: is part of the key so that a revision id reused by the database (SQLite may, after deletes
#: or rolled-back tests) never serves another revision's content.
_pinned: OrderedDict[tuple[int, object], object] = OrderedDict()
_PINNED_MAX = 64
_pinned_lock = threading.Lock()  # a threaded web server renders previews concurrently


def pinned_templates(revision_ids: Iterable[int]) -> dict[int, object]:
    """``{revision id: NoticeTemplate as it was in that revision}`` in one small query; the
    objects are cached per process. Raises ``RenderError`` for a revision that is gone."""
    ids = {revision_id for revision_id in revision_ids if revision_id is not None}
    stamps = dict(Revision.objects.filter(pk__in=ids).values_list("pk", "created_at"))
    missing = ids - set(stamps)
    if missing:
        raise RenderError(
            _("The template revision the batch was generated from no longer exists (%(ids)s).")
            % {"ids": ", ".join(map(str, sorted(missing)))}
        )
    result = {}
    for revision_id, created_at in stamps.items():
        key = (revision_id, created_at)
        with _pinned_lock:
            template = _pinned.get(key)
        if template is None:
            revision = Revision.objects.select_related("content_type").get(pk=revision_id)
            template = revision.as_object()
        with _pinned_lock:
            _pinned[key] = template
            _pinned.move_to_end(key)
            while len(_pinned) > _PINNED_MAX:
                _pinned.popitem(last=False)
        result[revision_id] = template
    return result


def render_notice(
    template,
    data: dict,
    *,
    letterhead: dict | None = None,
    letter_id: object = "preview",
    email: bool = True,
    letter: bool = True,
) -> RenderedNotice:
    """Render ``template`` (a ``NoticeTemplate``, e.g. a pinned revision's object) over ``data``.

    ``letterhead`` is ``letterhead_data()`` (loaded when not given; pass it when rendering many).
    ``email=False`` or ``letter=False`` skip that part (left ""): letters need no email HTML.
    All parts of the notice share one sandbox budget.
    """
    if letterhead is None:
        letterhead = letterhead_data()
    media = [medium for medium, wanted in (("email", email), ("letter", letter)) if wanted]
    try:
        with render_budget():
            subject = " ".join(render(template.subject or "", data, html=False).split())
            bodies = _render_body(template, data, letterhead, media)
    except (TemplateError, RecursionError) as error:
        raise RenderError(
            _("The notice could not be rendered: %(error)s")
            % {"error": getattr(error, "message", None) or str(error) or type(error).__name__}
        ) from error
    return _wrap(subject, bodies, data, letterhead, letter_id)


def render_free_text(
    subject: str,
    text: str,
    data: dict,
    *,
    letterhead: dict | None = None,
    letter_id: object = "preview",
    email: bool = True,
    letter: bool = True,
) -> RenderedNotice:
    """A notice an admin wrote for one recipient (Create Log's free text), in the same
    letterhead email and letter layouts as a template's notice.

    ``text`` is plain text, never template source: it is escaped and its blank lines make
    paragraphs, so nothing typed can reach the template language. ``data`` is the merge
    data of the recipient (the letter's address block).
    """
    if letterhead is None:
        letterhead = letterhead_data()
    body = linebreaks(text.strip(), autoescape=True)
    bodies = {}
    if email:
        bodies["email"] = inline_styles(body)
    if letter:
        bodies["letter"] = body
    return _wrap(" ".join(subject.split()), bodies, data, letterhead, letter_id)


def _wrap(
    subject: str, bodies: dict[str, str], data: dict, letterhead: dict, letter_id: object
) -> RenderedNotice:
    """The email document, its text part and the letter section around rendered bodies
    (``{"email": html, "letter": html}``; a medium left out is left "")."""
    email, letter = "email" in bodies, "letter" in bodies
    reference = _reference(data)
    email_html = text = letter_fragment = ""
    if email:
        email_html = render_to_string(
            "wagtail_batchcomms/emails/notice.html",
            {
                "subject": subject,
                "preheader": subject,
                "body_html": bodies["email"],
                "letterhead": letterhead,
                "reference": reference,
                "language_code": get_language() or "en",
            },
        )
        text = _text_part(bodies["email"], letterhead, reference)
    if letter:
        letter_fragment = render_to_string(
            "wagtail_batchcomms/letters/letter.html",
            {
                "page_name": letter_html.page_name(letter_id),
                "subject": subject,
                "reference": reference,
                "body_html": bodies["letter"],
                "letterhead": letterhead,
                "contact": data.get("contact", {}),
                "today": data.get("today") or timezone.localdate(),
            },
        )
    return RenderedNotice(subject, email_html, text, letter_fragment, str(letter_id))


def _render_body(template, data: dict, letterhead: dict, media: list[str]) -> dict[str, str]:
    """The body's blocks as HTML per medium ("email", "letter"): images and links differ."""
    parts: dict[str, list[str]] = {medium: [] for medium in media}
    for block in template.body or []:
        if block.block_type == "paragraph":
            html = clean_rich_text_html(
                expand_db_html(render(paragraph_source(block.value), data, html=True))
            )
            for medium in media:
                parts[medium].append(
                    inline_styles(_absolute_links(html)) if medium == "email" else html
                )
        elif block.block_type == "assemblies_table":
            for medium in media:
                parts[medium].append(
                    _assemblies_table(block.value, data.get("assemblies") or [], medium)
                )
        elif block.block_type == "signature":
            for medium in media:
                parts[medium].append(_signature(block.value, letterhead, medium))
    return {medium: "\n".join(blocks) for medium, blocks in parts.items()}


def _assemblies_table(value, assemblies: list[dict], medium: str) -> str:
    columns = [c for c in (value.get("columns") or DEFAULT_COLUMNS) if c in ASSEMBLY_COLUMNS]
    rows = [[_cell(assembly.get(column)) for column in columns] for assembly in assemblies]
    return render_to_string(
        "wagtail_batchcomms/blocks/assemblies_table.html",
        {
            "heading": value.get("heading"),
            "labels": [ASSEMBLY_COLUMNS[column] for column in columns],
            "rows": rows,
            "empty_label": _("No assemblies"),
            "styles": BLOCK_STYLES if medium == "email" else None,
        },
    )


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime.date):
        return dateformat.format(value, "M j, Y")
    return str(value)


def _signature(value, letterhead: dict, medium: str) -> str:
    use_letterhead = value.get("use_letterhead")
    name = value.get("name") or (letterhead.get("signature_name") if use_letterhead else "")
    title = value.get("title") or (letterhead.get("signature_title") if use_letterhead else "")
    image = letterhead.get(f"signature_{medium}_url") if use_letterhead else ""
    return render_to_string(
        "wagtail_batchcomms/blocks/signature.html",
        {
            "closing": value.get("closing"),
            "name": name,
            "title": title,
            "organisation": letterhead.get("name") if use_letterhead else "",
            "image_url": image,
            "styles": BLOCK_STYLES if medium == "email" else None,
        },
    )


def _reference(data: dict) -> str:
    location = data.get("location") or {}
    parts = [location.get("account_number"), location.get("name") or location.get("address")]
    parts = [part for part in parts if part]
    if not parts:
        return ""
    return _("Account %(account)s") % {"account": " · ".join(parts)}


def _absolute_links(html: str) -> str:
    """Site-relative links (page links of rich text) made absolute: an email has no site."""
    base = (getattr(settings, "WAGTAILADMIN_BASE_URL", "") or "").rstrip("/")
    if not base:
        return html
    return html.replace('href="/', f'href="{base}/')


def _text_part(body_html: str, letterhead: dict, reference: str) -> str:
    parts = [html_to_text(body_html)]
    footer = [letterhead.get("name", "")]
    footer += letterhead.get("address_lines", [])
    footer += [letterhead.get(key, "") for key in ("phone", "email", "website")]
    footer = [line for line in footer if line]
    if reference:
        parts.append(reference)
    if footer:
        parts.append("-- \n" + "\n".join(footer))
    if letterhead.get("footer_text"):
        parts.append(letterhead["footer_text"].strip())
    return "\n\n".join(parts) + "\n"


# --- communications -------------------------------------------------------------------------


def _template_for(communication, templates: dict[int, object]):
    revision_id = communication.batch.template_revision_id
    if revision_id is None:
        raise RenderError(_("The batch has no pinned template revision; generate it first."))
    return templates[revision_id]


def stored_notice(communication) -> RenderedNotice:
    """A one-time communication's notice (Create Log: no batch) as it was composed.

    Its content was rendered once when it was recorded (``logs``) and kept on the row:
    ``subject``, ``body_text`` and ``body_html``, which holds the email's HTML document for
    an email and the letter's ``<section class="letter">`` for a letter. Sending or printing
    it later uses exactly that content, as a batch uses its pinned revision.
    """
    if not (communication.body_html or communication.body_text):
        raise RenderError(_("This one-time communication has no message to send or print."))
    is_letter = communication.channel == "letter"
    return RenderedNotice(
        subject=communication.subject,
        html="" if is_letter else communication.body_html,
        text=communication.body_text,
        letter_html_fragment=communication.body_html if is_letter else "",
        letter_id=str(communication.pk),
    )


def _render_many(
    communications: Iterable, *, email: bool = True, letter: bool = True
) -> tuple[list[RenderedNotice], dict]:
    items = load_communications(communications)
    letterhead = letterhead_data()
    in_batches = [item for item in items if item.batch_id is not None]
    datas = iter(build_merge_data_many(in_batches, letterhead=letterhead) if in_batches else [])
    templates = pinned_templates(item.batch.template_revision_id for item in in_batches)
    notices = [
        render_notice(
            _template_for(item, templates),
            next(datas),
            letterhead=letterhead,
            letter_id=item.pk,
            email=email,
            letter=letter,
        )
        if item.batch_id is not None
        else stored_notice(item)
        for item in items
    ]
    return notices, letterhead


def render_communications(
    communications: Iterable, *, email: bool = True, letter: bool = True
) -> list[RenderedNotice]:
    """Render many communications (instances or pks), in order, with a constant number of
    queries: the communications, their assemblies, the letterhead, and each pinned revision
    once per process. Raises ``RenderError`` for the first that cannot render.

    ``letter=False`` (sending emails) or ``email=False`` skip the part not needed ("")."""
    return _render_many(communications, email=email, letter=letter)[0]


def render_communication(
    communication, *, email: bool = True, letter: bool = True
) -> RenderedNotice:
    """Render ``communication`` with its batch's pinned template revision."""
    return render_communications([communication], email=email, letter=letter)[0]


def letters_html(communications: Iterable) -> str:
    """One print-ready HTML document with one letter per communication, in order."""
    notices, letterhead = _render_many(communications, email=False)
    return letter_html.document(
        [(notice.letter_id, notice.letter_html_fragment) for notice in notices],
        footer_text=letterhead.get("footer_text", ""),
    )


def preview_email_html(communication) -> str:
    """The email HTML document of ``communication`` as it will be sent."""
    return render_communication(communication, letter=False).html
