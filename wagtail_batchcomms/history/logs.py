"""The history entries of one-time communications (Create Log: ``logs`` and, for their
email, ``emails.sending``), written on the Communication itself: label and sentence of each."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from wagtail.log_actions import LogFormatter

from . import LOG_LETTER_MADE, LOG_LETTER_MAILED, LOG_RECORDED, ONE_TIME_OUTCOME


class LogRecordedFormatter(LogFormatter):
    label = _("Record communication")

    def format_message(self, log_entry):
        data = log_entry.data
        kind = data.get("kind_label") or _("communication")
        message = _("Recorded: %(kind)s with %(recipient)s") % {
            "kind": kind,
            "recipient": data.get("recipient") or _("a contact"),
        }
        if data.get("send_now") == "email":
            return _("%(message)s; the email is queued to be sent") % {"message": message}
        if data.get("send_now") == "letter":
            return _("%(message)s; a letter PDF is made") % {"message": message}
        return message


class OneTimeOutcomeFormatter(LogFormatter):
    label = _("Email outcome")

    def format_message(self, log_entry):
        data = log_entry.data
        status = data.get("status")
        if status == "sent":
            return _("The email was sent")
        if status == "unknown":
            return _("Delivery unknown: %(error)s") % {"error": data.get("error") or "-"}
        return _("The email was not sent: %(error)s") % {"error": data.get("error") or "-"}


class LetterMadeFormatter(LogFormatter):
    label = _("Letter PDF")

    def format_message(self, log_entry):
        pages = log_entry.data.get("pages")
        if pages:
            return _("Letter PDF made (%(pages)s pages)") % {"pages": pages}
        return _("Letter PDF made")


class LetterMailedFormatter(LogFormatter):
    label = _("Mark as mailed")

    def format_message(self, log_entry):
        return _("The letter was marked as mailed")


FORMATTERS: dict[str, type[LogFormatter]] = {
    LOG_RECORDED: LogRecordedFormatter,
    ONE_TIME_OUTCOME: OneTimeOutcomeFormatter,
    LOG_LETTER_MADE: LetterMadeFormatter,
    LOG_LETTER_MAILED: LetterMailedFormatter,
}
