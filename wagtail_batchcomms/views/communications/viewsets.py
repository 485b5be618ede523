"""The Communication Log's viewset (read-only): its URLs, permission and export."""

from __future__ import annotations

from django.urls import path
from django.utils.translation import gettext_lazy as _
from wagtail.admin.viewsets.model import ModelViewSet

from ...models import Communication
from ...permissions import PolicyViewSetMixin
from ...register.log_filters import CommunicationFilterSet
from .detail import CommunicationInspectView
from .listing import (
    COMMUNICATION_EXPORT_HEADINGS,
    COMMUNICATION_LOG_EXPORT,
    CommunicationIndexView,
)
from .returned import ClearAddressFlagView, ClearEmailFlagView


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
    list_export = COMMUNICATION_LOG_EXPORT
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
        # Viewing the log, recording one-time communications (Create Log) and marking letters
        # as returned mail (in Wagtail's group editor).
        return (
            super()
            .get_permissions_to_register()
            .filter(
                codename__in=[
                    "view_communication",
                    "log_communication",
                    "mark_returned_communication",
                ]
            )
        )

    def get_urlpatterns(self):
        conv = self.pk_path_converter
        return [
            path("", self.index_view, name="index"),
            path("results/", self.index_results_view, name="index_results"),
            path(f"inspect/<{conv}:pk>/", self.inspect_view, name="inspect"),
            path(
                "contacts/<int:pk>/clear-address-flag/",
                ClearAddressFlagView.as_view(),
                name="clear_address_flag",
            ),
            path(
                "contacts/<int:pk>/clear-email-flag/",
                ClearEmailFlagView.as_view(),
                name="clear_email_flag",
            ),
        ]
