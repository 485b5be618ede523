"""The history entries of sending emails (``emails.sending`` and ``emails.send_loop`` write
them): label and sentence of each."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from wagtail.log_actions import LogFormatter

from . import (
    DELIVERY_EVENT,
    DELIVERY_UNKNOWN,
    EMAIL_FLAG_CLEARED,
    EMAIL_FLAGGED,
    PARTIALLY_SENT,
    SEND,
    SEND_RETRY,
    SEND_STOPPED,
)
from .batches import number


def _emails(count) -> str:
    return ngettext("%(n)s email", "%(n)s emails", int(count or 0)) % {"n": number(count)}


def copies_sentence(copies) -> str:
    """ "Every email also copied to a, b (CC) and c (BCC). Not copied, outside the allowed
    domains: d." from ``notices.copies.Copies.as_log_data()``; "" without copies."""
    if not isinstance(copies, dict):
        return ""
    parts = []
    cc, bcc, refused = copies.get("cc") or [], copies.get("bcc") or [], copies.get("refused")
    if cc or bcc:
        targets = [f"{', '.join(cc)} (CC)"] if cc else []
        targets += [f"{', '.join(bcc)} (BCC)"] if bcc else []
        parts.append(
            _("Every email also copied to %(targets)s.") % {"targets": _(" and ").join(targets)}
        )
    if refused:
        parts.append(
            _("Not copied, outside the allowed domains: %(addresses)s.")
            % {"addresses": ", ".join(refused)}
        )
    return " ".join(str(part) for part in parts)


class SendFormatter(LogFormatter):
    label = _("Send emails")

    def format_message(self, log_entry):
        data = log_entry.data
        if "queued" not in data:
            return _("Started sending emails")
        if data.get("retried"):
            message = _("Started sending: %(queued)s queued, %(retried)s of them retried") % {
                "queued": _emails(data["queued"]),
                "retried": number(data["retried"]),
            }
        else:
            message = _("Started sending: %(queued)s queued") % {"queued": _emails(data["queued"])}
        copies = copies_sentence(data.get("copies"))
        return f"{message}. {copies}" if copies else message


class SendRetryFormatter(LogFormatter):
    label = _("Retry emails")

    def format_message(self, log_entry):
        data = log_entry.data
        if "count" not in data:
            return _("Emails put back in the queue")
        return _(
            "%(emails)s put back in the queue (%(failed)s failed, %(unknown)s delivery unknown)"
        ) % {
            "emails": _emails(data["count"]),
            "failed": number(data.get("failed", 0)),
            "unknown": number(data.get("unknown", 0)),
        }


class PartiallySentFormatter(LogFormatter):
    label = _("Partially sent")

    def format_message(self, log_entry):
        return _("The first email was sent: the batch is Partially sent")


class SendStoppedFormatter(LogFormatter):
    label = _("Sending stopped")

    def format_message(self, log_entry):
        error = log_entry.data.get("error")
        if error and log_entry.data.get("crashed"):
            # The send task failed unexpectedly (not the mail server refusing connections).
            return _("Sending stopped: %(error)s") % {"error": error}
        if error:
            return _("Sending stopped, the rest stays queued: %(error)s") % {"error": error}
        return _("Sending stopped, the rest stays queued")


class DeliveryUnknownFormatter(LogFormatter):
    label = _("Delivery unknown")

    def format_message(self, log_entry):
        return _(
            "%(emails)s marked delivery unknown: the worker sending them stopped before "
            "recording the outcome. They are not sent again unless retried."
        ) % {"emails": _emails(log_entry.data.get("count", 0))}


_EVENT_WORDS = {
    "bounced": _("Email bounced"),
    "complained": _("Recipient marked the email as spam"),
    "rejected": _("The provider rejected the email"),
    "failed": _("The provider could not send the email"),
}


def _event_sentence(data: dict, fallback: str) -> str:
    words = _EVENT_WORDS.get(data.get("event", ""), fallback)
    details = [str(part) for part in (data.get("recipient"), data.get("description")) if part]
    return f"{words}: {'; '.join(details)}" if details else str(words)


class DeliveryEventFormatter(LogFormatter):
    label = _("Provider report")

    def format_message(self, log_entry):
        return _event_sentence(log_entry.data, _("The provider reported a problem"))


class EmailFlaggedFormatter(LogFormatter):
    label = _("Email flagged as bounced")

    def format_message(self, log_entry):
        sentence = _event_sentence(log_entry.data, _("Email bounced"))
        return _("%(sentence)s. Notices go by letter where allowed until the flag is cleared") % {
            "sentence": sentence
        }


class EmailFlagClearedFormatter(LogFormatter):
    label = _("Email flag cleared")

    def format_message(self, log_entry):
        if log_entry.data.get("by") == "email edited":
            return _("Bounced-email flag cleared: the email address was edited")
        return _("Bounced-email flag cleared")


FORMATTERS: dict[str, type[LogFormatter]] = {
    DELIVERY_EVENT: DeliveryEventFormatter,
    EMAIL_FLAGGED: EmailFlaggedFormatter,
    EMAIL_FLAG_CLEARED: EmailFlagClearedFormatter,
    SEND: SendFormatter,
    SEND_RETRY: SendRetryFormatter,
    PARTIALLY_SENT: PartiallySentFormatter,
    SEND_STOPPED: SendStoppedFormatter,
    DELIVERY_UNKNOWN: DeliveryUnknownFormatter,
}
