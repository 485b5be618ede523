"""Sending a batch's emails: start (the admin's button), the send task's body, retry, progress.

Each email is sent at most once, whatever clicks, admins, workers or task re-runs happen:

1. a send task CLAIMS a chunk of pending rows in its own short transaction
   (``pending -> sending``, ``claimed_by`` = the task's unique worker id); two tasks never
   claim the same row (``SELECT ... FOR UPDATE SKIP LOCKED`` on PostgreSQL, one
   ``UPDATE ... WHERE id IN (SELECT ... LIMIT n) AND status = 'pending'`` on SQLite, whose
   writers are serialised);
2. it renders the chunk (batched) and sends one message at a time over one open connection
   (``emails.transports.Mailer``), noting each outcome right after that message and writing
   the noted outcomes at least every quarter second in one transaction;
3. rows it claimed but did not get to are put back to ``pending`` when it stops; rows a dead
   worker left in ``sending`` are turned into ``unknown`` by ``reap_stale_sending()`` and are
   only sent again after an admin's explicit retry.
"""

from __future__ import annotations

import logging
import time

from django.db import close_old_connections, connection, transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext as _
from wagtail.log_actions import log

from .. import history
from ..conf import batchcomms_settings
from ..exceptions import SendingError
from ..jobs import enqueue, task_time_budget, worker_id
from ..models import Batch, Channel, Communication, CommunicationStatus
from ..models.batches import DELIVERABLE_STATES
from ..notices.copies import batch_copies
from ..permissions import user_can
from .claims import claim_emails
from .send_loop import ChunkSender, SendResult
from .transports import Mailer

logger = logging.getLogger(__name__)

SEND_TASK = "wagtail_batchcomms.tasks.send_batch_emails"
SEND_ONE_TASK = "wagtail_batchcomms.tasks.send_one_time_email"

STALE_ERROR = (
    "The worker sending this email stopped before it recorded the outcome: it may or may not "
    "have been delivered. It is not sent again unless you retry it."
)


# --- the admin's side ------------------------------------------------------------------------


def user_can_send(batch: Batch, user) -> bool:
    """Whether ``user`` may send ``batch``'s emails now: a Generated or Partially Sent batch
    and ``send_batch`` (the permission of the Generated -> Partially Sent transition)."""
    return batch.can_send and user_can(user, "send", Batch)


def start_sending(
    batch_id: int,
    *,
    user,
    retry_failed: bool = False,
    retry_unknown: bool = False,
    communication_ids: list[int] | None = None,
) -> int:
    """Queue the sending of a batch's pending emails; return how many are queued.

    Needs ``send_batch``, a Generated or Partially Sent batch and something to send after
    the retries (else ``SendingError``, and nothing is logged).
    ``retry_failed`` first puts the failed emails back to pending; ``retry_unknown`` does the
    same for "delivery unknown" ones (which may have been delivered: only on an admin's
    explicit request). ``communication_ids`` limits the retry to those emails (failed or
    unknown ones among them go back to pending). Each retry is recorded in the batch's
    history. Starting while a send task is running is harmless: tasks claim rows, so no
    email goes out twice; the extra task finds nothing left to claim.
    """
    with transaction.atomic():
        batch = Batch.objects.get(pk=batch_id)
        if not batch.can_send:
            raise SendingError(
                _("Emails can be sent only from a Generated or Partially sent batch.")
            )
        if not user_can_send(batch, user):
            raise SendingError(_("You do not have permission to send this batch."))
        if batch.awaiting_review:
            # Automatic notices held for review go out when a reviewer releases them.
            raise SendingError(_("This batch is awaiting review: release it to send its emails."))
        retried = retry_emails(
            batch,
            user=user,
            failed=retry_failed or communication_ids is not None,
            unknown=retry_unknown or communication_ids is not None,
            communication_ids=communication_ids,
        )
        queued = release_emails(batch, user=user, retried=retried)
        if not queued:
            # Nothing to do: refused (nothing logged), with the reason rather than the state.
            if retry_failed or retry_unknown or communication_ids is not None:
                raise SendingError(_("No emails failed, so there is nothing to retry."))
            raise SendingError(_("No emails are waiting to be sent."))
    return queued


def release_emails(batch: Batch, *, user=None, retried: int = 0) -> int:
    """Queue the send task for ``batch``'s pending emails and record it in the batch's
    history; return how many are pending (0: nothing queued, nothing logged).

    No permission or state check: call it inside a transaction after the caller's
    (``start_sending`` for an admin's button; the daily run of automatic notices, with no
    user, and the release of a batch held for review, with the reviewer).
    """
    emails = Communication.objects.filter(batch=batch, channel=Channel.EMAIL)
    queued = emails.filter(status=CommunicationStatus.PENDING).count()
    if not queued:
        return 0
    enqueue(SEND_TASK, batch.pk, name=f"Send emails of batch {batch.pk}")
    # Where every email is also copied (and which copies the setting refuses): the org
    # admin reads it in the batch's history.
    copies = batch_copies(batch)
    data = {"queued": queued, "retried": retried}
    if copies:
        data["copies"] = copies.as_log_data()
    log(batch, history.SEND, user=user, data=data)
    return queued


def retry_emails(
    batch: Batch,
    *,
    user,
    failed: bool = True,
    unknown: bool = False,
    communication_ids: list[int] | None = None,
) -> int:
    """Put failed (and, when asked, delivery-unknown) emails back to pending; return how many.

    Call inside a transaction after checking permission (``start_sending`` does both). The
    Message-ID is kept, so a retried message that did arrive the first time can be matched.
    The earlier answer (``error``, ``error_code``) is kept too, shown as the last attempt's
    answer while the email waits; the next attempt's outcome overwrites it (the send task
    writes both fields with every outcome). The batch's history says how many were requeued.
    """
    statuses = [
        s
        for s, wanted in (
            (CommunicationStatus.FAILED, failed),
            (CommunicationStatus.UNKNOWN, unknown),
        )
        if wanted
    ]
    if not statuses:
        return 0
    rows = Communication.objects.filter(batch=batch, channel=Channel.EMAIL, status__in=statuses)
    if communication_ids is not None:
        rows = rows.filter(pk__in=communication_ids)
    by_status = dict(rows.values_list("status").annotate(n=Count("pk")).order_by())
    count = rows.update(status=CommunicationStatus.PENDING, claimed_by="")
    if count:
        log(
            batch,
            history.SEND_RETRY,
            user=user,
            data={
                "count": count,
                "failed": by_status.get(CommunicationStatus.FAILED, 0),
                "unknown": by_status.get(CommunicationStatus.UNKNOWN, 0),
            },
        )
    return count


def reap_stale_sending() -> int:
    """Turn rows left in ``sending`` longer than ``SENDING_STALE_AFTER`` into ``unknown``.

    A live send task refreshes its rows' ``claimed_at`` well within that period, so only a
    dead worker's rows go stale. They are never re-sent automatically. Returns the count.
    """
    cutoff = timezone.now() - timezone.timedelta(seconds=batchcomms_settings.SENDING_STALE_AFTER)
    stale = Communication.objects.filter(status=CommunicationStatus.SENDING, claimed_at__lt=cutoff)
    total = 0
    with transaction.atomic():
        rows = list(stale.values_list("pk", "batch_id"))
        if not rows:
            return 0
        total = Communication.objects.filter(
            pk__in=[pk for pk, _batch in rows],
            status=CommunicationStatus.SENDING,
            claimed_at__lt=cutoff,
        ).update(status=CommunicationStatus.UNKNOWN, error=STALE_ERROR, error_code="")
        per_batch: dict[int, int] = {}
        for _pk, batch_id in rows:
            per_batch[batch_id] = per_batch.get(batch_id, 0) + 1
        for batch in Batch.objects.filter(pk__in=[pk for pk in per_batch if pk is not None]):
            log(batch, history.DELIVERY_UNKNOWN, data={"count": per_batch[batch.pk]})
        one_time = [pk for pk, batch_id in rows if batch_id is None]
        for communication in Communication.objects.filter(pk__in=one_time):
            log(communication, history.DELIVERY_UNKNOWN, data={"count": 1})
    logger.warning("%s emails left in 'sending' by a dead worker are now 'unknown'", total)
    return total


# --- the send task's side --------------------------------------------------------------------


def send_pending_emails(batch_id: int, worker: str, *, deadline: float | None = None) -> SendResult:
    """The send task's body: claim, render, send and record until nothing is pending.

    ``worker`` must be unique to this run (``jobs.worker_id()``). ``deadline`` (a
    ``time.monotonic()`` value) stops it before the task runner's timeout would kill it; the
    result's ``stopped`` then says ``deadline`` and the caller queues a new task. Stops too
    after ``MAX_CONNECTION_FAILURES`` connection failures in a row (``stopped="connection"``)
    or when the batch is no longer sendable (``batch_closed``). The first email sent moves
    the batch from Generated to Partially Sent.
    """
    result = SendResult()
    try:
        reap_stale_sending()
        with Mailer(rate=batchcomms_settings.EMAIL_RATE_LIMIT) as mailer:
            sender = ChunkSender(batch_id, worker, mailer, result)
            try:
                _send_chunks(sender, batch_id, worker, result, deadline)
            finally:
                sender.close()
            result.reconnects = mailer.reconnects
    except Exception as error:
        # The batch page must not go on saying "sending" after a crash: say so in the
        # history, then let django-q2 record the task as failed.
        _record_crash(batch_id, error)
        raise
    if result.stopped == "connection":
        batch = Batch.objects.filter(pk=batch_id).first()
        if batch is not None:
            log(batch, history.SEND_STOPPED, data={"error": result.error[:500]})
    return result


def _record_crash(batch_id: int, error: Exception) -> None:
    """Log "Sending stopped: <error>" in the batch's history. Never raises (the caller does)."""
    message = f"{type(error).__name__}: {error}"[:500]
    logger.error("the send task of batch %s crashed: %s", batch_id, message)
    # A broken connection (the database restarted) is replaced before writing the entry.
    if not connection.in_atomic_block:
        close_old_connections()
    try:
        batch = Batch.objects.filter(pk=batch_id).first()
        if batch is not None:
            log(batch, history.SEND_STOPPED, data={"error": message, "crashed": True})
    except Exception:
        logger.exception("could not record the crash of the send task of batch %s", batch_id)


def _send_chunks(
    sender: ChunkSender, batch_id: int, worker: str, result: SendResult, deadline: float | None
) -> None:
    while True:
        if deadline is not None and time.monotonic() >= deadline:
            result.stopped = "deadline"
            return
        rows = claim_emails(batch_id, worker, sender.claim_size(deadline))
        if not rows:
            closed = not Batch.objects.filter(pk=batch_id, status__in=DELIVERABLE_STATES).exists()
            result.stopped = "batch_closed" if closed else "done"
            return
        result.claimed += len(rows)
        if not sender.send_chunk(rows):
            result.stopped = "connection"
            return


def run_send_task(batch_id: int) -> SendResult:
    """The whole send task: reap stale rows, send under a fresh worker id until done or out
    of time, and queue a follow-up task when time ran out with emails still pending."""
    budget = task_time_budget()
    deadline = time.monotonic() + budget if budget else None
    result = send_pending_emails(batch_id, worker_id(), deadline=deadline)
    if result.stopped == "deadline":
        enqueue(SEND_TASK, batch_id, name=f"Send emails of batch {batch_id} (continued)")
    logger.info("send task for batch %s: %s", batch_id, result)
    return result


# --- one email, not in a batch (Create Log) --------------------------------------------------


def release_one_time_email(communication: Communication, *, user=None, retry: bool = False) -> bool:
    """Queue the send task of one pending one-time email (no batch) and record it in the
    communication's history; return whether it was queued.

    No permission check (the caller's). ``retry`` first puts a failed or delivery-unknown
    one back to pending (the caller checked it may). Call inside a transaction: the task is
    queued on commit, so the request never talks to the mail server.
    """
    rows = Communication.objects.filter(
        pk=communication.pk, batch__isnull=True, channel=Channel.EMAIL
    )
    if retry:
        rows.filter(status__in=[CommunicationStatus.FAILED, CommunicationStatus.UNKNOWN]).update(
            status=CommunicationStatus.PENDING, claimed_by=""
        )
    if not rows.filter(status=CommunicationStatus.PENDING).exists():
        return False
    enqueue(SEND_ONE_TASK, communication.pk, name=f"Send one-time email {communication.pk}")
    log(communication, history.SEND_RETRY if retry else history.SEND, user=user, data={"queued": 1})
    return True


def send_one_time_email(communication_id: int, worker: str) -> SendResult:
    """The one-time email task's body: claim the row, send it once, record the outcome.

    The same claim (pending -> sending -> sent/failed/unknown), message building, transport
    and outcome writing as a batch's send task (``ChunkSender`` without a batch), so the
    email goes out at most once however often the task runs. A lost connection is an
    outcome here, not a reason to wait: nothing else would send the row again, so it is
    recorded as failed with the server's answer, and an admin retries it from its page.
    """
    result = SendResult()
    reap_stale_sending()
    rows = claim_emails(None, worker, 1, communication_ids=[communication_id])
    if not rows:
        result.stopped = "done"
        return result
    result.claimed = len(rows)
    with Mailer(rate=batchcomms_settings.EMAIL_RATE_LIMIT) as mailer:
        sender = ChunkSender(None, worker, mailer, result)
        try:
            if not sender.send_chunk(rows):
                result.stopped = "connection"
        finally:
            sender.close()
    if result.released:
        # This run's row came back to pending (the connection was lost before the server
        # took it): failed, with the reason the send loop wrote.
        Communication.objects.filter(
            pk=communication_id, status=CommunicationStatus.PENDING, claimed_by=""
        ).exclude(error="").update(status=CommunicationStatus.FAILED)
    communication = Communication.objects.filter(pk=communication_id).first()
    if communication is not None and communication.status != CommunicationStatus.SENDING:
        log(
            communication,
            history.ONE_TIME_OUTCOME,
            data={"status": communication.status, "error": communication.error[:500]},
        )
    return result


def run_send_one_task(communication_id: int) -> SendResult:
    """The whole one-time email task, under a fresh worker id."""
    result = send_one_time_email(communication_id, worker_id())
    logger.info("one-time email %s: %s", communication_id, result)
    return result
