"""The batch page (the batch actions page): state, counts, progress, the actions allowed now
(the registry's buttons), problems, downloads, the first rows of its lists.

The page runs a bounded number of queries whatever the batch's size: the batch with its
relations, one aggregate for the counts by channel and status, one for the skipped report, the
letter downloads, the first rows of the communications and of the working list, and the
checks behind ``batches.actions.allowed_actions``.
"""

from __future__ import annotations

from django.db.models import Count
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.generic import TemplateView
from wagtail.admin.views.generic.base import BaseObjectMixin, WagtailAdminTemplateMixin
from wagtail.admin.widgets.button import Button, HeaderButton

from ...batches.actions import ACTIONS, allowed_actions
from ...letters.downloads import user_can_send_letters
from ...models import (
    Batch,
    BatchStatus,
    Channel,
    Communication,
    CommunicationStatus,
    DownloadStatus,
    NoticeTemplate,
    RuleRun,
    SkippedRecipient,
    SkipReason,
)
from ...notices.copies import batch_copies
from ...permissions import PolicyCheckedMixin, user_can, user_can_look
from ..columns import admin_url_for
from .links import batch_url, batches_url
from .progress import progress_data

#: Rows on the batch page before "View all".
PREVIEW_ROWS = 10


class BatchObjectMixin(PolicyCheckedMixin, BaseObjectMixin):
    model = Batch
    permission_required = "view"

    def get_base_object_queryset(self):
        return Batch.objects.select_related(
            "template",
            "template_revision",
            "created_by",
            "cloned_from",
            "communication_type",
            "rule_run",
            "reviewed_by",
        )


def communications_url(batch: Batch, **params) -> str:
    url = reverse("wagtail_batchcomms_batch:communications", args=[batch.pk])
    return f"{url}?{urlencode(params, doseq=True)}" if params else url


class BatchDetailView(BatchObjectMixin, WagtailAdminTemplateMixin, TemplateView):
    template_name = "wagtail_batchcomms/admin/batch_detail.html"
    header_icon = "mail"

    def get_page_title(self):
        return str(self.object)

    def get_breadcrumbs_items(self):
        return [
            *self.breadcrumbs_items,
            {"url": batches_url(), "label": _("Batch communications")},
            {"url": "", "label": str(self.object)},
        ]

    @cached_property
    def counts(self) -> dict:
        return self.object.communications.counts()

    @cached_property
    def allowed(self) -> list[str]:
        return allowed_actions(self.object, self.request.user, counts=self.counts)

    def action_url(self, action) -> str:
        return batch_url(self.object, action.key)

    def is_primary(self, action) -> bool:
        """A main header button; Complete becomes one once everything has gone out."""
        return action.primary or (
            action.key == "complete" and self.all_sent(self.counts) is not None
        )

    @cached_property
    def header_buttons(self):
        return [
            HeaderButton(
                spec.label,
                url=self.action_url(spec),
                icon_name=spec.icon,
                priority=spec.priority,
                attrs={"data-batch-action": spec.key},
            )
            for spec in ACTIONS
            if self.is_primary(spec) and spec.key in self.allowed
        ]

    @cached_property
    def header_more_buttons(self):
        buttons = [
            Button(
                spec.label,
                url=self.action_url(spec),
                icon_name=spec.icon,
                priority=spec.priority,
                attrs={"data-batch-action": spec.key},
            )
            for spec in ACTIONS
            if not self.is_primary(spec) and spec.key in self.allowed
        ]
        buttons.append(
            Button(
                _("History"),
                url=reverse("wagtail_batchcomms_batch:history", args=[self.object.pk]),
                icon_name="history",
                priority=900,
            )
        )
        return buttons

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        batch = self.object
        counts = self.counts
        downloads = self.get_downloads()
        context.update(
            batch=batch,
            state_classname="w-status--primary" if batch.can_send else "",
            allowed_actions=self.allowed,
            history_url=reverse("wagtail_batchcomms_batch:history", args=[batch.pk]),
            template_url=self.get_template_url(),
            communication_type_url=(
                admin_url_for(self.request.user, batch.communication_type)
                if batch.communication_type_id
                else None
            ),
            rule_run_url=(
                batch.rule_run.get_admin_url()
                if batch.rule_run_id and user_can_look(self.request.user, RuleRun)
                else None
            ),
            revision_url=self.get_revision_url(),
            counts_table=self.get_counts_table(counts),
            returned_letters=self.get_returned_letters(),
            progress=progress_data(batch),
            due_date_past=bool(
                batch.due_date
                and batch.due_date < timezone.localdate()
                and batch.status in (BatchStatus.OPEN, BatchStatus.GENERATED)
            ),
            problems_total=sum(
                counts.get(channel, {}).get(status, 0)
                for channel in Channel
                for status in (CommunicationStatus.FAILED, CommunicationStatus.UNKNOWN)
            ),
            problems_url=communications_url(
                batch, status=[CommunicationStatus.FAILED, CommunicationStatus.UNKNOWN]
            ),
            all_sent=self.all_sent(counts),
            can_inspect_communications=user_can(self.request.user, "view", Communication),
            complete_url=reverse("wagtail_batchcomms_batch:complete", args=[batch.pk]),
            progress_url=reverse("wagtail_batchcomms_batch:progress", args=[batch.pk]),
            skipped=self.get_skipped(),
            skipped_csv_url=reverse("wagtail_batchcomms_batch:skipped_csv", args=[batch.pk]),
            downloads=downloads,
            withdrawn_downloads=[d for d in downloads if d.withdrawn],
            failures_csv_url=reverse("wagtail_batchcomms_batch:failures_csv", args=[batch.pk]),
            communications=self.get_communications(),
            communications_url=communications_url(batch),
            can_see_communications=self.can_see_communications,
            copies=batch_copies(batch),
            communication_total=sum(sum(row.values()) for row in counts.values()),
            working_list=self.get_working_list(),
            working_list_url=reverse("wagtail_batchcomms_batch:assemblies", args=[batch.pk]),
        )
        # Kept by batches.lifecycle whenever the working list changes.
        context["assembly_total"] = batch.assembly_count
        # Its rows are the Communication Log's: only for users who may look at communications.
        context["problems"] = (
            self.get_problems() if context["problems_total"] and self.can_see_communications else []
        )
        return context

    @cached_property
    def can_see_communications(self) -> bool:
        return user_can_look(self.request.user, Communication)

    def all_sent(self, counts: dict) -> dict | None:
        """For a Partially sent batch whose every notice went (emails sent, letters mailed):
        how many of each, for the hint that it can be completed; else None."""
        if self.object.status != BatchStatus.PARTIALLY_SENT:
            return None
        total = sum(sum(row.values()) for row in counts.values())
        sent = {
            channel: counts.get(channel, {}).get(CommunicationStatus.SENT, 0) for channel in Channel
        }
        if not total or sum(sent.values()) != total:
            return None
        return {"emails": sent[Channel.EMAIL], "letters": sent[Channel.LETTER]}

    def get_problems(self) -> list:
        """The first failed or delivery-unknown notices, for the box that lists them."""
        return list(
            self.object.communications.filter(
                status__in=[CommunicationStatus.FAILED, CommunicationStatus.UNKNOWN]
            )
            .select_related("location")
            .defer("body_html", "body_text")
            .order_by("pk")[:PREVIEW_ROWS]
        )

    def get_template_url(self) -> str | None:
        # The edit view for template editors; the read-only inspect view for those who may
        # only look (an org admin), never a link that ends in "permission denied".
        if self.object.template_id:
            return admin_url_for(self.request.user, self.object.template)
        return None

    def get_revision_url(self) -> str | None:
        # The revision's preview needs only "view" (views.notices.NoticeRevisionView).
        if not user_can_look(self.request.user, NoticeTemplate):
            return None
        if self.object.template_id and self.object.template_revision_id:
            return reverse(
                "wagtailsnippets_wagtail_batchcomms_noticetemplate:revisions_view",
                args=[self.object.template_id, self.object.template_revision_id],
            )
        return None

    def get_returned_letters(self) -> dict | None:
        """Letters of the batch that came back (returned mail), with the list behind them."""
        n = self.object.communications.filter(returned_at__isnull=False).count()
        if not n:
            return None
        url = self.can_see_communications and communications_url(self.object, returned="true")
        return {"n": n, "url": url}

    def get_counts_table(self, counts: dict) -> dict:
        statuses = list(CommunicationStatus)
        # The figures are the batch's; the lists behind them are the Communication Log's.
        linked = self.can_see_communications

        def url_for(batch, **params):
            return linked and communications_url(batch, **params)

        rows = []
        for channel in Channel:
            row = counts.get(channel, {})
            rows.append(
                {
                    "label": channel.label,
                    "url": url_for(self.object, channel=channel.value),
                    "cells": [
                        {
                            "n": row.get(status, 0),
                            "url": url_for(self.object, channel=channel.value, status=status.value),
                        }
                        for status in statuses
                    ],
                    "total": sum(row.values()),
                }
            )
        totals = [
            {
                "n": sum(counts.get(channel, {}).get(status, 0) for channel in Channel),
                "url": url_for(self.object, status=status.value),
            }
            for status in statuses
        ]
        return {
            "statuses": [status.label for status in statuses],
            "rows": rows,
            "totals": totals,
            "total": sum(cell["n"] for cell in totals),
        }

    def get_skipped(self) -> dict:
        labels = dict(SkipReason.choices)
        rows = (
            SkippedRecipient.objects.filter(batch=self.object)
            .order_by()
            .values_list("reason")
            .annotate(n=Count("pk"))
        )
        reasons = sorted(
            ((labels.get(reason, reason), n) for reason, n in rows), key=lambda r: -r[1]
        )
        return {"reasons": reasons, "total": sum(n for _, n in reasons)}

    def get_downloads(self) -> list:
        downloads = list(self.object.letter_downloads.select_related("requested_by")[:20])
        can_download = user_can_send_letters(self.request.user)
        for download in downloads:
            download.withdrawn = download.status == DownloadStatus.WITHDRAWN
            # Past its expiry, even before the housekeeping task marks it expired.
            download.expired_now = download.is_expired and not download.withdrawn
            download.url = can_download and _download_url(download)
            download.mailing_list_url = download.url and reverse(
                "wagtail_batchcomms_letters:mailing_list", args=[download.pk]
            )
            download.rerequest_url = reverse(
                "wagtail_batchcomms_letters:rerequest", args=[download.pk]
            )
        return downloads

    def get_communications(self) -> list:
        if not self.can_see_communications:
            return []
        communications = list(
            self.object.communications.select_related("location").order_by("pk")[:PREVIEW_ROWS]
        )
        user = self.request.user
        for communication in communications:
            communication.location_url = admin_url_for(user, communication.location)
        return communications

    def get_working_list(self) -> list:
        rows = list(
            self.object.batch_assemblies.select_related("assembly", "location").order_by(
                "location__account_number", "assembly__serial_number"
            )[:PREVIEW_ROWS]
        )
        # Links go where this user may go (edit, else inspect), else none: never to a
        # "permission denied".
        user = self.request.user
        for row in rows:
            row.assembly_url = admin_url_for(user, row.assembly)
            row.location_url = admin_url_for(user, row.location)
        return rows


def _download_url(download) -> str | None:
    """The permission-checked, expiring download view of letters.downloads."""
    if download.status != DownloadStatus.READY:
        return None
    return reverse("wagtail_batchcomms_letters:download", args=[download.pk])


def views(viewset) -> dict:
    conv = viewset.pk_path_converter
    return {
        "detail": (f"<{conv}:pk>/", viewset.construct_view(BatchDetailView)),
    }
