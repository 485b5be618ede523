"""An export's lifecycle: requested (queued on commit), claimed and written by one task with
its progress saved as it goes, ready until it expires (the file is removed, the record kept),
or failed with the reason.

Idempotent: django-q2's ORM broker may deliver the task twice. The run is claimed in the
database first (queued -> running); a second delivery finds it claimed and does nothing, and
a run whose worker died (no heartbeat for ``STALE_AFTER``) is claimed again by the next task
(``exports_housekeeping`` queues one).
"""

from __future__ import annotations

import logging
import tempfile
import time
from datetime import timedelta
from typing import IO

from django.core.files import File
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from wagtail.log_actions import log

from .. import history, jobs
from ..conf import batchcomms_settings
from ..models import ExportRun, ExportStatus
from ..storage import letter_storage
from .replay import ExportTarget, listing_allows, write_listing

logger = logging.getLogger(__name__)

#: Seconds without a heartbeat after which a running export is taken to have lost its worker.
STALE_AFTER = 300
#: A queued export not started this long after the request: its task is taken as lost.
QUEUED_LOST_AFTER = 1800
#: Seconds between two saves of the progress (each one is also the heartbeat).
PROGRESS_EVERY = 1.0


class Superseded(Exception):
    """Another task took the run over (this one was taken for dead): stop writing."""


def request_export(
    user,
    *,
    listing_title: str,
    listing_path: str,
    query_string: str,
    export_format: str,
    file_name: str,
    row_count: int,
) -> ExportRun:
    """Record an export of the listing at ``listing_path`` with ``query_string`` (the filters,
    search and ordering as the user had them) and queue its task once this commits."""
    with transaction.atomic():
        run = ExportRun.objects.create(
            requested_by=user,
            listing_title=listing_title[:200],
            listing_path=listing_path,
            query_string=query_string,
            export_format=export_format,
            file_name=file_name[:255],
            row_count=row_count,
        )
        log(
            run,
            history.EXPORT_REQUESTED,
            user=user,
            data={
                "listing": run.listing_title,
                "format": export_format,
                "rows": row_count,
                "url": run.listing_url,
            },
        )
        jobs.enqueue("wagtail_batchcomms.tasks.write_export", run.pk, name=f"export {run.pk}")
    return run


def claim(run_id: int, worker: str) -> bool:
    now = timezone.now()
    stale = now - timedelta(seconds=STALE_AFTER)
    return bool(
        ExportRun.objects.filter(pk=run_id)
        .filter(
            Q(status=ExportStatus.QUEUED)
            | Q(status=ExportStatus.RUNNING, claimed_at__lt=stale)
            | Q(status=ExportStatus.RUNNING, claimed_at__isnull=True)
        )
        .update(status=ExportStatus.RUNNING, claimed_by=worker, claimed_at=now, progress_done=0)
    )


def run_export(run_id: int) -> str:
    """Write export ``run_id``'s file (the task). Returns what happened, for the task log."""
    worker = jobs.worker_id()
    if not claim(run_id, worker):
        return "not claimed (running elsewhere or done)"
    run = ExportRun.objects.select_related("requested_by").get(pk=run_id)
    mine = ExportRun.objects.filter(pk=run_id, claimed_by=worker)
    last = [0.0]

    def progress(rows: int) -> None:
        if time.monotonic() - last[0] < PROGRESS_EVERY:
            return
        last[0] = time.monotonic()
        if not mine.update(progress_done=rows, claimed_at=timezone.now()):
            raise Superseded

    user = run.requested_by
    try:
        with tempfile.TemporaryFile() as output:
            rows = None
            if user is not None and user.is_active:
                rows = write_listing(run, user, ExportTarget(output, progress))
            if rows is None:
                return fail(run, worker, _("You may no longer see this listing."))
            output.seek(0)
            name = letter_storage().save(f"exports/{run.pk}/{run.file_name}", File(output))
    except Superseded:
        return "superseded"
    except Exception as error:
        logger.exception("export %s failed", run_id)
        return fail(run, worker, _("The file could not be written: %(error)s") % {"error": error})
    now = timezone.now()
    expires = now + timedelta(days=batchcomms_settings.EXPORT_EXPIRY_DAYS)
    with transaction.atomic():
        if not mine.filter(status=ExportStatus.RUNNING).update(
            status=ExportStatus.READY,
            file=name,
            row_count=rows,
            progress_done=rows,
            finished_at=now,
            expires_at=expires,
            error="",
        ):
            letter_storage().delete(name)
            return "superseded"
        log(run, history.EXPORT_READY, user=user, data={"rows": rows})
    return f"ready: {rows} rows"


def fail(run: ExportRun, worker: str, error: str) -> str:
    with transaction.atomic():
        if ExportRun.objects.filter(pk=run.pk, claimed_by=worker).update(
            status=ExportStatus.FAILED, error=error, finished_at=timezone.now()
        ):
            log(run, history.EXPORT_FAILED, user=run.requested_by, data={"error": error})
    return f"failed: {error}"


def is_expired(run: ExportRun) -> bool:
    return run.status == ExportStatus.EXPIRED or (
        run.status == ExportStatus.READY
        and run.expires_at is not None
        and run.expires_at <= timezone.now()
    )


def download_problem(run: ExportRun, user) -> str | None:
    """Why ``user`` cannot download ``run`` now (a sentence for the page), or None.

    Only the requester (or a superuser) may, and only while the listing's own permission
    checks still let them see it; the file must be ready and not expired."""
    if not (user.is_superuser or run.requested_by_id == user.pk):
        return _("Only the person who asked for this export can download it.")
    if not listing_allows(user, run.listing_path, run.query_string):
        return _("You may no longer see this listing, so you cannot download its export.")
    if is_expired(run):
        return _("This export has expired and its file was removed; export the listing again.")
    if run.status != ExportStatus.READY:
        return _("This export is not ready yet.")
    return None


def open_export(run: ExportRun) -> IO[bytes]:
    return letter_storage().open(run.file, "rb")


def record_download(run: ExportRun, user) -> None:
    log(run, history.EXPORT_DOWNLOADED, user=user)


def expire(run: ExportRun) -> bool:
    """Remove ``run``'s file and mark it expired (the record stays). Whether it did."""
    with transaction.atomic():
        if not ExportRun.objects.filter(pk=run.pk, status=ExportStatus.READY).update(
            status=ExportStatus.EXPIRED
        ):
            return False
        log(run, history.EXPORT_EXPIRED, data={"file": run.file})
    if run.file:
        letter_storage().delete(run.file)
    return True


def exports_housekeeping() -> dict:
    """Scheduled: expire the files past ``expires_at``; queue again the runs whose worker
    died (no heartbeat for ``STALE_AFTER``) and those still waiting ``QUEUED_LOST_AFTER``
    after the request (their task message was lost; a duplicate claims nothing)."""
    now = timezone.now()
    expired = sum(
        expire(run)
        for run in ExportRun.objects.filter(status=ExportStatus.READY, expires_at__lte=now)
    )
    stale = now - timedelta(seconds=STALE_AFTER)
    lost = now - timedelta(seconds=QUEUED_LOST_AFTER)
    requeued = 0
    for pk in ExportRun.objects.filter(
        Q(status=ExportStatus.RUNNING, claimed_at__lt=stale)
        | Q(status=ExportStatus.QUEUED, created_at__lt=lost)
    ).values_list("pk", flat=True):
        jobs.enqueue("wagtail_batchcomms.tasks.write_export", pk, name=f"export {pk}")
        requeued += 1
    return {"expired": expired, "requeued": requeued}
