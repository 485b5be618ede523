"""The history entries of automatic notices (``rules.runs`` writes them on the batches it
makes): label and sentence of each."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from wagtail.log_actions import LogFormatter

from . import AUTOMATIC_RUN
from .batches import number


class AutomaticRunFormatter(LogFormatter):
    label = _("Automatic notices")

    def format_message(self, log_entry):
        data = log_entry.data or {}
        try:
            text = _("Made by the automatic run of %(date)s for %(type)s") % {
                "date": data["run_date"],
                "type": data["type"],
            }
        except KeyError:
            return _("Made by an automatic run")
        if "assemblies" in data:
            text += ", " + ngettext(
                "%(n)s assembly", "%(n)s assemblies", int(data["assemblies"] or 0)
            ) % {"n": number(data["assemblies"])}
        if data.get("awaiting_review"):
            text += _("; held for review")
        return text


FORMATTERS: dict[str, type[LogFormatter]] = {AUTOMATIC_RUN: AutomaticRunFormatter}
