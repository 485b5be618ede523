"""History entries of listing exports (``exports.runs`` writes them on the ``ExportRun``)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from wagtail.log_actions import LogFormatter

from . import EXPORT_DOWNLOADED, EXPORT_EXPIRED, EXPORT_FAILED, EXPORT_READY, EXPORT_REQUESTED
from .batches import number


class RequestedFormatter(LogFormatter):
    label = _("Export requested")

    def format_message(self, log_entry):
        data = log_entry.data
        return _("Export of %(listing)s (%(format)s, %(rows)s rows) requested: %(url)s") % {
            "listing": data.get("listing", ""),
            "format": str(data.get("format", "")).upper(),
            "rows": number(data.get("rows", 0)),
            "url": data.get("url", ""),
        }


class ReadyFormatter(LogFormatter):
    label = _("Export ready")

    def format_message(self, log_entry):
        return _("%(rows)s rows written") % {"rows": number(log_entry.data.get("rows", 0))}


class FailedFormatter(LogFormatter):
    label = _("Export failed")

    def format_message(self, log_entry):
        return _("The export stopped: %(error)s") % {"error": log_entry.data.get("error", "")}


class DownloadedFormatter(LogFormatter):
    label = _("Export downloaded")


class ExpiredFormatter(LogFormatter):
    label = _("Export expired")

    def format_message(self, log_entry):
        return _("The file was removed; the record is kept")


FORMATTERS: dict[str, type[LogFormatter]] = {
    EXPORT_REQUESTED: RequestedFormatter,
    EXPORT_READY: ReadyFormatter,
    EXPORT_FAILED: FailedFormatter,
    EXPORT_DOWNLOADED: DownloadedFormatter,
    EXPORT_EXPIRED: ExpiredFormatter,
}
