"""FilterSets of the admin listings.

The assembly filters are also what "Add To Batch Communication" and the bulk action's
"select all" apply, so a batch holds exactly what the admin saw in the listing.
"""

from __future__ import annotations

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator
from django.db import connections
from django.db.models import Exists, IntegerField, OuterRef, Q, QuerySet
from django.utils.translation import gettext_lazy as _
from django_filters.fields import ModelMultipleChoiceField
from wagtail.admin.filters import DateRangePickerWidget, WagtailFilterSet
from wagtail.admin.forms.search import SearchForm
from wagtail.admin.widgets import BooleanRadioSelect

from ..models import (
    Assembly,
    AssemblyStatus,
    AssemblyType,
    ComplianceStatus,
    Contact,
    Hazard,
    Location,
    LocationContact,
    PropertyType,
    ServiceArea,
    ServiceType,
    TestResult,
)
from .notice_filters import LastNoticeFilterSet

#: The longest search a listing runs. Longer is refused with a form error: nobody types more
#: (a pasted address or list of serials stays well below), and SQLite stops at a LIKE pattern
#: of 50,000 bytes ("LIKE or GLOB pattern too complex"; escaping can double a character).
SEARCH_MAX_LENGTH = 2048


class ListingSearchForm(SearchForm):
    """Wagtail's listing search form, with its length bounded (on every database)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["q"]
        field.max_length = SEARCH_MAX_LENGTH
        field.validators.append(MaxLengthValidator(SEARCH_MAX_LENGTH))
        field.widget.attrs["maxlength"] = str(SEARCH_MAX_LENGTH)


def id_range(field, using: str = "default") -> tuple[int | None, int | None]:
    """The smallest and largest value an integer column (an id) holds on this database, or
    (None, None) for a field that is not an integer."""
    if not (isinstance(field, IntegerField) or field.get_internal_type().endswith("AutoField")):
        return None, None
    return connections[using].ops.integer_field_range(field.get_internal_type())


def fits(number: int, bounds: tuple[int | None, int | None]) -> bool:
    low, high = bounds
    return (low is None or number >= low) and (high is None or number <= high)


def ids_of(values: list[str], model, using: str = "default") -> list[int]:
    """The values that are ids of ``model`` as typed in ASCII digits and fit its id column;
    others are left out (a crafted ``?id=`` past 64 bits, or another script's digits)."""
    bounds = id_range(model._meta.pk, using)
    return [
        int(value)
        for value in values
        if value.isascii() and value.isdigit() and fits(int(value), bounds)
    ]


class BoundedModelMultipleChoiceField(ModelMultipleChoiceField):
    """A multiple model choice whose ids must fit the id column before they reach the
    database: ``IN (9223372036854775808)`` is an OverflowError on SQLite (and an error on
    PostgreSQL), where one id (``ModelChoiceField``) is simply not found."""

    def _check_values(self, value):
        key = self.to_field_name or "pk"
        model = self.queryset.model
        field = model._meta.pk if key == "pk" else model._meta.get_field(key)
        bounds = id_range(field, self.queryset.db)
        for pk in value if isinstance(value, (list, tuple)) else [value]:
            try:
                number = int(str(pk).strip())
            except ValueError:
                continue  # not a number: Django's own check names it
            if not fits(number, bounds):
                raise ValidationError(
                    self.error_messages["invalid_pk_value"],
                    code="invalid_pk_value",
                    params={"pk": pk},
                )
        return super()._check_values(value)


class ModelMultipleChoiceFilter(django_filters.ModelMultipleChoiceFilter):
    """Every multiple model choice filter of the package (ids checked, see above)."""

    field_class = BoundedModelMultipleChoiceField


class AssemblyFilterSet(LastNoticeFilterSet):
    """The Assemblies listing's filters (with the "last notice" ones of ``notice_filters``).

    Every filter follows forward relations only (assembly -> location -> service area), so
    none can repeat a row: ``distinct=False`` stops django-filter adding ``SELECT DISTINCT``
    over every column, which made the count and page queries several times slower at
    100,000 assemblies.
    """

    service_area = ModelMultipleChoiceFilter(
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
    service_area = ModelMultipleChoiceFilter(
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
