"""The Communication Log (read-only) and the "Communications" section of register pages.

Every notice ever generated, filterable by batch, channel, status, dates, location, contact
and assembly, searchable by recipient, email and account number. One query per page for the
rows (batch, location and contact joined), one for the count, one for the batch filter's
choices: constant whatever the page size.
"""

from __future__ import annotations

from django.db.models import Q
from django.urls import path, reverse
from django.utils.functional import cached_property
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _
from wagtail.admin.panels import Panel
from wagtail.admin.ui.tables import Column, DateColumn, TitleColumn
from wagtail.admin.views import generic
from wagtail.admin.viewsets.model import ModelViewSet
from wagtail.admin.widgets.button import HeaderButton, ListingButton
from wagtail.snippets.views.snippets import InspectView as SnippetInspectView

from ..conf import batchcomms_settings
from ..filters import CommunicationFilterSet, communications_about
from ..models import Assembly, Channel, Communication, Contact, Location
from .columns import CommunicationStatusColumn, ErrorColumn, LinkColumn
from .listing_guards import GuardedListingMixin


def preview_urls(communication) -> list[tuple[str, str, str]]:
    """(label, url, icon) of the previews a communication offers: its email or its letter."""
    if communication.channel == Channel.EMAIL:
        return [
            (
                _("Email preview"),
                reverse("wagtail_batchcomms_batch:preview_email", args=[communication.pk]),
                "mail",
            )
        ]
    return [
        (
            _("Letter PDF"),
            reverse("wagtail_batchcomms_letters:preview", args=[communication.pk]),
            "doc-full",
        )
    ]


def recipient_summary(communication) -> str:
    if communication.channel == Channel.EMAIL:
        return communication.email
    return ", ".join(communication.address_lines)


#: The columns of a communications export: the Communication Log's and (without the batch)
#: a batch's communications list.
COMMUNICATION_EXPORT = [
    "batch.name",
    "get_channel_display",
    "get_status_display",
    "recipient_name",
    "recipient_organisation",
    "email",
    "address_line1",
    "address_line2",
    "city",
    "state",
    "postal_code",
    "location.account_number",
    "created_at",
    "sent_at",
    "error",
]
#: Wagtail would head the ``get_*_display`` columns " method".
COMMUNICATION_EXPORT_HEADINGS = {
    "batch.name": _("Batch"),
    "get_channel_display": _("Channel"),
    "get_status_display": _("Status"),
    "location.account_number": _("Account number"),
}


class CommunicationIndexView(GuardedListingMixin, generic.IndexView):
    """Shared by the Communication Log and the batch page's communications list."""

    show_batch = True
    show_error = False
    page_title = _("Communication Log")

    def get_base_queryset(self):
        return (
            super()
            .get_base_queryset()
            .select_related("batch", "location", "contact")
            .defer("body_html", "body_text")
        )

    def search_queryset(self, queryset):
        if not self.is_searching:
            return queryset
        query = self.search_query.strip()
        return queryset.filter(
            Q(recipient_name__icontains=query)
            | Q(recipient_organisation__icontains=query)
            | Q(email__icontains=query)
            | Q(location__account_number__icontains=query)
        )

    def get_paginate_by(self, queryset):
        return batchcomms_settings.LISTING_PAGE_SIZE

    @cached_property
    def columns(self):
        columns = [
            TitleColumn(
                "recipient_name",
                label=_("Recipient"),
                sort_key="recipient_name",
                get_url=self.get_inspect_url,
            ),
            Column("get_channel_display", label=_("Channel"), sort_key="channel"),
            CommunicationStatusColumn(),
            Column("address", label=_("Sent to"), accessor=recipient_summary),
            LinkColumn("location", label=_("Location"), sort_key="location__account_number"),
        ]
        if self.show_error:
            columns.append(ErrorColumn(label=_("Error")))
        if self.show_batch:
            columns.append(
                LinkColumn(
                    "batch",
                    label=_("Batch"),
                    sort_key="batch__name",
                    url=lambda c: reverse("wagtail_batchcomms_batch:detail", args=[c.batch_id]),
                )
            )
        columns += [
            DateColumn("created_at", label=_("Generated"), sort_key="created_at"),
            DateColumn("sent_at", label=_("Sent"), sort_key="sent_at"),
            PreviewColumn("previews", label=_("Preview")),
        ]
        return columns

    def get_inspect_url(self, instance):
        if self.user_has_any_permission({"view", "change"}):
            return reverse("wagtail_batchcomms_communication:inspect", args=[instance.pk])
        return None


class PreviewColumn(Column):
    cell_template_name = "wagtail_batchcomms/tables/buttons_cell.html"

    def get_cell_context_data(self, instance, parent_context):
        context = super().get_cell_context_data(instance, parent_context)
        context["buttons"] = [
            ListingButton(label, url=url, icon_name=icon, attrs={"target": "_blank"})
            for label, url, icon in preview_urls(instance)
        ]
        return context

    def get_value(self, instance):
        return ""


class CommunicationInspectView(generic.InspectView):
    fields = [
        "batch",
        "channel",
        "status",
        "recipient_name",
        "recipient_organisation",
        "role",
        "email",
        "location",
        "assembly",
        "contact",
        "created_at",
        "sent_at",
        "sent_by",
        "attempts",
        "error_code",
        "error",
        "message_id",
        "subject",
    ]

    def get_object(self, queryset=None):
        return Communication.objects.select_related(
            "batch", "location", "assembly", "contact", "sent_by"
        ).filter(pk=self.pk).first() or super().get_object(queryset)

    def get_page_subtitle(self):
        return str(self.object)

    @cached_property
    def header_buttons(self):
        return [
            HeaderButton(label, url=url, icon_name=icon, attrs={"target": "_blank"})
            for label, url, icon in preview_urls(self.object)
        ]

    def get_context_for_field(self, field_name):
        context = super().get_context_for_field(field_name)
        if field_name == "email" and not self.object.email:
            context["value"] = ", ".join(self.object.address_lines)
            context["label"] = _("Address")
        return context


class CommunicationViewSet(ModelViewSet):
    model = Communication
    icon = "list-ul"
    menu_label = _("Communication Log")
    menu_name = "communication-log"
    name = "communications"
    url_prefix = "batchcomms/communications"
    url_namespace = "wagtail_batchcomms_communication"
    add_to_admin_menu = False
    add_to_reference_index = False
    copy_view_enabled = False
    inspect_view_enabled = True
    index_view_class = CommunicationIndexView
    inspect_view_class = CommunicationInspectView
    filterset_class = CommunicationFilterSet
    search_fields = ["recipient_name", "email", "location__account_number"]
    ordering = ["-created_at", "-pk"]
    list_export = COMMUNICATION_EXPORT
    export_headings = COMMUNICATION_EXPORT_HEADINGS
    export_filename = "communications"

    def get_common_view_kwargs(self, **kwargs):
        # Read-only: no add, edit, delete, copy, usage or history URLs.
        return super().get_common_view_kwargs(
            **{
                "add_url_name": None,
                "edit_url_name": None,
                "delete_url_name": None,
                "usage_url_name": None,
                "history_url_name": None,
                **kwargs,
            }
        )

    def get_permissions_to_register(self):
        return super().get_permissions_to_register().filter(codename="view_communication")

    def get_urlpatterns(self):
        conv = self.pk_path_converter
        return [
            path("", self.index_view, name="index"),
            path("results/", self.index_results_view, name="index_results"),
            path(f"inspect/<{conv}:pk>/", self.inspect_view, name="inspect"),
        ]


# --- the "Communications" section of assembly, location and contact pages -------------------


def communications_for(instance):
    """Notices about a register object, newest first, and the Communication Log URL for it."""
    log_url = reverse("wagtail_batchcomms_communication:index")
    queryset = Communication.objects.select_related("batch").defer("body_html", "body_text")
    if isinstance(instance, Location):
        return queryset.filter(location=instance), log_url + "?" + urlencode(
            {"location": instance.account_number}
        )
    if isinstance(instance, Contact):
        return queryset.filter(contact=instance), log_url + "?" + urlencode(
            {"contact": instance.pk}
        )
    if isinstance(instance, Assembly):
        return queryset.filter(communications_about(instance)), log_url + "?" + urlencode(
            {"assembly": instance.pk}
        )
    raise TypeError(f"No communications for {type(instance).__name__}")


def communications_context(instance, limit: int = 10) -> dict:
    queryset, log_url = communications_for(instance)
    latest = list(queryset.order_by("-created_at", "-pk")[: limit + 1])
    return {
        "communications": latest[:limit],
        "has_more": len(latest) > limit,
        "last_communication": latest[0] if latest else None,
        "log_url": log_url,
    }


class CommunicationsPanel(Panel):
    """A read-only edit-page section: the last notices about this object and the log link."""

    def __init__(self, heading="", limit: int = 10, **kwargs):
        super().__init__(heading=heading or _("Communications"), **kwargs)
        self.limit = limit

    def clone_kwargs(self):
        return {**super().clone_kwargs(), "limit": self.limit}

    @property
    def clean_name(self):
        return super().clean_name or "communications"

    class BoundPanel(Panel.BoundPanel):
        template_name = "wagtail_batchcomms/admin/panels/communications.html"

        def is_shown(self):
            return bool(self.instance and self.instance.pk)

        def is_required(self):
            return False

        def get_context_data(self, parent_context=None):
            context = super().get_context_data(parent_context)
            context.update(communications_context(self.instance, self.panel.limit))
            return context


class CommunicationsInspectMixin:
    """For the register's inspect views: the same section below the fields."""

    def get_template_names(self):
        return ["wagtail_batchcomms/admin/inspect_with_communications.html"]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(communications_context(self.object))
        return context


class RegisterInspectView(CommunicationsInspectMixin, SnippetInspectView):
    """The inspect view of assemblies, locations and contacts, with their communications."""
