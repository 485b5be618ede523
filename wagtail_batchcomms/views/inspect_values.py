"""Field values on the app's inspect pages as an admin reads them.

Wagtail's generic inspect template prints a value as Python would: ``True``/``False``,
``None``, a datetime in UTC (its ``localize`` filter formats without converting), and a
label made from the field's name. ``ReadableInspectMixin`` turns them into Yes/No, a dash,
the date and time in the admin's time zone, and links to related objects the user may open.
"""

from __future__ import annotations

import datetime

from django.db.models import Model
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy as _

from .columns import admin_url_for

#: What an empty value shows (Wagtail's listings show the same for an empty cell).
EMPTY = "—"


def local_datetime(value: datetime.datetime) -> SafeString:
    """A moment in the current (the admin's) time zone, as a ``<time>`` element."""
    local = timezone.localtime(value) if timezone.is_aware(value) else value
    return format_html(
        '<time datetime="{}">{}</time>', value.isoformat(), date_format(local, "DATETIME_FORMAT")
    )


def lines(values) -> SafeString | str:
    """An address (a list of lines) one line under the other."""
    values = [value for value in values if value]
    if not values:
        return EMPTY
    return format_html_join(mark_safe("<br>"), "{}", ((value,) for value in values))


def readable(value, user=None):
    """``value`` as the page shows it; a model instance links to its admin page."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return EMPTY
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, datetime.datetime):
        return local_datetime(value)
    if isinstance(value, datetime.date):
        return format_html('<time datetime="{}">{}</time>', value.isoformat(), date_format(value))
    if isinstance(value, (list, tuple)):
        return lines(value)
    if isinstance(value, Model):
        url = admin_url_for(user, value)
        return format_html('<a href="{}">{}</a>', url, value) if url else str(value)
    return value


class ReadableInspectMixin:
    """For ``InspectView`` subclasses: readable values, and ``field_labels`` for fields whose
    model label is not what an admin calls them."""

    field_labels: dict[str, str] = {}

    def get_field_label(self, field_name, field):
        if field_name in self.field_labels:
            return self.field_labels[field_name]
        return super().get_field_label(field_name, field)

    def get_field_display_value(self, field_name, field):
        value = super().get_field_display_value(field_name, field)
        return readable(value, getattr(self.request, "user", None))
