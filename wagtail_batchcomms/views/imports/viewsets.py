"""``ImportRunViewSet``: a ModelViewSet in the sidebar's Assemblies group (``register``'s
``RegisterViewSetGroup``). Its listing and history are Wagtail's generic views; there is no
edit or delete (an import is a record of what happened), and "add" is the upload."""

from __future__ import annotations

from django.urls import path, reverse
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _
from wagtail.admin.ui.tables import Column, DateColumn, NumberColumn, TitleColumn, UserColumn
from wagtail.admin.views import generic
from wagtail.admin.views.generic.history import HistoryView
from wagtail.admin.viewsets.model import ModelViewSet
from wagtail.admin.widgets.button import HeaderButton

from ...models import ImportRun
from ...permissions import PolicyViewSetMixin
from ..listing_guards import GuardedListingMixin
from . import pages


class ImportIndexView(GuardedListingMixin, generic.IndexView):
    any_permission_required = ["import"]
    default_ordering = ["-created_at", "-pk"]

    def get_base_queryset(self):
        return super().get_base_queryset().select_related("created_by")

    def _get_title_column(self, field_name, column_class=TitleColumn, **kwargs):
        return TitleColumn(
            "original_name", label=_("File"), sort_key="original_name", get_url=pages.run_url
        )

    def get_edit_url(self, instance):
        return pages.run_url(instance)

    def get_delete_url(self, instance):
        return None

    @cached_property
    def header_buttons(self):
        return [
            HeaderButton(
                _("Import a file"),
                url=reverse("wagtail_batchcomms_import:add"),
                icon_name="upload",
            )
        ]

    def get_context_data(self, *args, **kwargs):
        context = super().get_context_data(*args, **kwargs)
        context["add_url"] = reverse("wagtail_batchcomms_import:add")
        return context


class ImportHistoryView(HistoryView):
    any_permission_required = None
    permission_required = "import"

    def get_edit_url(self, instance):
        # No edit view: the breadcrumb back to the run goes to its page.
        return pages.run_url(instance)

    @cached_property
    def header_buttons(self):
        return [
            HeaderButton(_("Import page"), url=pages.run_url(self.object), icon_name="arrow-left")
        ]


class ImportRunViewSet(PolicyViewSetMixin, ModelViewSet):
    model = ImportRun
    icon = "upload"
    menu_label = _("Imports")
    menu_name = "register-imports"
    name = "imports"
    url_prefix = "batchcomms/imports"
    url_namespace = "wagtail_batchcomms_import"
    add_to_admin_menu = False
    copy_view_enabled = False
    inspect_view_enabled = False
    add_to_reference_index = False
    index_view_class = ImportIndexView
    history_view_class = ImportHistoryView
    ordering = ["-created_at", "-pk"]
    list_display = [
        "original_name",
        Column("get_status_display", label=_("Status"), sort_key="status"),
        NumberColumn("row_count", label=_("Rows"), sort_key="row_count"),
        UserColumn("created_by", label=_("Uploaded by")),
        DateColumn("created_at", label=_("Uploaded"), sort_key="created_at"),
    ]
    list_export = []
    # The generic add/edit views are not routed (the upload replaces "add"); Wagtail still
    # builds their form class when the viewset is registered.
    form_fields = ["original_name"]

    def get_common_view_kwargs(self, **kwargs):
        return super().get_common_view_kwargs(**{"usage_url_name": None, **kwargs})

    def get_urlpatterns(self):
        kept = {"index", "index_results", "history", "history_results"}
        urlpatterns = [p for p in super().get_urlpatterns() if p.name in kept]
        return [
            *urlpatterns,
            path("new/", pages.UploadView.as_view(), name="add"),
            path("template.csv", pages.TemplateFileView.as_view(), name="template"),
            path("<int:pk>/", pages.RunView.as_view(), name="detail"),
            path("<int:pk>/columns/", pages.MappingView.as_view(), name="mapping"),
            path("<int:pk>/check/", pages.CheckView.as_view(), name="check"),
            path("<int:pk>/import/", pages.ImportView.as_view(), name="run"),
            path("<int:pk>/progress/", pages.ProgressView.as_view(), name="progress"),
            path("<int:pk>/errors.csv", pages.ErrorsView.as_view(), name="errors"),
        ]
