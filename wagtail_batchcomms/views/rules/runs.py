"""The automatic runs in the admin: a read-only listing of the daily runs and an admin's
"Run now", and each run's page with what it did per Communication Type."""

from __future__ import annotations

import django_filters
from django import forms
from django.db.models import Count, Sum
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils.translation import gettext as _gettext
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django.views.generic import TemplateView
from wagtail.admin import messages
from wagtail.admin.filters import DateRangePickerWidget, WagtailFilterSet
from wagtail.admin.ui.tables import Column, StatusTagColumn
from wagtail.admin.views import generic
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin
from wagtail.admin.viewsets.model import ModelViewSet
from wagtail.admin.widgets.button import HeaderButton

from ...models import (
    Channel,
    Communication,
    CommunicationStatus,
    CommunicationType,
    RuleRun,
    RuleRunStatus,
    SkipReason,
)
from ...permissions import PolicyCheckedMixin, PolicyViewSetMixin, user_can
from ...rules.runs import request_run
from ..batches.links import batch_url
from ..columns import DateTextColumn, TextColumn
from ..listing_guards import GuardedListingMixin

#: Who may open the runs: those who may look at them, and the reviewers (who release them).
RUN_LOOK_ACTIONS = ["view", "change", "review"]
SKIP_LABELS = dict(SkipReason.choices)


def started_by_text(run: RuleRun) -> str:
    return str(run.started_by) if run.started_by_id else _gettext("Schedule")


def totals_text(run: RuleRun) -> str:
    """E.g. "120 assemblies: 100 emails, 20 letters" from the listing's annotations."""
    assemblies = run.total_assemblies or 0
    return _gettext("%(assemblies)s: %(emails)s, %(letters)s") % {
        "assemblies": ngettext("%(n)s assembly", "%(n)s assemblies", assemblies)
        % {"n": f"{assemblies:,}"},
        "emails": ngettext("%(n)s email", "%(n)s emails", run.total_emails or 0)
        % {"n": f"{run.total_emails or 0:,}"},
        "letters": ngettext("%(n)s letter", "%(n)s letters", run.total_letters or 0)
        % {"n": f"{run.total_letters or 0:,}"},
    }


class RunStatusColumn(StatusTagColumn):
    def __init__(self, name="status", **kwargs):
        kwargs.setdefault("label", _("Status"))
        kwargs.setdefault("sort_key", "status")
        super().__init__(name, primary=lambda run: run.status != RuleRunStatus.FINISHED, **kwargs)

    def get_value(self, instance):
        return instance.get_status_display()


class RuleRunFilterSet(WagtailFilterSet):
    status = django_filters.MultipleChoiceFilter(
        label=_("Status"),
        choices=RuleRunStatus.choices,
        widget=forms.CheckboxSelectMultiple,
    )
    run_date = django_filters.DateFromToRangeFilter(label=_("Day"), widget=DateRangePickerWidget)

    class Meta:
        model = RuleRun
        fields: list[str] = []


class RuleRunIndexView(GuardedListingMixin, generic.IndexView):
    any_permission_required = RUN_LOOK_ACTIONS

    def get_base_queryset(self):
        return (
            super()
            .get_base_queryset()
            .select_related("started_by")
            .annotate(
                total_assemblies=Sum("results__assemblies"),
                total_emails=Sum("results__emails"),
                total_letters=Sum("results__letters"),
            )
        )

    @property
    def header_buttons(self):
        buttons = list(super().header_buttons)
        if user_can(self.request.user, "review", RuleRun):
            buttons.append(
                HeaderButton(
                    _("Run now"),
                    url=reverse("wagtail_batchcomms_rulerun:run_now"),
                    icon_name="resubmit",
                )
            )
        return buttons


class RuleRunInspectView(generic.InspectView):
    any_permission_required = RUN_LOOK_ACTIONS
    template_name = "wagtail_batchcomms/rules/run_inspect.html"

    def get_fields(self):
        return ["run_date", "status", "started_at", "finished_at", "started_by", "error"]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        results = []
        rows = list(self.object.results.select_related("communication_type", "batch"))
        # Sent so far, live (the send task goes on after the run has finished): one query.
        sent = dict(
            Communication.objects.filter(
                batch_id__in=[row.batch_id for row in rows if row.batch_id],
                channel=Channel.EMAIL,
                status=CommunicationStatus.SENT,
            )
            .values_list("batch_id")
            .annotate(n=Count("pk"))
            .order_by()
        )
        for result in rows:
            skipped = [
                (str(SKIP_LABELS.get(reason, reason)), n)
                for reason, n in (result.skipped or {}).items()
                if n
            ]
            results.append(
                {
                    "result": result,
                    "skipped": skipped,
                    "emails_sent": sent.get(result.batch_id, 0),
                    "batch_url": batch_url(result.batch) if result.batch_id else None,
                }
            )
        context["results"] = results
        context["started_by_text"] = started_by_text(self.object)
        return context


class RuleRunViewSet(PolicyViewSetMixin, ModelViewSet):
    model = RuleRun
    icon = "history"
    menu_label = _("Automatic runs")
    menu_name = "automatic-runs"
    name = "rule_runs"
    url_prefix = "batchcomms/automatic-runs"
    url_namespace = "wagtail_batchcomms_rulerun"
    add_to_reference_index = False
    copy_view_enabled = False
    inspect_view_enabled = True
    index_view_class = RuleRunIndexView
    inspect_view_class = RuleRunInspectView
    filterset_class = RuleRunFilterSet
    ordering = ["-started_at", "-pk"]
    list_display = [
        DateTextColumn("run_date", label=_("Day"), sort_key="run_date"),
        Column("started_at", label=_("Started"), sort_key="started_at"),
        Column("finished_at", label=_("Finished")),
        RunStatusColumn(),
        TextColumn(started_by_text, label=_("Started by")),
        TextColumn(totals_text, label=_("Notices")),
    ]

    def get_common_view_kwargs(self, **kwargs):
        # Read-only: runs are made by the schedule or "Run now", never by hand.
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
        return (
            super()
            .get_permissions_to_register()
            .filter(codename__in=["view_rulerun", "review_rulerun"])
        )

    def get_urlpatterns(self):
        conv = self.pk_path_converter
        return [
            path("", self.index_view, name="index"),
            path("results/", self.index_results_view, name="index_results"),
            path(f"inspect/<{conv}:pk>/", self.inspect_view, name="inspect"),
            path("run-now/", RunNowView.as_view(), name="run_now"),
        ]


class RunNowView(PolicyCheckedMixin, WagtailAdminTemplateMixin, TemplateView):
    """GET: the confirm page. POST: queue a run by this admin (``rules.runs.request_run``),
    then the runs listing with a message. Needs the review permission on runs."""

    model = RuleRun
    permission_required = "review"
    template_name = "wagtail_batchcomms/rules/confirm_run_now.html"
    page_title = _("Run now")
    header_icon = "resubmit"

    def get_breadcrumbs_items(self):
        return [
            {"url": reverse("wagtail_batchcomms_rulerun:index"), "label": _("Automatic runs")},
            {"url": "", "label": _("Run now")},
        ]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["active_types"] = CommunicationType.objects.filter(active=True).order_by("name")
        context["index_url"] = reverse("wagtail_batchcomms_rulerun:index")
        return context

    def post(self, request, *args, **kwargs):
        request_run(request.user)  # PermissionDenied: Wagtail's "permission denied"
        messages.success(
            request,
            _gettext(
                "The automatic notices are running. The run appears in this list when it "
                "starts; each type's notices are on its batch."
            ),
        )
        return redirect("wagtail_batchcomms_rulerun:index")
