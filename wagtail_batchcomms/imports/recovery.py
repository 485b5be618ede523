"""Keeping a register import going when its task is lost or its worker stops, and ending one
that cannot finish.

The task of a run being checked or imported claims the run first (``claim``: a second
delivery while the first is alive does nothing) and saves a heartbeat with its progress
(``heartbeat``). ``requeue_stopped`` (scheduled) queues again a run whose worker stopped (no
heartbeat for ``STALE_AFTER``) or whose task was lost (no worker started it
``QUEUED_LOST_AFTER`` after the request): else a lost "importing" run would hold the
one-import-at-a-time lock for ever. ``waiting_since`` says which, for the run's page.

A run started again ``jobs.MAX_REQUEUES`` times (queued again here, or taken over by a task
the broker delivered again) that stops or is lost once more is marked failed instead, with
what happened and what to do: its task kills its worker every time (a file too big for the
worker's memory, Q_CLUSTER's ``timeout``), or no worker takes its tasks.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from wagtail.log_actions import log

from .. import history, jobs
from ..models import ImportRun, ImportStatus
from .rows import RECORDS

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
    worker stopped beating ``STALE_AFTER`` ago (taking that over starts it again: counted,
    and refused past ``jobs.MAX_REQUEUES``; the housekeeping then fails it). Whether it did."""
    now = timezone.now()
    waiting = ImportRun.objects.filter(pk=run_id, status=status)
    if waiting.filter(claimed_at__isnull=True).update(claimed_by=worker, claimed_at=now):
        return True
    stale = now - timedelta(seconds=STALE_AFTER)
    with transaction.atomic():
        if not waiting.filter(claimed_at__lt=stale, requeues__lt=jobs.MAX_REQUEUES).update(
            claimed_by=worker, claimed_at=now, requeues=F("requeues") + 1
        ):
            return False
        run = ImportRun.objects.get(pk=run_id)
        log(run, history.IMPORT_REQUEUED, data={"step": status, "reason": "taken over"})
    return True


def heartbeat(run: ImportRun, worker: str, *, saves_progress: bool = True) -> Callable[[int], None]:
    """``progress(done)`` for the task holding ``run``: the progress saved with the heartbeat
    (only the heartbeat without ``saves_progress``); ``Superseded`` once another task took the
    run over."""
    mine = ImportRun.objects.filter(pk=run.pk, claimed_by=worker)

    def progress(done: int) -> None:
        saved = {"progress_done": done} if saves_progress else {}
        if not mine.update(claimed_at=timezone.now(), **saved):
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


def requeue_stopped() -> dict[str, int]:
    """Scheduled: queue again each run being checked or imported whose worker stopped (no
    heartbeat for ``STALE_AFTER``) or whose task was lost (no worker started it
    ``QUEUED_LOST_AFTER`` after the request), with a history entry; the run counts as
    requested again now. The next task resumes it (a duplicate claims nothing). A run
    already started again ``jobs.MAX_REQUEUES`` times is failed instead (``give_up``).
    Returns how many were queued again and how many failed."""
    now = timezone.now()

    def restarted(run: ImportRun, reason: str) -> None:
        log(run, history.IMPORT_REQUEUED, data={"step": run.status, "reason": reason})
        queue(run)

    return jobs.restart_stopped(
        ImportRun.objects.filter(_stopped_or_lost(now)),
        reason=lambda run: "stopped" if run.claimed_at else "lost",
        restarted={"requested_at": now, "claimed_by": "", "claimed_at": None},
        on_restart=restarted,
        give_up=lambda run, reason: give_up(run, reason, now),
    )


def give_up(run: ImportRun, reason: str, now: datetime) -> bool:
    """Fail ``run`` (still stopped or lost at ``now``, as ``reason`` says) for good: a dry run
    goes back to "uploaded", an import to "failed" (which releases the one-import lock), with
    the admin's message and a history entry. Whether it did (a task may have claimed it)."""
    importing = run.status == ImportStatus.IMPORTING
    message = _gave_up_message(run, reason)
    with transaction.atomic():
        if not ImportRun.objects.filter(
            _stopped_or_lost(now), pk=run.pk, status=run.status, requeues=run.requeues
        ).update(
            status=ImportStatus.FAILED if importing else ImportStatus.UPLOADED,
            error=message,
            # A worker that was only slow stops at its next heartbeat (``Superseded``).
            claimed_by="",
            claimed_at=None,
        ):
            return False
        log(
            run,
            history.IMPORT_FAILED,
            data={
                "error": message,
                "step": run.status,
                "reason": reason,
                "tries": run.requeues + 1,
            },
        )
    return True


def written(run: ImportRun) -> tuple[int, int]:
    """(records written, records the dry run had to write) of an import that stopped. Each
    committed chunk stays; a resumed try's ``progress_total`` is what was left when it began,
    so what earlier tries wrote is the dry run's total less that."""
    results = run.results
    total = sum(results.get(kind, {}).get(o, 0) for kind in RECORDS for o in ("created", "updated"))
    if not results.get("writing"):
        return 0, total
    return max(0, min(total, total - run.progress_total + run.progress_done)), total


def _gave_up_message(run: ImportRun, reason: str) -> str:
    values = {"tries": run.requeues + 1}
    if run.status == ImportStatus.CHECKING:
        if reason == "lost":
            return (
                _(
                    "The dry run was tried %(tries)s times and no worker started it the last time: "
                    "is a django-q2 worker (qcluster) running? Nothing more will be tried, and "
                    "nothing was written to the register. Check the file again once a worker runs."
                )
                % values
            )
        return (
            _(
                "The worker stopped while checking this file, %(tries)s tries in all (the file "
                "may be too large for the worker's memory or time limit: Q_CLUSTER 'timeout'). "
                "Nothing more will be tried, and nothing was written to the register. Split the "
                "file or raise the limit, then upload it again."
            )
            % values
        )
    done, total = written(run)
    if done:
        values["written"] = _(
            "%(done)s of the %(total)s records to write were written and stay in the register "
            "(a new dry run shows them as unchanged)"
        ) % {"done": f"{done:,}", "total": f"{total:,}"}
    else:
        values["written"] = _("nothing was written to the register")
    if reason == "lost":
        return (
            _(
                "The import was tried %(tries)s times and no worker started it the last time: is "
                "a django-q2 worker (qcluster) running? Nothing more will be tried; %(written)s. "
                "Check the file and import it again once a worker runs."
            )
            % values
        )
    return (
        _(
            "The worker stopped while importing this file, %(tries)s tries in all (it may be too "
            "large for the worker's memory or time limit: Q_CLUSTER 'timeout'). Nothing more will "
            "be tried; %(written)s. Split the file or raise the limit, then check it and import "
            "it again."
        )
        % values
    )


def tries_left(run: ImportRun) -> int:
    """How many more times ``run`` is started again if it stops or is lost (0: it is failed)."""
    return max(0, jobs.MAX_REQUEUES - run.requeues)


def waiting_since(run: ImportRun) -> tuple[str, datetime | None]:
    """What a run being checked or imported waits for, for its page: ``("queued", when)``
    while no worker has started it, ``("stopped", its last heartbeat)`` once its worker
    stopped (``requeue_stopped`` queues it again, or fails it), else ``("", None)``."""
    if not run.is_busy:
        return "", None
    if run.claimed_at is None:
        return "queued", run.requested_at
    if run.claimed_at < timezone.now() - timedelta(seconds=STALE_AFTER):
        return "stopped", run.claimed_at
    return "", None
