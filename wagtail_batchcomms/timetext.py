"""How messages to the admin say a moment ("14:05" today) and a period ("5 minutes")."""

from __future__ import annotations

import datetime

from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import ngettext


def clock(moment: datetime.datetime | None) -> str:
    """A moment as the admin's wall clock: "14:05" today, "June 3, 2026, 14:05" before."""
    if moment is None:
        return ""
    local = timezone.localtime(moment)
    time = date_format(local, "H:i")
    if local.date() == timezone.localdate():
        return time
    return f"{date_format(local.date())}, {time}"


def duration(seconds: int) -> str:
    """300 -> "5 minutes", 90 -> "90 seconds"."""
    if seconds % 60 == 0:
        minutes = seconds // 60
        return ngettext("%(n)s minute", "%(n)s minutes", minutes) % {"n": minutes}
    return ngettext("%(n)s second", "%(n)s seconds", seconds) % {"n": seconds}
