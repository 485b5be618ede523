"""The batch page's full lists (Wagtail listings with filters, search and pagination) and the
per-communication previews.

- ``batches/<pk>/communications/``: the batch's notices, filterable by channel and status.
- ``batches/<pk>/assemblies/``: the working list.
- ``batches/communication/<pk>/email/``: an email notice as it will be sent (the letter PDF
  preview is ``wagtail_batchcomms_letters:preview``).

Access: the working list follows the batch page (the batch policy's "view": view_batch or any
action on batches, not add_batch alone); the communications list also needs the Communication
Log's permission, and the previews only that (the log links to them).
"""

from __future__ import annotations

from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.functional import cached_property
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _
from django.views import View
from wagtail.admin.ui.tables import Column, DateColumn, TitleColumn
from wagtail.admin.views import generic
from wagtail.admin.widgets.button import HeaderButton

from ...conf import batchcomms_settings
from ...exceptions import RenderError
from ...models import (
    Batch,
    BatchAssembly,
    Channel,
    Communication,
    CommunicationStatus,
)
from ...notices import rendering
from ...permissions import (
    LOOK_ACTIONS,
    LookRequiredMixin,
    PolicyCheckedMixin,
    policy_for,
    user_can_look,
)
from ...register.log_filters import BatchCommunicationFilterSet
from ..columns import LinkColumn, admin_url_for
from ..communications.listing import (
    COMMUNICATION_EXPORT,
    COMMUNICATION_EXPORT_HEADINGS,
    CommunicationIndexView,
)
from ..listing_guards import GuardedListingMixin
from .links import batch_url


class BatchScopedMixin:
    """A listing of one batch's rows, guarded by the batch's permission policy."""

    any_permission_required = None
    permission_required = "view"
    list_title = ""
    index_url_name = ""
    index_results_url_name = ""

    def setup(self, request, *args, **kwargs):
        super().setup(request, *args, **kwargs)
        self.batch = get_object_or_404(Batch, pk=kwargs["pk"])

    @cached_property
    def permission_policy(self):
        return policy_for(Batch)

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


class BatchCommunicationsView(LookRequiredMixin, BatchScopedMixin, CommunicationIndexView):
    model = Communication
    # Recipients' names and addresses: the batch's "view" and the Communication Log's.
    look_models = (Communication,)
    list_title = _("Communications")
    index_url_name = "wagtail_batchcomms_batch:communications"
    index_results_url_name = "wagtail_batchcomms_batch:communications_results"
    filterset_class = BatchCommunicationFilterSet
    search_fields = ["recipient_name", "email", "location__account_number"]
    default_ordering = "pk"
    show_batch = False
    show_error = True
    # Returned mail is marked from the Communication Log (where every letter is).
    bulk_actions = False
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
        if user_can_look(self.request.user, Communication):
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
                get_url=lambda row: admin_url_for(self.request.user, row.assembly),
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
# The letter PDF preview is views.batches.downloads.LetterPreviewView ("..._letters:preview").


class PreviewView(PolicyCheckedMixin, View):
    """A communication as it will be sent, for users who may look at communications (the
    Communication Log and the batch page link here)."""

    model = Communication
    any_permission_required = LOOK_ACTIONS
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


class EmailPreviewView(PreviewView):
    """An email notice as its recipient sees it, on an admin page: subject, To, the email
    in a sandboxed frame, its plain text, and the way back to the notice and its batch.

    A sent email shows the copy kept when it was sent; an unsent one is rendered now from
    the batch's pinned template revision.
    """

    channel = Channel.EMAIL

    def render(self, communication) -> HttpResponse:
        batch = communication.batch
        inspect_url = reverse("wagtail_batchcomms_communication:inspect", args=[communication.pk])
        title = _("Email preview")
        # The preview is the Communication Log's; the batch's pages only for who may open them.
        batch_link = (
            batch is not None and user_can_look(self.request.user, Batch) and batch_url(batch)
        )
        if batch_link:
            trail = [
                {
                    "url": reverse("wagtail_batchcomms_batch:index"),
                    "label": _("Batch communications"),
                },
                {"url": batch_link, "label": str(batch)},
            ]
        else:
            trail = [
                {
                    "url": reverse("wagtail_batchcomms_communication:index"),
                    "label": _("Communication Log"),
                }
            ]
        context = {
            "page_title": title,
            "header_icon": "mail",
            "communication": communication,
            "batch_url": batch_link,
            "inspect_url": inspect_url,
            "breadcrumbs_items": [
                {"url": reverse("wagtailadmin_home"), "label": _("Home")},
                *trail,
                {"url": inspect_url, "label": str(communication)},
                {"url": "", "label": title},
            ],
        }
        if communication.body_html or communication.body_text:
            subject, html, text = (
                communication.subject,
                communication.body_html,
                communication.body_text,
            )
            # A one-time email keeps its message from the moment it was recorded (pending).
            sent = batch is not None or communication.status == CommunicationStatus.SENT
        else:
            try:
                notice = rendering.render_communication(communication, letter=False)
            except RenderError as error:
                # The same admin page, its way back and all, saying why there is no email:
                # 422, as the notice (not the request) is what cannot be processed.
                context.update(page_subtitle=str(communication), render_error=str(error))
                template = "wagtail_batchcomms/admin/email_preview_error.html"
                return TemplateResponse(self.request, template, context, status=422)
            subject, html, text, sent = notice.subject, notice.html, notice.text, False
        context.update(
            page_subtitle=subject,
            subject=subject,
            to=f"{communication.recipient_name} <{communication.email}>",
            html=html,
            text=text,
            sent=sent,
        )
        template = "wagtail_batchcomms/admin/email_preview.html"
        return TemplateResponse(self.request, template, context)


def views(viewset) -> dict:
    conv = viewset.pk_path_converter
    return {
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
