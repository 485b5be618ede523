"""History entries of register imports (``imports.runs`` and ``imports.recovery`` write them
on the ``ImportRun``)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from wagtail.log_actions import LogFormatter

from . import IMPORT_CHECKED, IMPORT_DONE, IMPORT_FAILED, IMPORT_REQUEUED, IMPORT_UPLOADED
from .batches import number


def _counts(data: dict) -> str:
    rows = data.get("rows") or {}
    return _(
        "%(rows)s rows: %(created)s created, %(updated)s updated, %(unchanged)s unchanged, "
        "%(errors)s with errors"
    ) % {
        "rows": number(sum(rows.values())),
        "created": number(rows.get("created", 0)),
        "updated": number(rows.get("updated", 0)),
        "unchanged": number(rows.get("unchanged", 0)),
        "errors": number(rows.get("error", 0)),
    }


class UploadedFormatter(LogFormatter):
    label = _("Import uploaded")

    def format_message(self, log_entry):
        return _("Uploaded %(name)s") % {"name": log_entry.data.get("file", "")}


class CheckedFormatter(LogFormatter):
    label = _("Import checked")

    def format_message(self, log_entry):
        return _("Dry run: %(counts)s") % {"counts": _counts(log_entry.data)}


class DoneFormatter(LogFormatter):
    label = _("Register imported")

    def format_message(self, log_entry):
        return _("Imported: %(counts)s") % {"counts": _counts(log_entry.data)}


class FailedFormatter(LogFormatter):
    label = _("Import failed")

    def format_message(self, log_entry):
        return _("The import stopped: %(error)s") % {"error": log_entry.data.get("error", "")}


class RequeuedFormatter(LogFormatter):
    label = _("Import queued again")

    def format_message(self, log_entry):
        data = log_entry.data
        if data.get("reason") == "taken over":
            if data.get("step") == "importing":
                return _(
                    "The worker writing the import stopped; its task, delivered again, resumed it"
                )
            return _(
                "The worker checking the file stopped; its task, delivered again, restarted it"
            )
        if data.get("step") == "importing":
            if data.get("reason") == "stopped":
                return _(
                    "The worker writing the import stopped; queued again to resume "
                    "(nothing is written twice)"
                )
            return _("No worker started the import (its task was lost); queued again")
        if data.get("reason") == "stopped":
            return _("The worker checking the file stopped; the dry run was queued again")
        return _("No worker started the dry run (its task was lost); queued again")


FORMATTERS: dict[str, type[LogFormatter]] = {
    IMPORT_UPLOADED: UploadedFormatter,
    IMPORT_CHECKED: CheckedFormatter,
    IMPORT_DONE: DoneFormatter,
    IMPORT_FAILED: FailedFormatter,
    IMPORT_REQUEUED: RequeuedFormatter,
}
