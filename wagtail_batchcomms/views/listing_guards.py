"""What every listing of the package does with its input and its exports.

Every index view of the package (the register, notice templates, batches, a batch's
communications and working list, the Communication Log) has ``GuardedListingMixin``, so that:

- the search is bounded in length (a form error past ``filters.SEARCH_MAX_LENGTH``);
- every text cell goes through ``spreadsheets`` (a name typed as "=HYPERLINK(...)"
  stays text in the spreadsheet; control characters cannot break an XLSX file);
- a yes/no field is written "Yes"/"No" (as the listing shows it), not Python's True/False,
  and a column without a heading of its own is headed in words ("Address line 1"), never
  with the attribute's name;
- a listing without ``list_export`` answers ``?export=`` with its page, not a file of blank
  lines (Wagtail writes one empty row per object when there are no columns);
- a listing whose filters or search do not validate lists nothing and says why, instead of
  listing (or exporting) every row under the chips the admin set (Wagtail drops invalid
  filters);
- the export holds every row the filters select, read in chunks, never one page
  (Wagtail's ``SpreadsheetExportMixin`` hooks).

The filters' own fields refuse ids the database cannot hold
(``filters.ModelMultipleChoiceFilter``).
"""

from __future__ import annotations

import re

from django.contrib import messages
from django.utils.text import capfirst
from django.utils.translation import gettext

from ..register.filters import ListingSearchForm
from ..spreadsheets import sheet_value


class Chunked:
    """A queryset read in chunks (``iterator()``) that still answers ``.model``: an export of
    100,000 assemblies then holds 2,000 of them in memory at a time, not all of them."""

    def __init__(self, queryset, chunk_size: int = 2000) -> None:
        self.queryset, self.model, self.chunk_size = queryset, queryset.model, chunk_size

    def __iter__(self):
        return self.queryset.iterator(chunk_size=self.chunk_size)


class GuardedListingMixin:
    """For a Wagtail ``IndexView`` (it must come before it in the bases)."""

    def setup(self, request, *args, **kwargs):
        super().setup(request, *args, **kwargs)
        if not self.list_export:
            self.is_export = False

    def get_search_form(self):
        if not self.is_searchable:
            return None
        if self.search_kwarg in self.request.GET:
            return ListingSearchForm(self.request.GET)
        return ListingSearchForm()

    @property
    def export_refused(self) -> bool:
        """The filters or the search do not validate: the listing shows why instead."""
        filters = self.filters
        search = self.search_form
        return bool(
            (filters is not None and not filters.is_valid())
            or (search is not None and search.is_bound and not search.is_valid())
        )

    def refused_input(self) -> list[str]:
        """The filters' and the search's errors, as "Label: message" lines."""
        forms = [self.filters.form if self.filters is not None else None, self.search_form]
        lines = []
        for form in forms:
            if form is None or not form.is_bound or form.is_valid():
                continue
            for name, errors in form.errors.items():
                label = form.fields[name].label if name in form.fields else ""
                lines += [f"{label}: {error}" if label else str(error) for error in errors]
        return lines

    def filter_queryset(self, queryset):
        # Wagtail drops filters (and a search) that do not validate and lists every row under
        # the chips the admin set: a list that looks filtered and is not. Nothing is listed
        # until they are corrected, and the page says why (``get``).
        if self.export_refused:
            return queryset.none()
        return super().filter_queryset(queryset)

    def get(self, request, *args, **kwargs):
        if self.export_refused:
            self.is_export = False
            if not getattr(self, "results_only", False):
                messages.error(
                    request,
                    gettext("The filters were not applied, so nothing is listed: %(errors)s")
                    % {"errors": "; ".join(self.refused_input())},
                )
        if self.is_export:
            # Straight to the spreadsheet: the generic view first builds the listing's
            # context, which loads every row (or only one page, where a view paginates) into
            # memory just to count them.
            return self.as_spreadsheet(self.get_queryset(), request.GET["export"])
        return super().get(request, *args, **kwargs)

    def get_heading(self, queryset, field):
        """Wagtail's heading (``export_headings``, else the field's verbose name), put in
        words: a verbose name made from the field's name reads "Address line1", a path
        Wagtail cannot label reads "service_area.code"."""
        heading = super().get_heading(queryset, field)
        if self.export_headings.get(field):
            return heading  # written by hand: kept as it is
        heading = heading.replace("_", " ").replace(".", " ")
        return capfirst(re.sub(r"(?<=[^\W\d])(?=\d)", " ", heading).strip())

    def preprocess_field_value(self, field, value, export_format):
        if isinstance(value, bool):
            # Before Wagtail's own step, which would write the text "True" (CSV) or a
            # TRUE cell (XLSX): the listing itself says Yes/No (``YesNoColumn``).
            value = gettext("Yes") if value else gettext("No")
        value = super().preprocess_field_value(field, value, export_format)
        return sheet_value(value, xlsx=export_format == self.FORMAT_XLSX)

    def stream_csv(self, queryset):
        return super().stream_csv(Chunked(queryset))

    def write_xlsx(self, queryset, output):
        return super().write_xlsx(Chunked(queryset), output)
