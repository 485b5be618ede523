"""The Communication Log's listing (also a batch's communications list): columns, search,
previews and export.

Every notice ever generated, filterable by batch, channel, status, dates, location, contact
and assembly, searchable by recipient, email and account number. One query per page for the
rows (batch, location and contact joined), one for the count, one for the batch filter's
choices: constant whatever the page size.
"""

from __future__ import annotations

from collections import OrderedDict

from django.db.models import BooleanField, Case, Q, Value, When
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.functional import cached_property
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from wagtail.admin.ui.tables import BulkActionsCheckboxColumn, Column, DateColumn, TitleColumn
from wagtail.admin.views import generic
from wagtail.admin.widgets.button import ListingButton
from wagtail.coreutils import multigetattr

from ...conf import batchcomms_settings
from ...letters.returned import user_can_mark_returned
from ...models import Batch, Channel
from ...permissions import user_can
from ...register.log_filters import search_communications
from ..columns import CommunicationStatusColumn, ErrorColumn, LinkColumn
from ..listing_guards import GuardedListingMixin


def has_message(communication) -> bool:
    """Whether a one-time communication (no batch) carries a message to preview: one sent or
    made now from this app; a call, a visit, a note or one sent elsewhere has none. The
    listings annotate it (``has_message``) rather than load every row's body."""
    annotated = getattr(communication, "has_message", None)
    if annotated is not None:
        return bool(annotated)
    return bool(communication.body_html or communication.body_text)


def preview_urls(communication) -> list[tuple[str, str, str]]:
    """(label, url, icon) of the previews a communication offers: its email or its letter."""
    if communication.batch_id is None and not (
        communication.channel and has_message(communication)
    ):
        return []
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
    if not communication.channel:
        return ""  # a call, a visit or a note went to no address
    if communication.channel == Channel.EMAIL:
        return communication.email
    return ", ".join(communication.address_lines)


#: The columns of a communications export: the Communication Log's and (without the batch)
#: a batch's communications list.
COMMUNICATION_EXPORT = [
    "batch.name",
    "get_channel_display",
    "get_status_display",
    # What the provider reported afterwards (tracking webhooks): delivered, bounced, ...
    "get_delivery_status_display",
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
    "returned_at",
    "answer_text",
]
#: The Communication Log's export: also which of the three ways made each, and what a
#: one-time communication (Create Log) records.
COMMUNICATION_LOG_EXPORT = [
    "batch.name",
    "made_by",
    *COMMUNICATION_EXPORT[1:],
    "get_kind_display",
    "occurred_at",
    "subject",
    "outcome",
    "notes",
    "logged_by_name",
]
#: Wagtail would head the ``get_*_display`` columns " method".
COMMUNICATION_EXPORT_HEADINGS = {
    "batch.name": _("Batch"),
    "made_by": _("Made by"),
    "get_kind_display": _("Kind"),
    "occurred_at": _("When"),
    "logged_by_name": _("Logged by"),
    "get_channel_display": _("Channel"),
    "get_status_display": _("Status"),
    "get_delivery_status_display": _("Delivery"),
    "address_line1": _("Address line 1"),
    "address_line2": _("Address line 2"),
    "location.account_number": _("Account number"),
    "returned_at": _("Returned"),
    # A requeued email's earlier answer is marked "Last attempt: ..." (the export's Error).
    "answer_text": _("Error"),
}


def made_by(communication) -> str:
    """Which of the three ways made it: "Batch", "Automatic" or the one-time kind."""
    if communication.batch_id is None:
        return _("Logged: %(kind)s") % {"kind": communication.get_kind_display() or _("note")}
    if communication.batch.communication_type_id is not None:
        return str(_("Automatic"))
    return str(_("Batch"))


def user_name(user) -> str:
    return (user.get_full_name() or user.get_username()) if user is not None else ""


#: Export values that are not a plain attribute path (a batch-less row has no batch name).
EXPORT_VALUES = {
    "batch.name": lambda c: c.batch.name if c.batch_id is not None else "",
    "made_by": made_by,
    "logged_by_name": lambda c: user_name(c.logged_by),
}


class CommunicationIndexView(GuardedListingMixin, generic.IndexView):
    """Shared by the Communication Log and the batch page's communications list."""

    show_batch = True
    show_error = False
    page_title = _("Communication Log")
    #: Checkboxes for the bulk actions ("Mark as returned"), for users who may use them.
    bulk_actions = True

    def get_template_names(self):
        if self.results_only or not self.bulk_actions:
            return super().get_template_names()
        return ["wagtail_batchcomms/admin/communication_index.html"]

    @cached_property
    def show_bulk_actions(self) -> bool:
        return self.bulk_actions and user_can_mark_returned(self.request.user)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["show_bulk_actions"] = self.show_bulk_actions
        return context

    def get_base_queryset(self):
        return (
            super()
            .get_base_queryset()
            .select_related("batch", "location", "contact", "logged_by")
            .defer("body_html", "body_text")
            .annotate(has_message=message_annotation())
        )

    def to_row_dict(self, item):
        return OrderedDict(
            (
                field,
                EXPORT_VALUES[field](item) if field in EXPORT_VALUES else multigetattr(item, field),
            )
            for field in self.list_export
        )

    def search_queryset(self, queryset):
        if not self.is_searching:
            return queryset
        return search_communications(queryset, self.search_query)

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
                get_title_id=lambda instance: f"communication_{instance.pk}_title",
            ),
            Column("get_channel_display", label=_("Channel"), sort_key="channel"),
            CommunicationStatusColumn(),
            Column("address", label=_("Sent to"), accessor=recipient_summary),
            LinkColumn("location", label=_("Location"), sort_key="location__account_number"),
        ]
        if self.show_error:
            columns.append(ErrorColumn(label=_("Error")))
        if self.show_batch:
            columns += [
                MadeByColumn("made_by", label=_("Made by"), batch_url=self.batch_url),
                Column("subject", label=_("Subject")),
                Column("outcome", label=_("Outcome")),
            ]
        columns += [
            DateColumn("created_at", label=_("Generated"), sort_key="created_at"),
            DateColumn("sent_at", label=_("Sent"), sort_key="sent_at"),
            ReturnedColumn("returned_at", label=_("Returned"), sort_key="returned_at"),
            DeliveryColumn("delivery_status", label=_("Delivery"), sort_key="delivery_status"),
            PreviewColumn("previews", label=_("Preview")),
        ]
        if self.show_bulk_actions:
            columns.insert(0, BulkActionsCheckboxColumn("bulk_actions", obj_type="communication"))
        return columns

    @cached_property
    def can_view_batches(self) -> bool:
        return user_can(self.request.user, "view", Batch)

    def batch_url(self, communication) -> str | None:
        if self.can_view_batches and communication.batch_id is not None:
            return reverse("wagtail_batchcomms_batch:detail", args=[communication.batch_id])
        return None

    def get_inspect_url(self, instance):
        if self.user_has_any_permission({"view", "change"}):
            return reverse("wagtail_batchcomms_communication:inspect", args=[instance.pk])
        return None


class ReturnedColumn(DateColumn):
    """When a letter came back, as a status tag (empty for the others)."""

    def render_cell_html(self, instance, parent_context):
        if instance.returned_at is None:
            return format_html("<td>{}</td>", "")
        return format_html(
            '<td><span class="w-status w-status--primary" title="{}">{}</span></td>',
            date_format(timezone.localtime(instance.returned_at).date()),
            _("Returned"),
        )


#: Provider reports an admin has to look at (the others are plain tags).
_BAD_DELIVERY = frozenset({"bounced", "complained", "rejected", "failed"})


def delivery_classname(delivery_status: str) -> str:
    """The status tag's class for a provider's latest report: primary when it went wrong."""
    return "w-status--primary" if delivery_status in _BAD_DELIVERY else ""


class DeliveryColumn(Column):
    """The provider's latest report on an email (tracking webhooks), as a status tag."""

    def render_cell_html(self, instance, parent_context):
        if not instance.delivery_status:
            return format_html("<td>{}</td>", "")
        return format_html(
            '<td><span class="w-status {}" data-delivery-status="{}">{}</span></td>',
            delivery_classname(instance.delivery_status),
            instance.delivery_status,
            instance.get_delivery_status_display(),
        )


def message_annotation() -> Case:
    """SQL for ``has_message`` (see ``has_message``) without loading the bodies."""
    return Case(
        When(Q(body_html="") & Q(body_text=""), then=Value(False)),
        default=Value(True),
        output_field=BooleanField(),
    )


class MadeByColumn(Column):
    """The batch (a link where the user may open batches), "Automatic: <batch>", or
    "Logged: Phone call by <user>" for a one-time communication."""

    def __init__(self, name, *, batch_url, **kwargs):
        super().__init__(name, **kwargs)
        self.batch_url = batch_url

    def get_value(self, instance):
        if instance.batch_id is None:
            who = user_name(instance.logged_by)
            text = made_by(instance)
            return _("%(what)s by %(who)s") % {"what": text, "who": who} if who else text
        return instance.batch

    def render_cell_html(self, instance, parent_context):
        value = self.get_value(instance)
        url = self.batch_url(instance) if instance.batch_id is not None else None
        if instance.batch_id is not None and instance.batch.communication_type_id is not None:
            label = format_html("{}: {}", _("Automatic"), value)
        else:
            label = value
        html = format_html('<a href="{}">{}</a>', url, label) if url else label
        return format_html("<td>{}</td>", html)


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


def preview_attrs(url: str) -> dict:
    """The letter's PDF opens in a new tab; the email preview is an admin page with a way
    back, so it opens in place."""
    return {"target": "_blank"} if url.endswith(".pdf") else {}
