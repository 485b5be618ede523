"""The batch's reports as CSV: the skipped report (who got nothing and why) and the failed and
delivery-unknown notices, every cell through the spreadsheet formula guard."""

from __future__ import annotations

import csv
from collections.abc import Iterable

from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views import View

from ...models import Communication, CommunicationStatus, SkippedRecipient, SkipReason
from ...permissions import LookRequiredMixin
from ...spreadsheets import csv_cell
from .detail import BatchObjectMixin


def csv_report(filename: str, headings: list, rows: Iterable[Iterable]) -> HttpResponse:
    """A CSV download: ``headings``, then each row with every cell through the formula guard
    (names, addresses and servers' answers come from outside)."""
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = csv.writer(response)
    writer.writerow(headings)
    for row in rows:
        writer.writerow([csv_cell(value) for value in row])
    return response


class SkippedCsvView(BatchObjectMixin, View):
    """The skipped report as CSV: who got nothing and why, with the account and address."""

    def get(self, request, *args, **kwargs):
        batch = self.object
        labels = dict(SkipReason.choices)
        rows = (
            SkippedRecipient.objects.filter(batch=batch)
            .select_related("location", "assembly")
            .order_by("reason", "location__account_number", "pk")
        )
        headings = [
            _("Reason"),
            _("Reason code"),
            _("Account number"),
            _("Location"),
            _("Address"),
            _("Assembly"),
        ]
        return csv_report(
            f"batch-{batch.pk}-skipped.csv",
            headings,
            (
                (
                    labels.get(row.reason, row.reason),
                    row.reason,
                    row.location.account_number,
                    row.location.name,
                    row.location.address,
                    row.assembly.serial_number if row.assembly_id else "",
                )
                for row in rows.iterator(chunk_size=2000)
            ),
        )


def _csv_time(moment) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M:%S") if moment else ""


class FailuresCsvView(LookRequiredMixin, BatchObjectMixin, View):
    """The batch's failed and delivery-unknown notices as CSV: who, how, what the server
    answered, how many attempts and when. They are the record of what was attempted, kept
    when the batch is closed; the cells go through the formula guard (error texts come from
    mail servers, names and addresses from people). Its rows are the Communication Log's, so it
    needs the Communication Log's permission besides the batch's."""

    look_models = (Communication,)

    def get(self, request, *args, **kwargs):
        batch = self.object
        rows = (
            Communication.objects.filter(
                batch=batch,
                status__in=[CommunicationStatus.FAILED, CommunicationStatus.UNKNOWN],
            )
            .select_related("location")
            .order_by("status", "channel", "pk")
        )
        headings = [
            _("Communication"),
            _("Channel"),
            _("Status"),
            _("Status code"),
            _("Recipient"),
            _("Organisation"),
            _("Email"),
            _("Mailing address"),
            _("Account number"),
            _("Error code"),
            _("Error"),
            _("Attempts"),
            _("Last attempt"),
            _("Created"),
            _("Message-ID"),
        ]
        return csv_report(
            f"batch-{batch.pk}-failures.csv",
            headings,
            (
                (
                    row.pk,
                    row.get_channel_display(),
                    row.get_status_display(),
                    row.status,
                    row.recipient_name,
                    row.recipient_organisation,
                    row.email,
                    ", ".join(row.address_lines),
                    row.location.account_number,
                    row.error_code,
                    row.error,
                    row.attempts,
                    _csv_time(row.claimed_at),
                    _csv_time(row.created_at),
                    row.message_id,
                )
                for row in rows.iterator(chunk_size=2000)
            ),
        )


def views(viewset) -> dict:
    conv = viewset.pk_path_converter
    return {
        "skipped_csv": (f"<{conv}:pk>/skipped.csv", viewset.construct_view(SkippedCsvView)),
        "failures_csv": (f"<{conv}:pk>/failures.csv", viewset.construct_view(FailuresCsvView)),
    }
