"""The "Communications" section of assembly, location and contact pages: the last notices
about the object (an edit-page panel, or below an inspect view's fields) and a link to them
in the Communication Log."""

from __future__ import annotations

from django.urls import reverse
from django.utils.functional import cached_property
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _
from wagtail.admin.panels import Panel
from wagtail.snippets.views.snippets import InspectView as SnippetInspectView

from ...models import Assembly, Batch, Communication, Contact, Location
from ...permissions import user_can, user_can_look
from ...register.log_filters import communications_about
from ..inspect_values import ReadableInspectMixin
from ..logs.create import create_log_button, create_log_url


def communications_for(instance):
    """Notices about a register object, newest first, and the Communication Log URL for it."""
    log_url = reverse("wagtail_batchcomms_communication:index")
    queryset = Communication.objects.select_related("batch", "logged_by").defer(
        "body_html", "body_text"
    )
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


def communications_context(instance, limit: int = 10, user=None) -> dict:
    """The section's rows and links; with ``user``, the Create Log link where they may."""
    queryset, log_url = communications_for(instance)
    latest = list(queryset.order_by("-created_at", "-pk")[: limit + 1])
    may_log = user is not None and user_can(user, "log", Communication)
    return {
        "communications": latest[:limit],
        "has_more": len(latest) > limit,
        "last_communication": latest[0] if latest else None,
        "log_url": log_url,
        "can_view_log": user is not None and user_can_look(user, Communication),
        "create_log_url": create_log_url(instance) if may_log else "",
    }


class NoticesSectionPanel(Panel):
    """A read-only section of an edit page about the object's notices, shown to those who
    may look at the Communication Log (the notices' recipients and addresses are its data)."""

    default_heading = ""
    default_name = ""

    def __init__(self, heading="", **kwargs):
        super().__init__(heading=heading or self.default_heading, **kwargs)

    @property
    def clean_name(self):
        return super().clean_name or self.default_name

    class BoundPanel(Panel.BoundPanel):
        def is_shown(self):
            return bool(self.instance and self.instance.pk) and user_can_look(
                self.request.user, Communication
            )

        def is_required(self):
            return False


class CommunicationsPanel(NoticesSectionPanel):
    """A read-only edit-page section: the last notices about this object and the log link."""

    default_heading = _("Communications")
    default_name = "communications"

    def __init__(self, heading="", limit: int = 10, **kwargs):
        super().__init__(heading=heading, **kwargs)
        self.limit = limit

    def clone_kwargs(self):
        return {**super().clone_kwargs(), "limit": self.limit}

    class BoundPanel(NoticesSectionPanel.BoundPanel):
        template_name = "wagtail_batchcomms/admin/panels/communications.html"

        def get_context_data(self, parent_context=None):
            context = super().get_context_data(parent_context)
            context.update(
                communications_context(self.instance, self.panel.limit, self.request.user)
            )
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
            context.update(communications_context(self.object, user=user))
            context.update(show_communications=True, can_view_batches=user_can(user, "view", Batch))
        return context


class RegisterInspectView(CommunicationsInspectMixin, ReadableInspectMixin, SnippetInspectView):
    """The inspect view of assemblies, locations and contacts, with their communications
    and, for users who may record one, the "Create Log" header button."""

    @cached_property
    def header_buttons(self):
        buttons = list(super().header_buttons)
        button = create_log_button(self.request.user, self.object)
        return [*buttons, button] if button else buttons
