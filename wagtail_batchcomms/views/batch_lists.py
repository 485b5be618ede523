"""The batch page's full lists (Wagtail listings with filters, search and pagination) and the
per-communication previews.

- ``batches/<pk>/communications/``: the batch's notices, filterable by channel and status.
- ``batches/<pk>/assemblies/``: the working list.
- ``batches/communication/<pk>/email/``: an email notice as it will be sent (the letter PDF
  preview is ``wagtail_batchcomms_letters:preview``).

Access follows the batch's permissions (any batch permission opens the batch page, so it
opens these lists too).
"""

from __future__ import annotations

import csv

from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.functional import cached_property
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _
from django.views import View
from wagtail.admin.ui.tables import Column, DateColumn, TitleColumn
from wagtail.admin.views import generic
from wagtail.admin.views.generic.permissions import PermissionCheckedMixin
from wagtail.admin.widgets.button import HeaderButton
from wagtail.permissions import policy_registry

from ..conf import batchcomms_settings
from ..filters import BatchCommunicationFilterSet
from ..models import (
    Batch,
    BatchAssembly,
    Channel,
    Communication,
    CommunicationStatus,
    SkippedRecipient,
    SkipReason,
)
from ..services.csv_cells import csv_cell
from .batch_detail import BatchObjectMixin
from .batches import BATCH_ANY_PERMISSION, batch_url
from .columns import LinkColumn
from .communications import (
    COMMUNICATION_EXPORT,
    COMMUNICATION_EXPORT_HEADINGS,
    CommunicationIndexView,
)
from .listing_guards import GuardedListingMixin


class BatchScopedMixin:
    """A listing of one batch's rows, guarded by the batch's permission policy."""

    any_permission_required = BATCH_ANY_PERMISSION
    list_title = ""
    index_url_name = ""
    index_results_url_name = ""

    def setup(self, request, *args, **kwargs):
        super().setup(request, *args, **kwargs)
        self.batch = get_object_or_404(Batch, pk=kwargs["pk"])

    @cached_property
    def permission_policy(self):
        return policy_registry.get_by_type(Batch)

    def get_index_url(self):
        return reverse(self.index_url_name, args=[self.batch.pk])

    def get_index_results_url(self):
        return reverse(self.index_results_url_name, args=[self.batch.pk])

    def get_page_title(self):
        return str(self.list_title)

    def get_page_subtitle(self):
        return str(self.batch)

    def get_breadcrumbs_items(self):
        return [
            *self.breadcrumbs_items,
            {
                "url": reverse("wagtail_batchcomms_batch:index"),
                "label": _("Batch communications"),
            },
            {"url": batch_url(self.batch), "label": str(self.batch)},
            {"url": "", "label": self.get_page_title()},
        ]

    @cached_property
    def header_buttons(self):
        return []


class BatchCommunicationsView(BatchScopedMixin, CommunicationIndexView):
    model = Communication
    list_title = _("Communications")
    index_url_name = "wagtail_batchcomms_batch:communications"
    index_results_url_name = "wagtail_batchcomms_batch:communications_results"
    filterset_class = BatchCommunicationFilterSet
    search_fields = ["recipient_name", "email", "location__account_number"]
    default_ordering = "pk"
    show_batch = False
    show_error = True
    header_icon = "list-ul"
    # Without these Wagtail answered ?export=csv with one blank line per notice.
    list_export = [field for field in COMMUNICATION_EXPORT if field != "batch.name"]
    export_headings = COMMUNICATION_EXPORT_HEADINGS

    def get_filename(self):
        return f"batch-{self.batch.pk}-communications"

    def get_base_queryset(self):
        return super().get_base_queryset().filter(batch=self.batch)

    @cached_property
    def header_buttons(self):
        # The rows that need a look: failed (refused, cannot render) and delivery unknown.
        problems = [CommunicationStatus.FAILED, CommunicationStatus.UNKNOWN]
        url = self.get_index_url() + "?" + urlencode({"status": problems}, doseq=True)
        return [HeaderButton(_("Failed or delivery unknown"), url=url, icon_name="warning")]

    def get_inspect_url(self, instance):
        communication_policy = policy_registry.get_by_type(Communication)
        if communication_policy.user_has_any_permission(self.request.user, {"view", "change"}):
            return reverse("wagtail_batchcomms_communication:inspect", args=[instance.pk])
        return None


class BatchAssembliesView(BatchScopedMixin, GuardedListingMixin, generic.IndexView):
    model = BatchAssembly
    list_title = _("Working list")
    index_url_name = "wagtail_batchcomms_batch:assemblies"
    index_results_url_name = "wagtail_batchcomms_batch:assemblies_results"
    search_fields = ["assembly__serial_number", "location__account_number"]
    default_ordering = "location__account_number"
    header_icon = "cog"

    def get_base_queryset(self):
        return BatchAssembly.objects.filter(batch=self.batch).select_related("assembly", "location")

    def get_paginate_by(self, queryset):
        return batchcomms_settings.LISTING_PAGE_SIZE

    @cached_property
    def columns(self):
        return [
            TitleColumn(
                "assembly",
                label=_("Assembly"),
                sort_key="assembly__serial_number",
                get_url=lambda row: row.assembly.get_admin_url(),
            ),
            Column("assembly.get_assembly_type_display", label=_("Type")),
            LinkColumn("location", label=_("Location"), sort_key="location__account_number"),
            Column("location.address", label=_("Address")),
            Column("assembly.get_status_display", label=_("Status")),
            DateColumn(
                "assembly.next_test_due",
                label=_("Next test due"),
                sort_key="assembly__next_test_due",
            ),
        ]


# --- previews -------------------------------------------------------------------------------
# The letter PDF preview is views.downloads.LetterPreviewView ("..._letters:preview").


class PreviewView(PermissionCheckedMixin, View):
    """A communication as it will be sent, for users who may open its batch."""

    model = Batch
    any_permission_required = BATCH_ANY_PERMISSION
    channel = ""

    def get(self, request, pk):
        communication = get_object_or_404(
            Communication.objects.select_related("batch", "location", "contact"), pk=pk
        )
        if communication.channel != self.channel:
            raise Http404("This notice is not sent on that channel.")
        return self.render(communication)

    def render(self, communication) -> HttpResponse:
        raise NotImplementedError


def _render_error_page(error) -> HttpResponse:
    from django.utils.html import escape

    return HttpResponse(
        f"<!doctype html><title>Preview</title><p>{escape(str(error))}</p>",
        status=422,
        content_type="text/html; charset=utf-8",
    )


class EmailPreviewView(PreviewView):
    channel = Channel.EMAIL

    def render(self, communication) -> HttpResponse:
        from ..services import rendering

        try:
            html = rendering.preview_email_html(communication)
        except rendering.RenderError as error:
            return _render_error_page(error)
        response = HttpResponse(html, content_type="text/html; charset=utf-8")
        # The notice's HTML comes from editors' templates: no scripts, no framing elsewhere.
        response["Content-Security-Policy"] = "script-src 'none'; frame-ancestors 'self'"
        return response


# --- the skipped report as CSV -----------------------------------------------------------


class SkippedCsvView(BatchObjectMixin, View):
    """The skipped report as CSV: who got nothing and why, with the account and address."""

    def get(self, request, *args, **kwargs):
        batch = self.object
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="batch-{batch.pk}-skipped.csv"'
        labels = dict(SkipReason.choices)
        writer = csv.writer(response)
        writer.writerow(
            [
                _("Reason"),
                _("Reason code"),
                _("Account number"),
                _("Location"),
                _("Address"),
                _("Assembly"),
            ]
        )
        rows = (
            SkippedRecipient.objects.filter(batch=batch)
            .select_related("location", "assembly")
            .order_by("reason", "location__account_number", "pk")
        )
        for row in rows.iterator(chunk_size=2000):
            writer.writerow(
                [
                    csv_cell(value)
                    for value in (
                        labels.get(row.reason, row.reason),
                        row.reason,
                        row.location.account_number,
                        row.location.name,
                        row.location.address,
                        row.assembly.serial_number if row.assembly_id else "",
                    )
                ]
            )
        return response


def views(viewset) -> dict:
    conv = viewset.pk_path_converter
    return {
        "skipped_csv": (f"<{conv}:pk>/skipped.csv", viewset.construct_view(SkippedCsvView)),
        "communications": (
            f"<{conv}:pk>/communications/",
            BatchCommunicationsView.as_view(),
        ),
        "communications_results": (
            f"<{conv}:pk>/communications/results/",
            BatchCommunicationsView.as_view(results_only=True),
        ),
        "assemblies": (
            f"<{conv}:pk>/assemblies/",
            BatchAssembliesView.as_view(),
        ),
        "assemblies_results": (
            f"<{conv}:pk>/assemblies/results/",
            BatchAssembliesView.as_view(results_only=True),
        ),
        "preview_email": ("communication/<int:pk>/email/", EmailPreviewView.as_view()),
    }
