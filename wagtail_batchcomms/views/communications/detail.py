"""One notice's page in the Communication Log: who it went to and how, what came back."""

from __future__ import annotations

from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.functional import cached_property
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _
from wagtail.admin.views import generic
from wagtail.admin.widgets.button import HeaderButton

from ...letters.returned import user_can_mark_returned
from ...models import Batch, Channel, Communication, CommunicationStatus
from ...permissions import user_can_look
from ..inspect_values import ReadableInspectMixin
from ..logs.actions import one_time_context
from .listing import delivery_classname, preview_attrs, preview_urls


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
        "delivery_status": _("Delivery"),
        "provider_message_id": _("Provider's message id"),
        "recipient_statuses": _("Provider's answer per recipient"),
        "returned_at": _("Returned"),
        "returned_by": _("Marked as returned by"),
        "kind": _("Kind"),
        "occurred_at": _("When"),
        "subject": _("Subject"),
        "notes": _("Notes"),
        "outcome": _("Outcome"),
        "logged_by": _("Logged by"),
    }

    def get_fields(self):
        c = self.object
        email = c.channel == Channel.EMAIL
        if c.batch_id is None:
            return self.one_time_fields()
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
        fields += self.provider_fields()
        if c.returned_at:
            fields += ["returned_at", "returned_by"]
        return fields

    def one_time_fields(self) -> list[str]:
        """A one-time communication (Create Log): what was done, with whom, when, and how
        it went; the sending fields only for an email or letter made here."""
        c = self.object
        fields = ["kind", "status", "occurred_at", "subject", "recipient", "role"]
        if c.channel:
            fields.append("sent_to")
        fields.append("location")
        if c.assembly_id:
            fields.append("assembly")
        fields += ["contact", "notes", "outcome", "logged_by", "created_at"]
        if c.channel and (c.body_html or c.body_text):  # sent or made now, here
            fields.append("sent_at")
        if c.sent_by_id:
            fields.append("sent_by")
        if c.channel == Channel.EMAIL and c.attempts:
            fields.append("attempts")
        if c.error or c.error_code:
            fields.append("error")
        if c.channel == Channel.EMAIL and c.message_id:
            fields.append("message_id")
        fields += self.provider_fields()
        if c.returned_at:
            fields += ["returned_at", "returned_by"]
        return fields

    def provider_fields(self) -> list[str]:
        """What an email provider said (anymail): its id, each recipient's status when it
        took the message, and the latest delivery report (tracking webhooks)."""
        c = self.object
        if c.channel != Channel.EMAIL:
            return []
        names = ("delivery_status", "provider_message_id", "recipient_statuses")
        return [name for name in names if getattr(c, name)]

    def get_delivery_status_display_value(self):
        c = self.object
        return format_html(
            '<span class="w-status {}" data-delivery-status="{}">{}</span> {}',
            delivery_classname(c.delivery_status),
            c.delivery_status,
            c.get_delivery_status_display(),
            date_format(timezone.localtime(c.delivery_status_at), "DATETIME_FORMAT")
            if c.delivery_status_at
            else "",
        )

    def get_recipient_statuses_display_value(self):
        return format_html_join(
            "",
            "<div data-recipient-status><code>{}</code> {}</div>",
            sorted((self.object.recipient_statuses or {}).items()),
        )

    def setup(self, request, *args, **kwargs):
        # Wagtail's setup lists the fields before it loads the object; the fields depend on it.
        super(generic.InspectView, self).setup(request, *args, **kwargs)
        self.pk = self.kwargs[self.pk_url_kwarg]
        self.object = self.get_object()
        self.fields = self.get_fields()

    def get_object(self, queryset=None):
        return Communication.objects.select_related(
            "batch", "location", "assembly", "contact", "sent_by", "logged_by", "returned_by"
        ).filter(pk=self.pk).first() or super().get_object(queryset)

    def get_page_subtitle(self):
        c = self.object
        if c.batch_id is None:
            # "Phone call with ...": a call has no channel for ``str()`` to name.
            return _("%(kind)s with %(name)s") % {
                "kind": c.get_kind_display(),
                "name": c.recipient_name,
            }
        return str(c)

    def get_field_label(self, field_name, field):
        if field_name == "created_at" and self.object.batch_id is None:
            return _("Recorded")
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

    def get_returned_by_display_value(self):
        user = self.object.returned_by
        if user is None:
            return ""
        return user.get_full_name() or user.get_username()

    def get_logged_by_display_value(self):
        user = self.object.logged_by
        return (user.get_full_name() or user.get_username()) if user else _("Unknown")

    def get_created_at_display_value(self):
        return self.object.created_at

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
        buttons = [
            HeaderButton(label, url=url, icon_name=icon, attrs=preview_attrs(url))
            for label, url, icon in preview_urls(self.object)
        ]
        c = self.object
        if (
            c.channel == Channel.LETTER
            and c.status == CommunicationStatus.SENT
            and c.returned_at is None
            and user_can_mark_returned(self.request.user)
        ):
            # The bulk action's confirm page, for this one letter, back here afterwards.
            url = reverse(
                "wagtail_bulk_action",
                args=[Communication._meta.app_label, "communication", "mark_returned"],
            )
            here = self.request.get_full_path()
            buttons.append(
                HeaderButton(
                    _("Mark as returned"),
                    url=f"{url}?{urlencode({'id': c.pk, 'next': here})}",
                    icon_name="warning",
                    attrs={"data-mark-returned": c.pk},
                )
            )
        return buttons

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        c = self.object
        context.update(
            communication=c,
            is_email=c.channel == Channel.EMAIL,
            delivered=bool(c.body_html or c.body_text),
            previews=preview_urls(c),
            can_view_batch=c.batch_id is not None and user_can_look(self.request.user, Batch),
            one_time=one_time_context(self.request.user, c) if c.batch_id is None else None,
            delivery_events=list(c.delivery_events.order_by("occurred_at", "pk"))
            if c.channel == Channel.EMAIL
            else [],
        )
        return context
