"""The register's listing views: annotations, joins, search and a null-safe export.

Each listing runs a constant number of queries whatever the page size: related rows are
joined (``select_related``) and counts are annotations, never one query per row.
"""

from __future__ import annotations

import re
from collections import OrderedDict

from django.core.exceptions import FieldDoesNotExist
from django.db.models import Count, F, Field, IntegerField, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce
from wagtail.coreutils import multigetattr
from wagtail.snippets.views.snippets import IndexView

from ...conf import batchcomms_settings
from ...models import Assembly, Location, LocationContact
from ...register.filters import search_assemblies
from ...register.notice_filters import describe
from ..batches.add_to_batch import AddToBatchButtonMixin
from ..listing_guards import GuardedListingMixin

DISPLAY = re.compile(r"get_(\w+)_display")


def count_of(model, fk: str, distinct: str = "pk"):
    """The number of ``model`` rows pointing at the listed row, as a correlated subquery.

    Unlike ``Count()`` over a join, it needs no GROUP BY over the whole table: the database
    works it out for the rows on the page only (and the count query drops it), so the
    Locations and Contacts listings stay fast at 100,000 assemblies.
    """
    counted = (
        model.objects.filter(**{fk: OuterRef("pk")})
        .order_by()
        .values(fk)
        .annotate(total=Count(distinct, distinct=distinct != "pk"))
        .values("total")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


class RegisterIndexView(GuardedListingMixin, IndexView):
    """Wagtail's snippet listing, with an export that survives empty relations and streams
    (``GuardedListingMixin``)."""

    def to_row_dict(self, item):
        return OrderedDict((path, self.export_value(item, path)) for path in self.list_export)

    def export_value(self, item, path: str):
        """``multigetattr`` with two differences: a path through an empty relation (a
        location without a service area) is an empty cell, not an error; and a choice's
        label (``get_<field>_display``) is looked up in a table made once per export, as
        Django rebuilds the choices list on every call (most of an export's time)."""
        *relations, last = path.split(".")
        for name in relations:
            item = getattr(item, name)
            if item is None:
                return None
        display = DISPLAY.fullmatch(last)
        if display and (labels := self.choice_labels(type(item), display[1])) is not None:
            value = getattr(item, display[1])
            return labels.get(value, value)
        return multigetattr(item, last)

    def choice_labels(self, model, name: str) -> dict | None:
        cache = self.__dict__.setdefault("_choice_labels", {})
        if (model, name) not in cache:
            try:
                field = model._meta.get_field(name)
            except FieldDoesNotExist:
                field = None
            cache[model, name] = (
                {value: str(label) for value, label in field.flatchoices}
                if field is not None and field.choices
                else None
            )
        return cache[model, name]

    def order_queryset(self, queryset):
        """Sort by the chosen column, then by primary key, with empty values last whichever
        way: the same order on SQLite and PostgreSQL (which put NULLs at opposite ends), and
        a total order, so that no row repeats or goes missing between pages when many share
        a value (a hazard, a due date). Unique columns need no tiebreak."""
        ordering = self.ordering
        if not ordering or not isinstance(ordering, str):
            return super().order_queryset(queryset)
        descending = ordering.startswith("-")
        name = ordering.lstrip("-")
        if name == "pk" or name == self.model._meta.pk.name:
            return queryset.order_by(ordering)
        field, nullable = self.sort_field(name)
        column = F(name)
        nulls = {"nulls_last": True} if nullable else {}
        column = column.desc(**nulls) if descending else column.asc(**nulls)
        default = (self.model._meta.ordering or [""])[0].lstrip("-")
        if field is not None and "__" not in name and (field.unique or name == default):
            # Serial and account numbers (the default sort is the serial number, unique with
            # the manufacturer): an index serves the sort and a tie is rare, where a
            # primary-key tiebreak would cost a sort of every matching row (bench/listing.py).
            return queryset.order_by(column)
        return queryset.order_by(column, "-pk" if descending else "pk")

    def sort_field(self, path: str) -> tuple[Field | None, bool]:
        """The model field a sort path (``a__b``) ends at (None for an annotation), and
        whether a NULL can turn up on the way."""
        model, field, nullable = self.model, None, False
        for name in path.split("__"):
            try:
                field = model._meta.get_field(name) if model is not None else None
            except FieldDoesNotExist:
                field = None
            if field is None:
                return None, nullable
            nullable = nullable or field.null
            model = field.related_model
        return field, nullable


class AssemblyIndexView(AddToBatchButtonMixin, RegisterIndexView):
    """The Assemblies listing: compliance annotated in the database, related rows joined."""

    def get_base_queryset(self):
        return (
            super()
            .get_base_queryset()
            .select_related(
                "location",
                "location__service_area",
                "last_notice__batch__communication_type",
            )
            .with_compliance()
        )

    def search_queryset(self, queryset):
        if not self.is_searching:
            return queryset
        return search_assemblies(queryset, self.search_query)

    def export_value(self, item, path: str):
        if path == "last_notice":
            return describe(item.last_notice)
        return super().export_value(item, path)

    def get_paginate_by(self, queryset):
        if self.is_export:
            return None  # the export holds every row the filters select, not one page
        return batchcomms_settings.LISTING_PAGE_SIZE


class LocationIndexView(RegisterIndexView):
    def get_base_queryset(self):
        return (
            super()
            .get_base_queryset()
            .select_related("service_area")
            .annotate(assembly_total=count_of(Assembly, "location"))
        )


class ContactIndexView(RegisterIndexView):
    def get_base_queryset(self):
        # A contact may hold several roles at one location: count locations, not roles.
        return (
            super()
            .get_base_queryset()
            .annotate(location_total=count_of(LocationContact, "contact", distinct="location"))
        )


class ServiceAreaIndexView(RegisterIndexView):
    def get_base_queryset(self):
        return (
            super().get_base_queryset().annotate(location_total=count_of(Location, "service_area"))
        )
