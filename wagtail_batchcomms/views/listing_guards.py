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
  (Wagtail's ``SpreadsheetExportMixin`` hooks);
- an export of more rows than ``EXPORT_BACKGROUND_ROWS`` is not written in the request: it
  is queued (``exports.request_export``) and the admin lands on its page (progress, then a
  download link). The task writes it through this same view (``exports.replay``), so the
  columns, filters, search, ordering and formula guard are the listing's own.

The filters' own fields refuse ids the database cannot hold
(``filters.ModelMultipleChoiceFilter``).

``exporting_listings`` names the listings that export (read from Wagtail's registered
viewsets, so a new one counts), ``user_may_see_listing`` asks a listing's own permission check
of its model's policy: "My exports" is offered to whoever may ask for an export.
"""

from __future__ import annotations

import datetime
import re

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect
from django.utils.text import capfirst
from django.utils.translation import gettext
from wagtail.admin.viewsets import viewsets
from wagtail.admin.viewsets.base import ViewSet

from ..conf import batchcomms_settings
from ..exports import replay, request_export
from ..permissions import policy_for
from ..register.filters import ListingSearchForm
from ..spreadsheets import sheet_value

#: Query parameters of the listing page that are not part of what it lists.
NOT_LISTING_PARAMETERS = ("export", "p", "_w_filter_fragment")


class Chunked:
    """A queryset read in chunks (``iterator()``) that still answers ``.model``: an export of
    100,000 assemblies then holds 2,000 of them in memory at a time, not all of them. With a
    ``progress`` callable, it is told the rows read so far after each chunk."""

    def __init__(self, queryset, chunk_size: int = 2000, progress=None) -> None:
        self.queryset, self.model, self.chunk_size = queryset, queryset.model, chunk_size
        self.progress, self.rows = progress, 0

    def __iter__(self):
        if isinstance(self.queryset, Chunked):
            yield from self.queryset
            return
        for item in self.queryset.iterator(chunk_size=self.chunk_size):
            self.rows += 1
            if self.progress is not None and self.rows % self.chunk_size == 0:
                self.progress(self.rows)
            yield item


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
        if getattr(request, replay.PROBE_ATTRIBUTE, False):
            return HttpResponse(status=204)  # the permission checks passed (exports.replay)
        target = getattr(request, replay.TARGET_ATTRIBUTE, None)
        if target is not None:
            return self.write_to_target(target)
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
            queryset = self.get_queryset()
            rows = queryset.count()
            if rows > batchcomms_settings.EXPORT_BACKGROUND_ROWS:
                return self.queue_export(rows)
            return self.as_spreadsheet(queryset, request.GET["export"])
        return super().get(request, *args, **kwargs)

    def export_title(self) -> str:
        title = str(self.get_page_title() or capfirst(self.model._meta.verbose_name_plural))
        subtitle = getattr(self, "get_page_subtitle", lambda: "")()
        return f"{title}: {subtitle}" if subtitle else title

    def queue_export(self, rows: int):
        """Too many rows for the request: queue the export, land on its page."""
        export_format = self.request.GET["export"]
        query = self.request.GET.copy()
        for name in NOT_LISTING_PARAMETERS:
            query.pop(name, None)
        run = request_export(
            self.request.user,
            listing_title=self.export_title(),
            listing_path=self.request.path,
            query_string=query.urlencode(),
            export_format=export_format,
            file_name=f"{self.get_filename()}.{export_format}",
            row_count=rows,
        )
        messages.info(
            self.request,
            gettext(
                "%(rows)s rows are too many to export while you wait: the file is being "
                "written, and this page will offer it when it is ready."
            )
            % {"rows": f"{rows:,}"},
        )
        return redirect(run.get_admin_url())

    def write_to_target(self, target):
        """The export task's call (``exports.replay``): write the file into ``target``."""
        if not self.is_export or self.export_refused:
            raise ValueError(
                gettext("The listing's filters are no longer valid: %(errors)s")
                % {"errors": "; ".join(self.refused_input())}
            )
        rows = Chunked(self.get_queryset(), progress=target.progress)
        if self.request.GET["export"] == self.FORMAT_CSV:
            for line in self.stream_csv(rows):  # Wagtail's writer hands back UTF-8 bytes
                target.output.write(line if isinstance(line, bytes) else line.encode("utf-8"))
        else:
            self.write_xlsx(rows, target.output)
        target.rows = rows.rows
        return HttpResponse(status=204)

    def get_heading(self, queryset, field):
        """Wagtail's heading (``export_headings``, else the field's verbose name), put in
        words: a verbose name made from the field's name reads "Address line1", a path
        Wagtail cannot label reads "service_area.code"."""
        heading = super().get_heading(queryset, field)
        if self.export_headings.get(field):
            return heading  # written by hand: kept as it is
        heading = heading.replace("_", " ").replace(".", " ")
        return capfirst(re.sub(r"(?<=[^\W\d])(?=\d)", " ", heading).strip())

    def get_preprocess_function(self, field, value, export_format):
        # Looked up once per column and type (Wagtail walks its table for every cell).
        cache = self.__dict__.setdefault("_preprocess_functions", {})
        key = (field, type(value), export_format)
        if key not in cache:
            cache[key] = super().get_preprocess_function(field, value, export_format)
        return cache[key]

    def generate_xlsx_row(self, worksheet, row_dict, date_format=None):
        """Wagtail's row with plain values instead of a cell object for each (a third of the
        time of an XLSX export): every text has been through ``sheet_value``, so none starts
        as a formula. Date-times keep the cell and the format Wagtail gives them."""
        for field, value in row_dict.items():
            written = self.preprocess_field_value(field, value, self.FORMAT_XLSX)
            if date_format and isinstance(value, datetime.datetime):
                from openpyxl.cell import WriteOnlyCell

                cell = WriteOnlyCell(worksheet, written)
                cell.number_format = date_format
                yield cell
            else:
                yield written

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


def exporting_listings() -> list[ViewSet]:
    """The registered viewsets whose listing has the guard and columns to export: every listing
    an export can be asked from (a batch's communications need the batch listing's permission
    too, so it adds nobody)."""
    found = []
    for viewset in viewsets.viewsets:
        view_class = getattr(viewset, "index_view_class", None)
        if view_class is None or not issubclass(view_class, GuardedListingMixin):
            continue
        # A viewset's own columns (a list), else the view's (Wagtail's "not set" is no list).
        columns = getattr(viewset, "list_export", None)
        if not isinstance(columns, list | tuple):
            columns = view_class.list_export
        if columns:
            found.append(viewset)
    return found


def user_may_see_listing(user, viewset: ViewSet) -> bool:
    """Whether ``user`` passes the permission check of ``viewset``'s listing: its
    ``permission_required`` and ``any_permission_required`` asked of its model's policy, as
    the listing and its menu item ask them."""
    view_class, policy = viewset.index_view_class, policy_for(viewset.model)
    if view_class.permission_required and not policy.user_has_permission(
        user, view_class.permission_required
    ):
        return False
    return not view_class.any_permission_required or policy.user_has_any_permission(
        user, view_class.any_permission_required
    )
