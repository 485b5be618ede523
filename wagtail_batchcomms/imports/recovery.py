"""Keeping a register import going when its task is lost or its worker stops.

The task of a run being checked or imported claims the run first (``claim``: a second
delivery while the first is alive does nothing) and saves a heartbeat with its progress
(``heartbeat``). ``requeue_stopped`` (scheduled) queues again a run whose worker stopped (no
heartbeat for ``STALE_AFTER``) or whose task was lost (no worker started it
``QUEUED_LOST_AFTER`` after the request): else a lost "importing" run would hold the
one-import-at-a-time lock for ever. ``waiting_since`` says which, for the run's page.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from wagtail.log_actions import log

from .. import history, jobs
from ..models import ImportRun, ImportStatus

#: Seconds without a heartbeat after which a run being checked or imported lost its worker.
STALE_AFTER = 300
#: A run no worker started this long after the request: its task is taken as lost.
QUEUED_LOST_AFTER = 1800
#: The task of each busy status.
TASKS = {
    ImportStatus.CHECKING: "wagtail_batchcomms.tasks.check_register_import",
    ImportStatus.IMPORTING: "wagtail_batchcomms.tasks.run_register_import",
}


class Superseded(Exception):
    """Another task took the run over (this one was taken for dead): stop."""


def queue(run: ImportRun) -> None:
    """Queue the task of ``run``'s busy status (on commit)."""
    jobs.enqueue(TASKS[run.status], run.pk, name=str(run))


def claim(run_id: int, status: str, worker: str) -> bool:
    """Take run ``run_id`` in ``status`` for this task: one no task has started, or one whose
    worker stopped beating ``STALE_AFTER`` ago. Whether it did."""
    stale = timezone.now() - timedelta(seconds=STALE_AFTER)
    return bool(
        ImportRun.objects.filter(pk=run_id, status=status)
        .filter(Q(claimed_at__isnull=True) | Q(claimed_at__lt=stale))
        .update(claimed_by=worker, claimed_at=timezone.now())
    )


def heartbeat(run: ImportRun, worker: str) -> Callable[[int], None]:
    """``progress(done)`` for the task holding ``run``: the progress saved with the heartbeat;
    ``Superseded`` once another task took the run over."""
    mine = ImportRun.objects.filter(pk=run.pk, claimed_by=worker)

    def progress(done: int) -> None:
        if not mine.update(progress_done=done, claimed_at=timezone.now()):
            raise Superseded

    return progress


def _stopped_or_lost(now: datetime) -> Q:
    stale = now - timedelta(seconds=STALE_AFTER)
    lost = now - timedelta(seconds=QUEUED_LOST_AFTER)
    # No ``requested_at``: left busy before it was recorded (lost then, or its worker died).
    waiting = Q(requested_at__lt=lost) | Q(requested_at__isnull=True)
    return Q(status__in=list(TASKS)) & (
        Q(claimed_at__lt=stale) | (Q(claimed_at__isnull=True) & waiting)
    )


def requeue_stopped() -> int:
    """Scheduled: queue again each run being checked or imported whose worker stopped (no
    heartbeat for ``STALE_AFTER``) or whose task was lost (no worker started it
    ``QUEUED_LOST_AFTER`` after the request), with a history entry; the run counts as
    requested again now. The next task resumes it (a duplicate claims nothing). Returns how
    many were queued."""
    now = timezone.now()
    count = 0
    for run in ImportRun.objects.filter(_stopped_or_lost(now)):
        with transaction.atomic():
            # Unless a task claimed it since it was read.
            if not ImportRun.objects.filter(
                _stopped_or_lost(now), pk=run.pk, status=run.status
            ).update(requested_at=now, claimed_by="", claimed_at=None):
                continue
            reason = "stopped" if run.claimed_at else "lost"
            log(run, history.IMPORT_REQUEUED, data={"step": run.status, "reason": reason})
            queue(run)
        count += 1
    return count


def waiting_since(run: ImportRun) -> tuple[str, datetime | None]:
    """What a run being checked or imported waits for, for its page: ``("queued", when)``
    while no worker has started it, ``("stopped", its last heartbeat)`` once its worker
    stopped (``requeue_stopped`` queues it again), else ``("", None)``."""
    if not run.is_busy:
        return "", None
    if run.claimed_at is None:
        return "queued", run.requested_at
    if run.claimed_at < timezone.now() - timedelta(seconds=STALE_AFTER):
        return "stopped", run.claimed_at
    return "", None
