"""FilterSets of the admin listings.

The assembly filters are also what "Add To Batch Communication" and the bulk action's
"select all" apply, so a batch holds exactly what the admin saw in the listing.
"""

from __future__ import annotations

import django_filters
from django import forms
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils.translation import gettext_lazy as _
from wagtail.admin.filters import DateRangePickerWidget, WagtailFilterSet
from wagtail.admin.widgets import BooleanRadioSelect

from .models import (
    Assembly,
    AssemblyStatus,
    AssemblyType,
    Batch,
    BatchAssembly,
    BatchStatus,
    Channel,
    Communication,
    CommunicationStatus,
    ComplianceStatus,
    Contact,
    Hazard,
    Location,
    LocationContact,
    NoticeTemplate,
    PropertyType,
    ServiceArea,
    ServiceType,
    TestResult,
)


class AssemblyFilterSet(WagtailFilterSet):
    """The Assemblies listing's filters.

    Every filter follows forward relations only (assembly -> location -> service area), so
    none can repeat a row: ``distinct=False`` stops django-filter adding ``SELECT DISTINCT``
    over every column, which made the count and page queries several times slower at
    100,000 assemblies.
    """

    service_area = django_filters.ModelMultipleChoiceFilter(
        distinct=False,
        label=_("Service area"),
        field_name="location__service_area",
        queryset=ServiceArea.objects.all(),
        widget=forms.CheckboxSelectMultiple,
    )
    property_type = django_filters.MultipleChoiceFilter(
        distinct=False,
        label=_("Property type"),
        field_name="location__property_type",
        choices=PropertyType.choices,
        widget=forms.CheckboxSelectMultiple,
    )
    assembly_type = django_filters.MultipleChoiceFilter(
        distinct=False,
        label=_("Assembly type"),
        choices=AssemblyType.choices,
        widget=forms.CheckboxSelectMultiple,
    )
    hazard = django_filters.ChoiceFilter(
        label=_("Hazard"), choices=Hazard.choices, widget=forms.RadioSelect, empty_label=_("All")
    )
    service_type = django_filters.MultipleChoiceFilter(
        distinct=False,
        label=_("Service type"),
        choices=ServiceType.choices,
        widget=forms.CheckboxSelectMultiple,
    )
    status = django_filters.MultipleChoiceFilter(
        distinct=False,
        label=_("Assembly status"),
        choices=AssemblyStatus.choices,
        widget=forms.CheckboxSelectMultiple,
    )
    compliance = django_filters.MultipleChoiceFilter(
        distinct=False,
        label=_("Compliance status"),
        choices=ComplianceStatus.choices,
        widget=forms.CheckboxSelectMultiple,
        method="filter_compliance",
    )
    next_test_due = django_filters.DateFromToRangeFilter(
        label=_("Next test due"), widget=DateRangePickerWidget
    )
    last_test_result = django_filters.MultipleChoiceFilter(
        distinct=False,
        label=_("Last test result"),
        choices=TestResult.choices,
        widget=forms.CheckboxSelectMultiple,
    )
    location_active = django_filters.BooleanFilter(
        label=_("Location active"), field_name="location__is_active", widget=BooleanRadioSelect
    )
    city = django_filters.CharFilter(
        label=_("City"), field_name="location__city", lookup_expr="iexact"
    )
    postal_code = django_filters.CharFilter(
        label=_("Postal code"),
        field_name="location__postal_code",
        lookup_expr="istartswith",
        help_text=_("Matches codes that start with this, e.g. 6270."),
    )

    class Meta:
        model = Assembly
        fields: list[str] = []

    def filter_compliance(self, queryset: QuerySet, name: str, value: list[str]) -> QuerySet:
        if not value:
            return queryset
        return queryset.in_compliance_status(*value)


def search_assemblies(queryset: QuerySet, query: str) -> QuerySet:
    """The Assemblies listing's search: serial number, account number, address, contact name.

    The location and contact terms become one uncorrelated ``location_id IN (...)``
    subquery, which the database runs once: an assembly with two matching contacts still
    appears once (no ``DISTINCT``), and the count query needs no join. (A correlated
    ``EXISTS`` per assembly, or ORed conditions across the join, were 3-5x slower at 100,000
    assemblies.)
    """
    query = query.strip()
    if not query:
        return queryset
    matching_locations = Location.objects.filter(
        Q(account_number__icontains=query)
        | Q(address_line1__icontains=query)
        | Q(name__icontains=query)
        | Q(
            pk__in=LocationContact.objects.filter(contact__name__icontains=query).values(
                "location_id"
            )
        )
    ).values("pk")
    return queryset.filter(
        Q(serial_number__icontains=query) | Q(location_id__in=matching_locations)
    )


class LocationFilterSet(WagtailFilterSet):
    service_area = django_filters.ModelMultipleChoiceFilter(
        distinct=False,
        label=_("Service area"),
        queryset=ServiceArea.objects.all(),
        widget=forms.CheckboxSelectMultiple,
    )
    property_type = django_filters.MultipleChoiceFilter(
        distinct=False,
        label=_("Property type"),
        choices=PropertyType.choices,
        widget=forms.CheckboxSelectMultiple,
    )
    is_active = django_filters.BooleanFilter(label=_("Active"), widget=BooleanRadioSelect)
    city = django_filters.CharFilter(label=_("City"), lookup_expr="iexact")
    postal_code = django_filters.CharFilter(label=_("Postal code"), lookup_expr="istartswith")

    class Meta:
        model = Location
        fields: list[str] = []


class ContactFilterSet(WagtailFilterSet):
    has_email = django_filters.BooleanFilter(
        label=_("Has email"), method="filter_has_email", widget=BooleanRadioSelect
    )
    prefers_paper = django_filters.BooleanFilter(
        label=_("Prefers paper"), widget=BooleanRadioSelect
    )
    role = django_filters.MultipleChoiceFilter(
        label=_("Role at a location"),
        choices=LocationContact._meta.get_field("role").choices,
        method="filter_role",
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = Contact
        fields: list[str] = []

    def filter_has_email(self, queryset: QuerySet, name: str, value: bool | None) -> QuerySet:
        if value is None:
            return queryset
        return queryset.exclude(email="") if value else queryset.filter(email="")

    def filter_role(self, queryset: QuerySet, name: str, value: list[str]) -> QuerySet:
        if not value:
            return queryset
        roles = LocationContact.objects.filter(contact_id=OuterRef("pk"), role__in=value)
        return queryset.filter(Exists(roles))


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

    class Meta:
        model = Batch
        fields: list[str] = []

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

    class Meta:
        model = Communication
        fields: list[str] = []


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

    def filter_assembly(self, queryset: QuerySet, name: str, value: Assembly | None) -> QuerySet:
        """Notices about this assembly: its own (per-assembly grouping) or its location's
        notice in a batch whose working list holds it (per-location grouping)."""
        if value is None:
            return queryset
        return queryset.filter(communications_about(value))


def communications_about(assembly: Assembly) -> Q:
    """A ``Q`` on Communication selecting the notices that concerned ``assembly``."""
    in_working_list = BatchAssembly.objects.filter(
        batch_id=OuterRef("batch_id"), assembly_id=assembly.pk
    )
    return Q(assembly_id=assembly.pk) | Q(
        Exists(in_working_list), assembly__isnull=True, location_id=assembly.location_id
    )
