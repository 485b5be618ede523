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
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _
from wagtail.admin.panels import Panel
from wagtail.admin.ui.tables import Column, DateColumn, TitleColumn
from wagtail.admin.views import generic
from wagtail.admin.viewsets.model import ModelViewSet
from wagtail.admin.widgets.button import HeaderButton, ListingButton
from wagtail.snippets.views.snippets import InspectView as SnippetInspectView

from ..conf import batchcomms_settings
from ..models import Assembly, Batch, Channel, Communication, Contact, Location
from ..permissions import PolicyViewSetMixin, user_can, user_can_look
from ..register.filters import CommunicationFilterSet, communications_about
from .columns import CommunicationStatusColumn, ErrorColumn, LinkColumn
from .listing_guards import GuardedListingMixin
from .register.inspect_values import ReadableInspectMixin


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
    "answer_text",
]
#: Wagtail would head the ``get_*_display`` columns " method".
COMMUNICATION_EXPORT_HEADINGS = {
    "batch.name": _("Batch"),
    "get_channel_display": _("Channel"),
    "get_status_display": _("Status"),
    "address_line1": _("Address line 1"),
    "address_line2": _("Address line 2"),
    "location.account_number": _("Account number"),
    # A requeued email's earlier answer is marked "Last attempt: ..." (the export's Error).
    "answer_text": _("Error"),
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
                    url=self.batch_url,
                )
            )
        columns += [
            DateColumn("created_at", label=_("Generated"), sort_key="created_at"),
            DateColumn("sent_at", label=_("Sent"), sort_key="sent_at"),
            PreviewColumn("previews", label=_("Preview")),
        ]
        return columns

    @cached_property
    def can_view_batches(self) -> bool:
        return user_can(self.request.user, "view", Batch)

    def batch_url(self, communication) -> str | None:
        if self.can_view_batches:
            return reverse("wagtail_batchcomms_batch:detail", args=[communication.batch_id])
        return None

    def get_inspect_url(self, instance):
        if self.user_has_any_permission({"view", "change"}):
            return reverse("wagtail_batchcomms_communication:inspect", args=[instance.pk])
        return None


class PreviewColumn(Column):
    cell_template_name = "wagtail_batchcomms/tables/buttons_cell.html"

    def get_cell_context_data(self, instance, parent_context):
        context = super().get_cell_context_data(instance, parent_context)
        context["buttons"] = [
            ListingButton(label, url=url, icon_name=icon, attrs=preview_attrs(url))
            for label, url, icon in preview_urls(instance)
        ]
        return context

    def get_value(self, instance):
        return ""


class CommunicationInspectView(ReadableInspectMixin, generic.InspectView):
    """A notice as an admin reads it: who it went to and how, when, what came back, and the
    message itself (the email as sent, or the letter's PDF); never the worker's claim or raw
    HTML source."""

    template_name = "wagtail_batchcomms/admin/communication_inspect.html"
    field_labels = {
        "status": _("Status"),
        "channel": _("Channel"),
        "batch": _("Batch"),
        "recipient": _("Recipient"),
        "role": _("Role"),
        "sent_to": _("Sent to"),
        "location": _("Location"),
        "assembly": _("Assembly"),
        "contact": _("Contact"),
        "created_at": _("Generated"),
        "sent_by": _("Marked as mailed by"),
        "attempts": _("Sending attempts"),
        "error": _("Server's answer"),
        "message_id": _("Message-ID"),
    }

    def get_fields(self):
        c = self.object
        email = c.channel == Channel.EMAIL
        fields = ["status", "channel", "batch", "recipient", "role", "sent_to", "location"]
        if c.assembly_id:
            fields.append("assembly")
        fields += ["contact", "created_at", "sent_at"]
        if not email and c.sent_by_id:
            fields.append("sent_by")
        if email and c.attempts:
            fields.append("attempts")
        if c.error or c.error_code:
            fields.append("error")
        if email and c.message_id:
            fields.append("message_id")
        return fields

    def setup(self, request, *args, **kwargs):
        # Wagtail's setup lists the fields before it loads the object; the fields depend on it.
        super(generic.InspectView, self).setup(request, *args, **kwargs)
        self.pk = self.kwargs[self.pk_url_kwarg]
        self.object = self.get_object()
        self.fields = self.get_fields()

    def get_object(self, queryset=None):
        return Communication.objects.select_related(
            "batch", "location", "assembly", "contact", "sent_by"
        ).filter(pk=self.pk).first() or super().get_object(queryset)

    def get_page_subtitle(self):
        return str(self.object)

    def get_field_label(self, field_name, field):
        if field_name == "error" and self.object.answer_is_previous:
            return _("Last attempt's answer")
        if field_name == "sent_at":
            return _("Sent") if self.object.channel == Channel.EMAIL else _("Mailed")
        return super().get_field_label(field_name, field)

    def get_status_display_value(self):
        c = self.object
        return format_html(
            '<span class="w-status {}">{}</span>', c.status_classname, c.get_status_display()
        )

    def get_recipient_display_value(self):
        c = self.object
        if c.recipient_organisation:
            return f"{c.recipient_name} ({c.recipient_organisation})"
        return c.recipient_name

    def get_sent_to_display_value(self):
        c = self.object
        return c.email if c.channel == Channel.EMAIL else c.address_lines

    def get_sent_at_display_value(self):
        return self.object.sent_at or _("Not yet")

    def get_sent_by_display_value(self):
        user = self.object.sent_by
        return user.get_full_name() or user.get_username()

    def get_contact_display_value(self):
        c = self.object
        return c.contact or _("No longer in the register")

    def get_error_display_value(self):
        c = self.object
        if c.error_code:
            return format_html("<code>{}</code> {}", c.error_code, c.error)
        return c.error

    @cached_property
    def header_buttons(self):
        return [
            HeaderButton(label, url=url, icon_name=icon, attrs=preview_attrs(url))
            for label, url, icon in preview_urls(self.object)
        ]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        c = self.object
        context.update(
            communication=c,
            is_email=c.channel == Channel.EMAIL,
            delivered=bool(c.body_html or c.body_text),
            previews=preview_urls(c),
            can_view_batch=user_can_look(self.request.user, Batch),
        )
        return context


def preview_attrs(url: str) -> dict:
    """The letter's PDF opens in a new tab; the email preview is an admin page with a way
    back, so it opens in place."""
    return {"target": "_blank"} if url.endswith(".pdf") else {}


class CommunicationViewSet(PolicyViewSetMixin, ModelViewSet):
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
            # The notices (recipients, addresses) are the Communication Log's data.
            return bool(self.instance and self.instance.pk) and user_can_look(
                self.request.user, Communication
            )

        def is_required(self):
            return False

        def get_context_data(self, parent_context=None):
            context = super().get_context_data(parent_context)
            context.update(communications_context(self.instance, self.panel.limit))
            context["can_view_batches"] = user_can(self.request.user, "view", Batch)
            return context


class CommunicationsInspectMixin:
    """For the register's inspect views: the same section below the fields."""

    def get_template_names(self):
        return ["wagtail_batchcomms/admin/inspect_with_communications.html"]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        if user_can_look(user, Communication):
            context.update(communications_context(self.object))
            context.update(show_communications=True, can_view_batches=user_can(user, "view", Batch))
        return context


class RegisterInspectView(CommunicationsInspectMixin, ReadableInspectMixin, SnippetInspectView):
    """The inspect view of assemblies, locations and contacts, with their communications."""
