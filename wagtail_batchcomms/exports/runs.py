"""An export's lifecycle: requested (queued on commit), claimed and written by one task with
its progress saved as it goes, ready until it expires (the file is removed, the record kept),
or failed with the reason.

Idempotent: django-q2's ORM broker may deliver the task twice. The run is claimed in the
database first (queued -> running); a second delivery finds it claimed and does nothing, and
a run whose worker died (no heartbeat for ``STALE_AFTER``) is claimed again by the next task
(``exports_housekeeping`` queues one, as it does for a run whose task was lost). A run started
again ``jobs.MAX_REQUEUES`` times that stops or is lost once more is failed instead, with
what to do: its task kills its worker every time (too many rows for the worker's memory or
Q_CLUSTER's ``timeout``), or no worker takes its tasks.
"""

from __future__ import annotations

import logging
import tempfile
import time
from datetime import datetime, timedelta
from typing import IO

from django.core.files import File
from django.db import transaction
from django.db.models import F, Q
from django.db.models.functions import Coalesce
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
    """Take export ``run_id`` for this task: a queued one, or a running one whose worker
    stopped beating ``STALE_AFTER`` ago (taking that over starts it again: counted, and
    refused past ``jobs.MAX_REQUEUES``; the housekeeping then fails it). Whether it did."""
    now = timezone.now()
    stale = now - timedelta(seconds=STALE_AFTER)
    run = ExportRun.objects.filter(pk=run_id)
    taken = {"status": ExportStatus.RUNNING, "claimed_by": worker, "claimed_at": now}
    if run.filter(
        Q(status=ExportStatus.QUEUED) | Q(status=ExportStatus.RUNNING, claimed_at=None)
    ).update(**taken, progress_done=0):
        return True
    return bool(
        run.filter(
            status=ExportStatus.RUNNING, claimed_at__lt=stale, requeues__lt=jobs.MAX_REQUEUES
        ).update(**taken, progress_done=0, requeues=F("requeues") + 1)
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


def _stopped_or_lost(now: datetime) -> Q:
    stale = now - timedelta(seconds=STALE_AFTER)
    lost = now - timedelta(seconds=QUEUED_LOST_AFTER)
    return Q(status=ExportStatus.RUNNING, claimed_at__lt=stale) | Q(
        status=ExportStatus.QUEUED, waiting_since__lt=lost
    )


def _runs(now: datetime):
    waiting = Coalesce("requeued_at", "created_at")
    return ExportRun.objects.alias(waiting_since=waiting).filter(_stopped_or_lost(now))


def requeue_stopped() -> dict[str, int]:
    """Queue again each export whose worker died (no heartbeat for ``STALE_AFTER``) or still
    waiting ``QUEUED_LOST_AFTER`` after the request or its last re-queue (its task message was
    lost; a duplicate claims nothing): it is queued again, waiting for a worker. One started
    again ``jobs.MAX_REQUEUES`` times is failed instead (``give_up``). Returns how many were
    queued again and how many failed."""
    now = timezone.now()
    return jobs.restart_stopped(
        _runs(now),
        reason=lambda run: "stopped" if run.status == ExportStatus.RUNNING else "lost",
        # Its dead worker, if only slow, stops at its next heartbeat (``Superseded``).
        restarted={
            "status": ExportStatus.QUEUED,
            "claimed_by": "",
            "claimed_at": None,
            "progress_done": 0,
            "requeued_at": now,
        },
        on_restart=lambda run, reason: jobs.enqueue(
            "wagtail_batchcomms.tasks.write_export", run.pk, name=f"export {run.pk}"
        ),
        give_up=lambda run, reason: give_up(run, reason, now),
    )


def give_up(run: ExportRun, reason: str, now: datetime) -> bool:
    """Fail ``run`` (still stopped or lost at ``now``, as ``reason`` says) for good, with the
    admin's message and a history entry; no file is kept (the task writes to a temporary file
    and stores it only once complete). Whether it did (a task may have claimed it)."""
    values = {"tries": run.requeues + 1}
    if reason == "lost":
        message = (
            _(
                "The export was tried %(tries)s times and no worker started it the last time: is a "
                "django-q2 worker (qcluster) running? Nothing more will be tried; export the "
                "listing again once a worker runs."
            )
            % values
        )
    else:
        message = (
            _(
                "The worker stopped while writing this export, %(tries)s tries in all (it may be "
                "too large for the worker's memory or time limit: Q_CLUSTER 'timeout'). Nothing "
                "more will be tried and no file was kept; export the listing again with fewer rows "
                "(filter it) or raise the limit."
            )
            % values
        )
    with transaction.atomic():
        if (
            not _runs(now)
            .filter(pk=run.pk, status=run.status, requeues=run.requeues)
            .update(
                status=ExportStatus.FAILED,
                error=message,
                finished_at=now,
                claimed_by="",
                claimed_at=None,
            )
        ):
            return False
        log(
            run,
            history.EXPORT_FAILED,
            data={"error": message, "reason": reason, "tries": run.requeues + 1},
        )
    return True


def exports_housekeeping() -> dict:
    """Scheduled: expire the files past ``expires_at``; queue again the runs whose worker
    died or whose task was lost, and fail those started again too often
    (``requeue_stopped``)."""
    now = timezone.now()
    expired = sum(
        expire(run)
        for run in ExportRun.objects.filter(status=ExportStatus.READY, expires_at__lte=now)
    )
    return {"expired": expired, **requeue_stopped()}
