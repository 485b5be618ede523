"""``ExportRunViewSet``: "My exports" in the sidebar's Assemblies group, a listing of the
exports the user asked for (a superuser sees everyone's). No add, edit or delete: an export is
requested from a listing's Download button and is a record of what was exported.

It is offered (menu item and page alike, ``offers_exports``) to superusers, to whoever may see a
listing that exports, and to whoever has exports of their own; anyone else is refused."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.urls import path
from django.utils.formats import date_format
from django.utils.timezone import localtime
from django.utils.translation import gettext_lazy as _
from wagtail.admin.menu import MenuItem
from wagtail.admin.ui.tables import (
    Column,
    DateColumn,
    NumberColumn,
    StatusTagColumn,
    TitleColumn,
    UserColumn,
)
from wagtail.admin.views import generic
from wagtail.admin.viewsets.model import ModelViewSet

from ...models import ExportRun
from ...permissions import PolicyViewSetMixin, policy_for, user_can
from ..listing_guards import GuardedListingMixin, exporting_listings, user_may_see_listing
from . import pages


def offers_exports(user) -> bool:
    """Whether "My exports" is for ``user``: a superuser; whoever may see a listing that
    exports (its own permission check), so may ask for one; whoever has exports of their own,
    also after losing the listing (the page lists them; a download asks the listing again)."""
    if not user_can(user, "view", ExportRun):
        return False
    if user.is_superuser:
        return True
    if any(user_may_see_listing(user, listing) for listing in exporting_listings()):
        return True
    return policy_for(ExportRun).instances_user_has_any_permission_for(user, ["view"]).exists()


class ExportsMenuItem(MenuItem):
    def is_shown(self, request):
        return offers_exports(request.user)


class ExportIndexView(GuardedListingMixin, generic.IndexView):
    default_ordering = ["-created_at", "-pk"]
    page_title = _("My exports")

    def dispatch(self, request, *args, **kwargs):
        # As the menu item: a page the sidebar does not offer is refused like any other.
        if not offers_exports(request.user):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get_base_queryset(self):
        queryset = super().get_base_queryset().select_related("requested_by")
        if not self.request.user.is_superuser:
            queryset = queryset.filter(requested_by=self.request.user)
        return queryset

    def _get_title_column(self, field_name, column_class=TitleColumn, **kwargs):
        return TitleColumn("listing_title", label=_("Listing"), get_url=pages.run_url)

    def get_edit_url(self, instance):
        return pages.run_url(instance)

    def get_delete_url(self, instance):
        return None


class ExportRunViewSet(PolicyViewSetMixin, ModelViewSet):
    model = ExportRun
    icon = "download"
    menu_label = _("My exports")
    menu_name = "exports"
    name = "exports"
    url_prefix = "batchcomms/exports"
    url_namespace = "wagtail_batchcomms_export"
    add_to_admin_menu = False
    copy_view_enabled = False
    inspect_view_enabled = False
    add_to_reference_index = False
    index_view_class = ExportIndexView
    menu_item_class = ExportsMenuItem
    ordering = ["-created_at", "-pk"]
    list_display = [
        "listing_title",
        Column("export_format", label=_("Format"), accessor=lambda run: run.export_format.upper()),
        StatusTagColumn(
            "status",
            label=_("Status"),
            accessor="get_status_display",
            primary=lambda run: run.status == "ready",
            sort_key="status",
        ),
        NumberColumn("row_count", label=_("Rows"), sort_key="row_count"),
        UserColumn("requested_by", label=_("Requested by")),
        DateColumn("created_at", label=_("Requested"), sort_key="created_at"),
        # A date to come: Wagtail's DateColumn says "Just now" for any future moment.
        Column(
            "expires_at",
            label=_("File kept until"),
            sort_key="expires_at",
            accessor=lambda run: (
                date_format(localtime(run.expires_at), "SHORT_DATETIME_FORMAT")
                if run.expires_at and run.status == "ready"
                else ""
            ),
        ),
    ]
    list_export = []
    # The generic add/edit views are not routed; Wagtail still builds their form class.
    form_fields = ["listing_title"]

    def get_common_view_kwargs(self, **kwargs):
        return super().get_common_view_kwargs(
            **{"usage_url_name": None, "add_url_name": None, "history_url_name": None, **kwargs}
        )

    def get_urlpatterns(self):
        kept = {"index", "index_results"}
        return [
            *(p for p in super().get_urlpatterns() if p.name in kept),
            path("<int:pk>/", pages.RunView.as_view(), name="detail"),
            path("<int:pk>/progress/", pages.ProgressView.as_view(), name="progress"),
            path("<int:pk>/download/", pages.DownloadView.as_view(), name="download"),
        ]
