"""Batch communications in the admin: a ModelViewSet (not a snippet).

The listing, edit (while Open), delete (while Open) and history are Wagtail's generic views;
the batch page, its sub-listings and the action views live in ``detail.py``, ``progress.py``,
``lists.py``, ``reports.py`` and ``actions.py`` and are wired up here.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import Count, IntegerField, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils.formats import date_format
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _
from django.views import View
from django_fsm import ConcurrentTransition
from wagtail.admin import messages
from wagtail.admin.admin_url_finder import ModelAdminURLFinder
from wagtail.admin.panels import FieldPanel, ObjectList
from wagtail.admin.ui.tables import Column, DateColumn, NumberColumn, TitleColumn, UserColumn
from wagtail.admin.views import generic
from wagtail.admin.views.generic.history import HistoryView
from wagtail.admin.viewsets.model import ModelViewSet
from wagtail.admin.widgets.button import HeaderButton

from ...batches import lifecycle
from ...exceptions import BatchActionError
from ...models import Batch, BatchAssembly, Channel, Communication, CommunicationStatus
from ...permissions import PolicyViewSetMixin, user_can
from ...register.log_filters import BatchFilterSet
from ..columns import BatchStatusColumn, LinkColumn
from ..listing_guards import GuardedListingMixin
from . import actions, detail, lists, progress, reports
from .add_to_batch import AddToBatchView
from .forms import BatchForm
from .links import batch_policy, batch_url, batches_url


def _count(queryset) -> Coalesce:
    """A correlated COUNT subquery; evaluated only for the rows on the page."""
    counted = queryset.order_by().values("batch_id").annotate(n=Count("pk")).values("n")[:1]
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def annotate_counts(queryset):
    """Assemblies, emails, letters and sent notices per batch, in the one listing query."""
    communications = Communication.objects.filter(batch_id=OuterRef("pk"))
    return queryset.annotate(
        assembly_total=_count(BatchAssembly.objects.filter(batch_id=OuterRef("pk"))),
        email_total=_count(communications.filter(channel=Channel.EMAIL)),
        letter_total=_count(communications.filter(channel=Channel.LETTER)),
        sent_total=_count(communications.filter(status=CommunicationStatus.SENT)),
    )


# --- views ----------------------------------------------------------------------------------


class BatchIndexView(GuardedListingMixin, generic.IndexView):
    # The batch policy's "view" (permissions.BatchPermissionPolicy): view_batch or any action
    # on batches, not add_batch alone. Also what the menu item asks.
    any_permission_required = ["view"]
    default_ordering = ["-created_at", "-pk"]

    def get_base_queryset(self):
        queryset = (
            super()
            .get_base_queryset()
            .select_related(
                "template", "created_by", "created_by__wagtail_userprofile", "communication_type"
            )
        )
        return annotate_counts(queryset)

    def _get_title_column(self, field_name, column_class=TitleColumn, **kwargs):
        column_class = self._get_title_column_class(column_class)
        return column_class("name", label=_("Name"), sort_key="name", get_url=batch_url)

    def get_edit_url(self, instance):
        # Editing is for Open batches only; the others keep their name and template.
        if instance.is_open:
            return super().get_edit_url(instance)

    def get_delete_url(self, instance):
        if instance.is_open:
            return super().get_delete_url(instance)

    @cached_property
    def header_buttons(self):
        # Batches are made from the Assemblies listing (its filters decide what goes in), so
        # "add" leads there with a hint, instead of to an empty form.
        if not self.user_has_permission("add"):
            return []
        return [
            HeaderButton(
                _("Add batch communication"),
                url=reverse("wagtail_batchcomms_batch:start"),
                icon_name="plus",
            )
        ]

    def get_context_data(self, *args, **kwargs):
        context = super().get_context_data(*args, **kwargs)
        # The generic "Why not add one?" link would point at the confirm view without filters.
        context.pop("add_url", None)
        return context


class StartBatchView(View):
    """The listing's "Add" button: go to the Assemblies listing and say what to do there."""

    def get(self, request):
        if not batch_policy().user_has_permission(request.user, "add"):
            raise PermissionDenied
        messages.info(
            request,
            _(
                "Filter the assemblies you want to reach, then click "
                "“Add To Batch Communication” at the top right."
            ),
        )
        return redirect("wagtailsnippets_wagtail_batchcomms_assembly:list")


class OpenOnlyMixin:
    """Edit and delete are for Open batches: other states get a message and the batch page.

    Checked in ``run_before_hook``, which the generic views call after the permission check,
    so a user without the permission gets Wagtail's "permission denied", not the state.
    """

    refused_message = _("Only an Open batch can be changed.")

    def run_before_hook(self):
        if not self.object.is_open:
            messages.error(
                self.request,
                _("“%(name)s” is %(state)s. %(reason)s")
                % {
                    "name": self.object,
                    "state": self.object.get_status_display(),
                    "reason": self.refused_message,
                },
            )
            return redirect(batch_url(self.object))
        return super().run_before_hook()


class BatchEditView(OpenOnlyMixin, generic.EditView):
    refused_message = _("Only an Open batch can be edited.")

    def setup(self, request, *args, **kwargs):
        super().setup(request, *args, **kwargs)
        self.object = self.get_object()

    def get_breadcrumbs_items(self):
        items = super().get_breadcrumbs_items()
        items[-1] = {"url": batch_url(self.object), "label": str(self.object)}
        return [*items, {"url": "", "label": _("Edit")}]

    def get_success_url(self):
        return batch_url(self.object)

    def save_instance(self):
        try:
            return super().save_instance()
        except ConcurrentTransition as error:
            # Generation started in another tab between the page load and the save.
            raise BatchActionError(
                _("The batch changed state while you were editing; nothing was saved.")
            ) from error

    def post(self, request, *args, **kwargs):
        try:
            return super().post(request, *args, **kwargs)
        except BatchActionError as error:
            messages.error(request, str(error))
            return redirect(batch_url(self.object))


class BatchDeleteView(OpenOnlyMixin, generic.DeleteView):
    refused_message = _("Only an Open batch can be deleted; archive it instead.")

    def get_success_url(self):
        return batches_url()

    def delete_action(self):
        lifecycle.delete_batch(self.object.pk, user=self.request.user)

    def form_valid(self, form):
        try:
            return super().form_valid(form)
        except BatchActionError as error:
            messages.error(self.request, str(error))
            return redirect(batch_url(self.object))


class BatchHistoryView(HistoryView):
    any_permission_required = None
    permission_required = "view"

    def get_edit_url(self, instance):
        # The breadcrumb back to the batch goes to the batch page, which every state has.
        return batch_url(instance)

    @cached_property
    def header_buttons(self):
        return [HeaderButton(_("Batch page"), url=batch_url(self.object), icon_name="arrow-left")]


class BatchURLFinder(ModelAdminURLFinder):
    """A batch's admin URL (search results, a template's Usage page, history links) is its
    batch page, for anyone who may view it: editing is only for Open batches."""

    edit_url_name = "wagtail_batchcomms_batch:detail"

    def get_edit_url(self, instance):
        if self.user and not user_can(self.user, "view", Batch):
            return None
        return self.construct_edit_url(instance)


class BatchViewSet(PolicyViewSetMixin, ModelViewSet):
    model = Batch
    icon = "mail"
    menu_label = _("Batch Communications")
    menu_name = "batch-communications"
    name = "batches"
    url_prefix = "batchcomms/batches"
    url_namespace = "wagtail_batchcomms_batch"
    add_to_admin_menu = False
    copy_view_enabled = False
    inspect_view_enabled = False
    # Not in Wagtail's reference index: it would re-index the batch on every save (progress
    # included), adding queries to generation and sending. A template's batches are on the
    # Batch Communications listing (filter by template) instead of its Usage page.
    add_to_reference_index = False
    url_finder_class = BatchURLFinder

    index_view_class = BatchIndexView
    edit_view_class = BatchEditView
    delete_view_class = BatchDeleteView
    history_view_class = BatchHistoryView

    filterset_class = BatchFilterSet
    search_fields = ["name"]
    ordering = ["-created_at", "-pk"]
    list_display = [
        "name",
        BatchStatusColumn(),
        # Its edit view for template editors, its inspect view for those who may only look.
        LinkColumn("template", label=_("Template"), sort_key="template__name"),
        # A plain date (Wagtail's DateColumn says "Just now" for any date of today or later).
        Column(
            "due_date",
            label=_("Due date"),
            sort_key="due_date",
            accessor=lambda batch: batch.due_date and date_format(batch.due_date),
        ),
        NumberColumn("assembly_total", label=_("Assemblies"), sort_key="assembly_total"),
        NumberColumn("email_total", label=_("Emails"), sort_key="email_total"),
        NumberColumn("letter_total", label=_("Letters"), sort_key="letter_total"),
        NumberColumn("sent_total", label=_("Sent"), sort_key="sent_total"),
        # An automatic batch says which Communication Type made it; an admin's, who did.
        UserColumn("created_by", label=_("Created by")),
        Column(
            "communication_type",
            label=_("Automatic notices"),
            accessor=lambda batch: batch.communication_type or "",
        ),
        DateColumn("created_at", label=_("Created"), sort_key="created_at"),
    ]
    # Without these Wagtail answered ?export=csv with one blank line per batch.
    list_export = [
        "name",
        "get_status_display",
        "template.name",
        "due_date",
        "assembly_total",
        "email_total",
        "letter_total",
        "sent_total",
        "created_by",
        "created_at",
    ]
    export_headings = {
        "get_status_display": _("State"),
        "template.name": _("Notice template"),
        "assembly_total": _("Assemblies"),
        "email_total": _("Emails"),
        "letter_total": _("Letters"),
        "sent_total": _("Sent"),
    }
    export_filename = "batch-communications"
    edit_handler = ObjectList(
        [FieldPanel("name"), FieldPanel("template"), FieldPanel("due_date")],
        base_form_class=BatchForm,
    )

    def get_common_view_kwargs(self, **kwargs):
        return super().get_common_view_kwargs(**{"usage_url_name": None, **kwargs})

    @property
    def add_view(self):
        return self.construct_view(AddToBatchView)

    def get_urlpatterns(self):
        urlpatterns = [
            pattern for pattern in super().get_urlpatterns() if pattern.name not in {"usage"}
        ]
        views = {
            "start": StartBatchView.as_view(),
            **detail.views(self),
            **progress.views(self),
            **lists.views(self),
            **reports.views(self),
            **actions.views(self),
        }
        for name, (route, view) in _routes(views).items():
            urlpatterns.append(path(route, view, name=name))
        return urlpatterns


def _routes(views: dict) -> dict:
    """Accept either ``name: view`` (top level) or ``name: (route, view)``."""
    routes = {}
    for name, value in views.items():
        if isinstance(value, tuple):
            routes[name] = value
        else:
            routes[name] = (f"{name}/", value)
    return routes
