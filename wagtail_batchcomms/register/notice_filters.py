"""The Assemblies listing's "last notice" filters, and how a last notice reads.

A FilterSet base that ``filters.AssemblyFilterSet`` extends, so that everything reusing the
listing's filters (a batch's snapshot, "Add To Batch Communication", the bulk action's
"select all", a Communication Type's scope) gets them too. They read
``Assembly.last_notice_at`` (kept by ``last_notice``) and the automatic notices' claims, so
none joins the communications.
"""

from __future__ import annotations

from datetime import timedelta

import django_filters
from django import forms
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from wagtail.admin.filters import WagtailFilterSet
from wagtail.admin.widgets import BooleanRadioSelect

from ..models import AutomaticNotice, Communication, CommunicationType

NEVER = "never"
#: "Not notified in the last N days" choices (a never-notified assembly is among them too:
#: it was not notified in those days either).
NOT_NOTIFIED_DAYS = (30, 60, 90, 180, 365)
LAST_NOTICE_CHOICES = [(NEVER, _("Never notified"))] + [
    (str(days), _("Not notified in the last %(days)s days") % {"days": days})
    for days in NOT_NOTIFIED_DAYS
]


class LastNoticeFilterSet(WagtailFilterSet):
    """Never notified / not notified in N days, and notified by a Communication Type."""

    last_notice = django_filters.ChoiceFilter(
        label=_("Last notice"),
        choices=LAST_NOTICE_CHOICES,
        widget=forms.RadioSelect,
        empty_label=_("Any"),
        method="filter_last_notice",
    )
    notified_by = django_filters.ModelMultipleChoiceFilter(
        distinct=False,
        label=_("Notified by Communication Type"),
        queryset=CommunicationType.objects.order_by("name"),
        widget=forms.CheckboxSelectMultiple,
        method="filter_notified_by",
        help_text=_("Assemblies that any of these automatic notices went to, in any cycle."),
    )

    def filter_last_notice(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        if not value:
            return queryset
        if value == NEVER:
            return queryset.filter(last_notice_at__isnull=True)
        since = timezone.now() - timedelta(days=int(value))
        return queryset.filter(Q(last_notice_at__isnull=True) | Q(last_notice_at__lt=since))

    def filter_notified_by(self, queryset: QuerySet, name: str, value) -> QuerySet:
        if not value:
            return queryset
        claims = AutomaticNotice.objects.filter(
            assembly_id=OuterRef("pk"), communication_type__in=value
        )
        return queryset.filter(Exists(claims))


def returned_filter() -> django_filters.BooleanFilter:
    """Communications: returned mail (yes: letters marked as returned; no: the others)."""
    return django_filters.BooleanFilter(
        label=_("Returned"),
        field_name="returned_at",
        lookup_expr="isnull",
        exclude=True,
        widget=BooleanRadioSelect,
    )


def describe(notice: Communication | None) -> str:
    """What a last notice was, in a word or two: its Communication Type's name (automatic),
    its batch's name, or "Logged" (Create Log). Reads ``batch`` and its
    ``communication_type``: select them with the notice to keep it one query."""
    if notice is None:
        return ""
    batch = notice.batch
    if batch is None:
        return str(_("Logged"))
    if batch.communication_type_id is not None:
        return batch.communication_type.name
    return batch.name
