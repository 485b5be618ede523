"""Rendering notices: merge data, email (HTML + text), letter HTML, previews.

CONTRACT (the signatures are fixed; helpers "letters" and "sending" build on them):

- ``render_communication(communication) -> RenderedNotice``
- ``render_communications(communications) -> list[RenderedNotice]`` in the same order, with a
  constant number of queries whatever the number of communications.
- ``letters_html(communications) -> str``: ONE HTML document holding one letter per
  communication (a chunk of up to ``LETTER_CHUNK_SIZE``), with the print stylesheet, ready for
  ``weasyprint.HTML(string=..., base_url=LETTERS_BASE_URL, url_fetcher=...)``. Every letter
  starts on a new page and numbers its own pages ("Page 1 of 2"). Images are referenced by
  ``STATIC_URL``/``MEDIA_URL`` paths (absolute paths such as ``/media/images/logo.png``), which
  the letters URL fetcher resolves from storage.
- ``preview_email_html(communication) -> str``: the complete email HTML document as it will be
  sent (for the batch page's "preview email").
- ``preview_context(template, mode) -> dict``: context for ``NoticeTemplate`` previews.

A communication's template is its batch's PINNED revision (``batch.template_revision``), never
the template's current draft. Rendering raises ``RenderError`` (a message fit for the admin and
for ``Communication.error``) when a template cannot render, e.g. it exceeds the sandbox limits.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RenderedNotice:
    """One notice rendered for one recipient.

    ``subject``: plain text, one line. ``html``: a complete email HTML document with inlined
    styles. ``text``: the plain-text alternative. ``letter_html_fragment``: the letter's body
    (address block, date, body, table, signature) as a ``<section class="letter">`` element to
    be placed in the document made by ``letters_html``.
    """

    subject: str
    html: str
    text: str
    letter_html_fragment: str


class RenderError(Exception):
    """A notice that cannot be rendered; ``str(error)`` names the problem for the admin."""


def build_merge_data(communication) -> dict:
    """The plain data (dicts, lists, str, date) a template sees for ``communication``.

    Keys: ``contact``, ``location``, ``batch``, ``assemblies``, ``assembly``, ``organisation``,
    ``today`` (see ``services.templating.MERGE_FIELDS``). Never model instances.
    """
    raise NotImplementedError


def build_merge_data_many(communications) -> list[dict]:
    """``build_merge_data`` for many communications, in order, with a constant number of
    queries (one for the communications with their locations and batches, one for the
    assemblies, one for the letterhead)."""
    raise NotImplementedError


def render_notice(template, data: dict) -> RenderedNotice:
    """Render ``template`` (a ``NoticeTemplate``, e.g. ``revision.as_object()``) over ``data``."""
    raise NotImplementedError


def render_communication(communication) -> RenderedNotice:
    """Render ``communication`` with its batch's pinned template revision."""
    raise NotImplementedError


def render_communications(communications) -> list[RenderedNotice]:
    """Render many communications (a queryset or list), in order, with constant queries."""
    raise NotImplementedError


def letters_html(communications) -> str:
    """One print-ready HTML document with one letter per communication (see module doc)."""
    raise NotImplementedError


def preview_email_html(communication) -> str:
    """The email HTML document of ``communication`` as it will be sent."""
    raise NotImplementedError


def preview_context(template, mode: str) -> dict:
    """Template context for ``NoticeTemplate`` previews (``mode`` is "email" or "letter")."""
    raise NotImplementedError
