"""Panels on Wagtail's dashboard (``construct_homepage_panels``) that an org admin starts the
day with: batches in progress, today's automatic notices and those awaiting review, letters
to print, failed emails needing attention.

Each panel is shown only to users allowed to see what it lists (asked through
``permissions.py``) and reads with one or two queries; an empty panel is not shown.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.db.models import Count, Q, Sum
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _gettext
from django.utils.translation import gettext_lazy as _
from wagtail.admin.ui.components import Component

from ...models import (
    Batch,
    BatchStatus,
    Channel,
    Communication,
    CommunicationStatus,
    RuleRun,
)
from ...permissions import policy_for, user_can, user_can_look
from ..batches.links import batch_url
from .worklists import awaiting_review, letters_to_print

#: Rows a panel lists; the rest are counted, with a link to the full listing.
PANEL_ROWS = 5
IN_PROGRESS = (BatchStatus.GENERATING, BatchStatus.GENERATED, BatchStatus.PARTIALLY_SENT)
PROBLEMS = (CommunicationStatus.FAILED, CommunicationStatus.UNKNOWN)


class DashboardPanel(Component):
    template_name = "wagtail_batchcomms/rules/dashboard_panel.html"
    name = ""
    heading = ""
    order = 150

    def __init__(self, request) -> None:
        self.request = request

    def rows(self) -> list[dict]:
        """[{"label", "url", "detail", "status"?}]; empty: the panel is not shown."""
        return []

    more_url = ""

    def get_context_data(self, parent_context=None):
        return {
            "panel_id": f"batchcomms-{self.name}",
            "heading": self.heading,
            "rows": self.rows()[:PANEL_ROWS],
            "more_url": self.more_url,
        }

    def render_html(self, parent_context=None):
        context = self.get_context_data(parent_context)
        if not context["rows"]:
            return ""
        return render_to_string(self.template_name, context, request=self.request)


class BatchesInProgressPanel(DashboardPanel):
    name = "batches-in-progress"
    heading = _("Batches in progress")
    order = 110

    @property
    def more_url(self) -> str:
        query = urlencode({"status": IN_PROGRESS}, doseq=True)
        return f"{reverse('wagtail_batchcomms_batch:index')}?{query}"

    def rows(self):
        batches = Batch.objects.filter(status__in=IN_PROGRESS).order_by("-created_at", "-pk")
        return [
            {"label": b.name, "url": batch_url(b), "status": b.get_status_display()}
            for b in batches.only("pk", "name", "status")[: PANEL_ROWS + 1]
        ]


class AutomaticNoticesPanel(DashboardPanel):
    name = "automatic-notices"
    heading = _("Today's automatic notices")
    order = 100

    @property
    def more_url(self) -> str:
        return reverse("wagtail_batchcomms_rulerun:index")

    def rows(self):
        runs = (
            RuleRun.objects.filter(run_date=timezone.localdate())
            .annotate(
                emails=Sum("results__emails"),
                letters=Sum("results__letters"),
                assemblies=Sum("results__assemblies"),
            )
            .order_by("-started_at")
        )
        rows = [
            {
                "label": f"{run.started_at:%H:%M} · {run.get_status_display()}",
                "url": run.get_admin_url(),
                "status": run.get_status_display(),
                "detail": _gettext(
                    "%(assemblies)s assemblies: %(emails)s emails, %(letters)s letters"
                )
                % {
                    "assemblies": f"{run.assemblies or 0:,}",
                    "emails": f"{run.emails or 0:,}",
                    "letters": f"{run.letters or 0:,}",
                },
            }
            for run in runs[: PANEL_ROWS + 1]
        ]
        if user_can(self.request.user, "review", RuleRun):
            for batch in awaiting_review()[: PANEL_ROWS + 1]:
                rows.append(
                    {
                        "label": batch.name,
                        "url": batch_url(batch),
                        "status": _gettext("Awaiting review"),
                        "detail": _gettext("%(n)s emails held") % {"n": f"{batch.email_total:,}"},
                    }
                )
        return rows


class LettersToPrintPanel(DashboardPanel):
    name = "letters-to-print"
    heading = _("Letters to print")
    order = 120

    @property
    def more_url(self) -> str:
        return reverse("batchcomms_letters_to_print:index")

    def rows(self):
        return [
            {
                "label": batch.name,
                "url": batch_url(batch),
                "detail": _gettext("%(n)s letters") % {"n": f"{batch.letters_pending:,}"},
            }
            for batch in letters_to_print()[: PANEL_ROWS + 1]
        ]


class FailedEmailsPanel(DashboardPanel):
    name = "failed-emails"
    heading = _("Emails needing attention")
    order = 130

    @property
    def more_url(self) -> str:
        query = urlencode({"channel": Channel.EMAIL, "status": PROBLEMS}, doseq=True)
        return f"{reverse('wagtail_batchcomms_communication:index')}?{query}"

    def rows(self):
        counts = Communication.objects.filter(channel=Channel.EMAIL, status__in=PROBLEMS).aggregate(
            failed=Count("pk", filter=Q(status=CommunicationStatus.FAILED)),
            unknown=Count("pk", filter=Q(status=CommunicationStatus.UNKNOWN)),
        )
        if not (counts["failed"] or counts["unknown"]):
            return []
        return [
            {
                "label": _gettext("%(failed)s failed, %(unknown)s delivery unknown")
                % {"failed": f"{counts['failed']:,}", "unknown": f"{counts['unknown']:,}"},
                "url": self.more_url,
                "detail": _gettext("Retry them from their batches' pages."),
            }
        ]


def add_dashboard_panels(request, panels: list) -> None:
    """``construct_homepage_panels`` hook: the panels this user may see."""
    user = request.user
    if policy_for(Batch).user_has_permission(user, "view"):
        panels.append(BatchesInProgressPanel(request))
    if user_can(user, "view", RuleRun) or user_can(user, "review", RuleRun):
        panels.append(AutomaticNoticesPanel(request))
    if user_can(user, "send", Batch):
        panels.append(LettersToPrintPanel(request))
    if user_can_look(user, Communication):
        panels.append(FailedEmailsPanel(request))
