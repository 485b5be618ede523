"""FilterSets of the batch listings and the Communication Log, and the search of the Log
(also what its "Mark as returned" bulk action's "select all" applies)."""

from __future__ import annotations

import django_filters
from django import forms
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils.translation import gettext_lazy as _
from wagtail.admin.filters import DateRangePickerWidget, WagtailFilterSet

from ..models import (
    Assembly,
    Batch,
    BatchAssembly,
    BatchStatus,
    Channel,
    Communication,
    CommunicationStatus,
    Contact,
    DeliveryStatus,
    LogKind,
    NoticeTemplate,
)
from .notice_filters import returned_filter


class BatchFilterSet(WagtailFilterSet):
    status = django_filters.MultipleChoiceFilter(
        label=_("State"),
        choices=BatchStatus.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Archived batches are hidden unless you pick Archived."),
    )
    template = django_filters.ModelChoiceFilter(
        label=_("Notice template"),
        queryset=NoticeTemplate.objects.order_by("name"),
        empty_label=_("All"),
    )
    # Automatic notices make a batch per type and run: this keeps them apart from an admin's
    # own batches without hiding either by default.
    made_by = django_filters.ChoiceFilter(
        label=_("Made by"),
        choices=[("admins", _("Admins")), ("automatic", _("Automatic runs"))],
        empty_label=_("All (admins and automatic runs)"),
        method="filter_made_by",
    )

    class Meta:
        model = Batch
        fields: list[str] = []

    def filter_made_by(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        if value == "automatic":
            return queryset.filter(communication_type__isnull=False)
        if value == "admins":
            return queryset.filter(communication_type__isnull=True)
        return queryset

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        queryset = super().filter_queryset(queryset)
        if not self.form.cleaned_data.get("status"):
            queryset = queryset.exclude(status=BatchStatus.ARCHIVED)
        return queryset


def _channel_filter() -> django_filters.ChoiceFilter:
    return django_filters.ChoiceFilter(
        label=_("Channel"), choices=Channel.choices, widget=forms.RadioSelect, empty_label=_("All")
    )


def _status_filter() -> django_filters.MultipleChoiceFilter:
    return django_filters.MultipleChoiceFilter(
        label=_("Status"), choices=CommunicationStatus.choices, widget=forms.CheckboxSelectMultiple
    )


class BatchCommunicationFilterSet(WagtailFilterSet):
    """The communications of one batch (its batch page's list): channel and status."""

    channel = _channel_filter()
    status = _status_filter()
    returned = returned_filter()

    class Meta:
        model = Communication
        fields: list[str] = []


MADE_BY = [("batch", _("A batch")), ("automatic", _("Automatic")), ("logged", _("Create Log"))]
MADE_BY_CONDITIONS = {
    "batch": Q(batch__isnull=False, batch__communication_type__isnull=True),
    "automatic": Q(batch__communication_type__isnull=False),
    "logged": Q(batch__isnull=True),
}


class CommunicationFilterSet(WagtailFilterSet):
    """The Communication Log.

    ``contact`` and ``assembly`` take ids: the "Communications" links on a contact's or an
    assembly's page set them, and the active filter shows the object's name. Names, emails
    and account numbers are also found by the listing's search.
    """

    batch = django_filters.ModelChoiceFilter(
        label=_("Batch"),
        queryset=Batch.objects.order_by("-created_at", "-pk"),
        widget=forms.Select,
    )
    channel = _channel_filter()
    status = _status_filter()
    created_at = django_filters.DateFromToRangeFilter(
        label=_("Generated"), widget=DateRangePickerWidget
    )
    sent_at = django_filters.DateFromToRangeFilter(label=_("Sent"), widget=DateRangePickerWidget)
    returned = returned_filter()
    delivery_status = django_filters.MultipleChoiceFilter(
        label=_("Delivery (provider's report)"),
        choices=DeliveryStatus.choices,
        widget=forms.CheckboxSelectMultiple,
    )
    location = django_filters.CharFilter(
        label=_("Location account number"),
        field_name="location__account_number",
        lookup_expr="iexact",
    )
    contact = django_filters.ModelChoiceFilter(
        label=_("Contact"),
        queryset=Contact.objects.all(),
        widget=forms.TextInput(attrs={"inputmode": "numeric"}),
        help_text=_("The contact's ID; the Communications link on a contact's page sets it."),
    )
    made_by = django_filters.ChoiceFilter(
        label=_("Made by"), choices=MADE_BY, method="filter_made_by"
    )
    kind = django_filters.ChoiceFilter(label=_("Kind (one-time)"), choices=LogKind.choices)
    assembly = django_filters.ModelChoiceFilter(
        label=_("Assembly"),
        queryset=Assembly.objects.all(),
        method="filter_assembly",
        widget=forms.TextInput(attrs={"inputmode": "numeric"}),
        help_text=_("The assembly's ID; the Communications link on an assembly's page sets it."),
    )

    class Meta:
        model = Communication
        fields: list[str] = []

    def filter_made_by(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(MADE_BY_CONDITIONS[value]) if value else queryset

    def filter_assembly(self, queryset: QuerySet, name: str, value: Assembly | None) -> QuerySet:
        """Notices about this assembly: its own (per-assembly grouping) or its location's
        notice in a batch whose working list holds it (per-location grouping)."""
        if value is None:
            return queryset
        return queryset.filter(communications_about(value))


def communications_about(assembly: Assembly) -> Q:
    """A ``Q`` on Communication: the notices about ``assembly``, its location's in a batch
    holding it, and Create Log's about its whole location."""
    in_working_list = BatchAssembly.objects.filter(
        batch_id=OuterRef("batch_id"), assembly_id=assembly.pk
    )
    return (
        Q(assembly_id=assembly.pk)
        | Q(Exists(in_working_list), assembly__isnull=True, location_id=assembly.location_id)
        | Q(batch__isnull=True, assembly__isnull=True, location_id=assembly.location_id)
    )


def search_communications(queryset: QuerySet, query: str) -> QuerySet:
    """The Communication Log's search: recipient, organisation, email, account number."""
    query = (query or "").strip()
    if not query:
        return queryset
    return queryset.filter(
        Q(recipient_name__icontains=query)
        | Q(recipient_organisation__icontains=query)
        | Q(email__icontains=query)
        | Q(location__account_number__icontains=query)
    )
