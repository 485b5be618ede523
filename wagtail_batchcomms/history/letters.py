"""History entries of letter downloads (``letters.downloads``, ``letters.chunks`` and
``views.batches.downloads`` write them)."""

from __future__ import annotations

from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from wagtail.log_actions import LogFormatter

from . import (
    ADDRESS_FLAG_CLEARED,
    ADDRESS_FLAGGED,
    LETTERS_DOWNLOADED,
    LETTERS_EXPIRED,
    LETTERS_FAILED,
    LETTERS_MAILED,
    LETTERS_READY,
    LETTERS_REQUESTED,
    LETTERS_RETURNED,
)
from .batches import number


def _letters(count) -> str:
    return ngettext("%(n)s letter", "%(n)s letters", int(count or 0)) % {"n": number(count)}


class RequestedFormatter(LogFormatter):
    label = _("Letters requested")

    def format_message(self, log_entry):
        count = log_entry.data.get("letters")
        if count is None:
            return _("Requested a letters PDF")
        return _("Requested a PDF of %(letters)s") % {"letters": _letters(count)}


class ReadyFormatter(LogFormatter):
    label = _("Letters ready")

    def format_message(self, log_entry):
        data = log_entry.data
        try:
            return _("Letters PDF ready: %(letters)s, %(pages)s pages, %(size)s") % {
                "letters": _letters(data["letters"]),
                "pages": number(data["pages"]),
                "size": filesizeformat(data["size"]),
            }
        except KeyError:
            return _("Letters PDF ready")


class FailedFormatter(LogFormatter):
    label = _("Letters failed")

    def format_message(self, log_entry):
        error = log_entry.data.get("error")
        if error:
            return _("The letters PDF could not be prepared: %(error)s") % {"error": error}
        return _("The letters PDF could not be prepared")


class MailedFormatter(LogFormatter):
    label = _("Letters mailed")

    def format_message(self, log_entry):
        count = log_entry.data.get("letters")
        if count is None:
            return _("Letters recorded as mailed")
        return _("%(letters)s recorded as mailed") % {"letters": _letters(count)}


class ExpiredFormatter(LogFormatter):
    label = _("Letters expired")

    def format_message(self, log_entry):
        return _("A letters PDF expired and its files were deleted")


class DownloadedFormatter(LogFormatter):
    label = _("Letters downloaded")

    def format_message(self, log_entry):
        data = log_entry.data
        if data.get("kind") == "csv":
            return _("Downloaded the mailing list of %(letters)s") % {
                "letters": _letters(data.get("letters"))
            }
        return _("Downloaded the letters PDF of %(letters)s") % {
            "letters": _letters(data.get("letters"))
        }


class ReturnedFormatter(LogFormatter):
    label = _("Letters returned")

    def format_message(self, log_entry):
        return _("%(letters)s marked as returned mail") % {
            "letters": _letters(log_entry.data.get("letters"))
        }


class AddressFlaggedFormatter(LogFormatter):
    label = _("Mailing address flagged")

    def format_message(self, log_entry):
        return _("Mailing address flagged as bad: a letter came back")


class AddressFlagClearedFormatter(LogFormatter):
    label = _("Mailing address flag cleared")

    def format_message(self, log_entry):
        if log_entry.data.get("by") == "address edited":
            return _("Mailing address flag cleared: the address was edited")
        return _("Mailing address flag cleared")


FORMATTERS: dict[str, type[LogFormatter]] = {
    LETTERS_REQUESTED: RequestedFormatter,
    LETTERS_READY: ReadyFormatter,
    LETTERS_FAILED: FailedFormatter,
    LETTERS_MAILED: MailedFormatter,
    LETTERS_EXPIRED: ExpiredFormatter,
    LETTERS_DOWNLOADED: DownloadedFormatter,
    LETTERS_RETURNED: ReturnedFormatter,
    ADDRESS_FLAGGED: AddressFlaggedFormatter,
    ADDRESS_FLAG_CLEARED: AddressFlagClearedFormatter,
}
