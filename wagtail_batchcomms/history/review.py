"""The history entry of releasing a batch of automatic notices held for review
(``batches.review`` writes it)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from wagtail.log_actions import LogFormatter

from . import RELEASE
from .batches import number


class ReleaseFormatter(LogFormatter):
    label = _("Release reviewed notices")

    def format_message(self, log_entry):
        try:
            queued = log_entry.data["queued"]
        except KeyError:
            return _("Reviewed and released")
        return ngettext(
            "Reviewed and released: %(n)s email queued",
            "Reviewed and released: %(n)s emails queued",
            int(queued or 0),
        ) % {"n": number(queued)}


FORMATTERS: dict[str, type[LogFormatter]] = {RELEASE: ReleaseFormatter}
