"""The batch page's progress: generation, sending and letter downloads, as the polling script
reads them (``<pk>/progress/``, JSON) and as the page first shows them."""

from __future__ import annotations

from datetime import timedelta

from django.http import JsonResponse
from django.utils import timezone
from django.utils.timesince import timeuntil
from django.utils.translation import gettext as _
from django.views import View
from wagtail.admin.views.generic.base import BaseObjectMixin

from ...batches.generation import generation_stalled_since
from ...emails.progress import sending_state
from ...letters.downloads import download_progress
from ...models import Batch, BatchStatus, CommunicationStatus, DownloadStatus
from ...permissions import PolicyCheckedMixin
from ...timetext import clock


def progress_data(batch: Batch) -> dict:
    """What the polling script needs: state, generation progress, sending, downloads.

    "sending" is true only while a send task is alive as far as the database can tell
    (``emails.sending.sending_state``), so the bar does not outlive a dead worker.
    """
    sending = sending_state(batch)
    emails = sending.progress
    active_downloads = [
        _download_progress(download)
        for download in batch.letter_downloads.filter(
            status__in=[DownloadStatus.QUEUED, DownloadStatus.RENDERING]
        )
    ]
    stalled = generation_stalled_since(batch)
    return {
        "status": batch.status,
        "status_label": batch.get_status_display(),
        "generating": batch.status == BatchStatus.GENERATING,
        "generation": {
            "done": batch.progress_done,
            "total": batch.progress_total,
            "stalled": stalled is not None,
            "stalled_since": stalled and clock(stalled),
        },
        "sending": sending.active,
        "emails": {
            "done": emails[CommunicationStatus.SENT]
            + emails[CommunicationStatus.FAILED]
            + emails[CommunicationStatus.UNKNOWN],
            "total": emails["total"],
            "sending": emails[CommunicationStatus.SENDING],
            "pending": emails[CommunicationStatus.PENDING],
            "stopped_at": sending.stopped_at and clock(sending.stopped_at),
            "requested_at": sending.requested_at and clock(sending.requested_at),
        },
        "downloads": active_downloads,
    }


def _download_progress(download) -> dict:
    """Letters rendered so far (``letters.downloads.download_progress``) and the estimated
    time left, for the bar."""
    progress = download_progress(download)
    return {
        "id": download.pk,
        "status": download.status,
        "done": progress["letters_done"],
        "total": progress["letters_total"],
        "time_left": time_left(progress["seconds_left"]),
    }


def time_left(seconds: float | None) -> str:
    """ "About 3 minutes left" for an estimate in seconds; "" without one."""
    if seconds is None:
        return ""
    if seconds < 60:
        return _("Less than a minute left")
    now = timezone.now()
    span = timeuntil(now + timedelta(seconds=seconds), now, depth=1)
    return _("About %(time)s left") % {"time": span}


class BatchProgressView(PolicyCheckedMixin, BaseObjectMixin, View):
    """JSON for the polling script on the batch page (whoever may view the batch)."""

    model = Batch
    permission_required = "view"

    def get(self, request, *args, **kwargs):
        response = JsonResponse(progress_data(self.object))
        response["Cache-Control"] = "no-store"
        return response


def views(viewset) -> dict:
    conv = viewset.pk_path_converter
    return {
        "progress": (f"<{conv}:pk>/progress/", viewset.construct_view(BatchProgressView)),
    }
