"""The send task's loop: render a claimed chunk, send it and record every outcome (the rows'
side, claiming and writing outcomes, is ``claims``).

Used by ``emails.sending.send_pending_emails``; see that module for the guarantees.
"""

from __future__ import annotations

import io
import logging
import time
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django_fsm import ConcurrentTransition
from wagtail.log_actions import log

from .. import history
from ..conf import batchcomms_settings
from ..exceptions import RenderError
from ..letters.rendering import render_letters
from ..models import Batch, BatchStatus, Communication, CommunicationStatus
from ..notices.rendering import render_communication, render_communications
from .claims import release_claimed, write_outcomes
from .compose import MessageBuilder
from .pipeline import SendPipeline
from .transports import Delivery, Mailer, Outcome, Prepared

logger = logging.getLogger(__name__)

#: A send task gives up after this many connection failures in a row (server down).
MAX_CONNECTION_FAILURES = 3
#: A message that lost the connection this many times in one task (before the server could
#: take it) fails instead of going back to pending once more.
MAX_RETRIES_PER_MESSAGE = 3
#: Outcomes are written at least this often (seconds), in one transaction: a commit per
#: message would cost a disk sync each and cap a worker's rate (bench/emails.py measures it).
OUTCOME_FLUSH_SECONDS = 0.25


@dataclass
class SendResult:
    """What one run of ``send_pending_emails`` did."""

    claimed: int = 0
    sent: int = 0
    failed: int = 0
    unknown: int = 0
    released: int = 0  # claimed rows put back to pending (never handed to the server)
    reconnects: int = 0
    stopped: str = "done"  # done | deadline | connection | batch_closed
    error: str = ""


def mark_partially_sent(batch_id: int) -> bool:
    """Generated -> Partially Sent for the send task (a system action: no user, logged).

    Returns whether this call moved it. Safe against a concurrent move (another task, an
    admin completing the batch): the FSM's concurrent-transition check refuses a stale save.
    """
    batch = Batch.objects.filter(pk=batch_id).first()
    if batch is None or batch.status != BatchStatus.GENERATED:
        return False
    try:
        with transaction.atomic():
            batch.mark_partially_sent()
            # Only the state: a concurrent edit of other fields must not be overwritten.
            batch.save(update_fields=["status", "updated_at"])
            log(batch, history.PARTIALLY_SENT, data={"by": "send task"})
    except ConcurrentTransition:
        return False
    return True


class ChunkSender:
    """Sends claimed chunks of one batch for one worker, keeping state across chunks.

    ``batch_id=None`` sends one-time communications (Create Log): their content is the one
    recorded on each row, they copy no one and attach nothing, and there is no batch state
    to move.
    """

    def __init__(
        self, batch_id: int | None, worker: str, mailer: Mailer, result: SendResult
    ) -> None:
        self.batch_id = batch_id
        self.worker = worker
        self.mailer = mailer
        self.result = result
        self.builder = MessageBuilder()
        self.batch = (
            Batch.objects.select_related("template_revision").get(pk=batch_id)
            if batch_id is not None
            else None
        )
        self.template = self.builder.template_for(self.batch) if self.batch else None
        self.moved_batch = False
        self.sent_any = False
        self.outcomes: list[tuple[int, dict]] = []  # (pk, fields) not yet written
        self.last_flush = time.monotonic()
        self.pipeline = SendPipeline(mailer, max_failures=MAX_CONNECTION_FAILURES)
        self.in_flight: dict[int, tuple[Communication, object]] = {}
        self.crash: Exception | None = None
        self.retries: dict[int, int] = {}  # pk -> connections lost before the server took it
        self.stale_after = batchcomms_settings.SENDING_STALE_AFTER
        self.last_heartbeat = time.monotonic()
        self.seconds_per_message = 0.0

    # --- sizing and liveness -------------------------------------------------------------

    def claim_size(self, deadline: float | None) -> int:
        """How many rows to claim: the setting, bounded so that a chunk finishes well before
        its rows could look stale and before the deadline."""
        size = max(1, batchcomms_settings.SEND_CLAIM_SIZE)
        rate = batchcomms_settings.EMAIL_RATE_LIMIT
        per_message = max(self.seconds_per_message, 1.0 / rate if rate else 0.0)
        if per_message:
            size = min(size, max(1, int(self.stale_after / 4 / per_message)))
            if deadline is not None:
                size = min(size, max(1, int((deadline - time.monotonic()) / per_message)))
        return size

    def heartbeat(self) -> None:
        """Refresh ``claimed_at`` of this worker's rows, so the reaper knows it is alive."""
        now = time.monotonic()
        if now - self.last_heartbeat < self.stale_after / 4:
            return
        self.last_heartbeat = now
        Communication.objects.filter(
            claimed_by=self.worker, status=CommunicationStatus.SENDING
        ).update(claimed_at=timezone.now())

    # --- the chunk ---------------------------------------------------------------------

    def send_chunk(self, rows: list[Communication]) -> bool:
        """Send ``rows`` (claimed by this worker). Returns False when the task should stop
        because the mail server cannot be reached; unsent rows are then back to pending.

        This thread renders and builds each message and hands it to the pipeline's thread,
        which sends them in order over the one connection while the next is being built.
        """
        started = time.monotonic()
        rendered = self.render(rows)
        not_handed = {row.pk for row in rows}  # never given to the mail server
        self.in_flight = {}
        try:
            for row, notice in zip(rows, rendered, strict=True):
                if self.pipeline.stopped:
                    break
                self.heartbeat()
                if isinstance(notice, Exception):
                    not_handed.discard(row.pk)
                    self.record(row, Delivery(Outcome.FAILED, text=str(notice)), None)
                    continue
                try:
                    prepared = self.prepare(row, notice)
                except Exception as error:
                    logger.exception("cannot build the email of communication %s", row.pk)
                    not_handed.discard(row.pk)
                    failure = Delivery(Outcome.FAILED, text=f"Cannot build the message: {error}")
                    self.record(row, failure, None)
                    continue
                not_handed.discard(row.pk)
                self.in_flight[row.pk] = (row, notice)
                self.pipeline.submit(row.pk, prepared)
                self.collect(wait=False, not_handed=not_handed)
        except BaseException:
            self.pipeline.stop()  # whatever was handed over is still answered below
            raise
        finally:
            self.collect(wait=True, not_handed=not_handed)
            self.flush()
            # Claimed rows never handed to the server go back to pending, whatever stopped us.
            self.result.released += release_claimed(self.worker, list(not_handed))
            self.seconds_per_message = (time.monotonic() - started) / max(1, len(rows))
        if self.crash is not None:
            raise RuntimeError("the mail backend failed unexpectedly") from self.crash
        if self.pipeline.stopped_by_failures:
            self.result.error = self.pipeline.last_error
            return False
        return True

    def collect(self, *, wait: bool, not_handed: set[int]) -> None:
        """Record the outcomes the pipeline has finished (all of them with ``wait``)."""
        for pk, outcome in self.pipeline.results(wait=wait):
            row, notice = self.in_flight.pop(pk)
            if outcome is None:
                not_handed.add(pk)  # the pipeline stopped before attempting it
            elif isinstance(outcome, Exception):
                # Not a mail-server answer: a bug or an unexpected backend error. The message
                # may have left: record that, then fail the task loudly.
                logger.error("sending communication %s failed unexpectedly", pk, exc_info=outcome)
                self.crash = outcome
                self.record(row, Delivery(Outcome.UNKNOWN, text=repr(outcome)), notice)
            else:
                self.record(row, outcome, notice)

    def close(self) -> None:
        self.pipeline.close()

    def render(self, rows: list[Communication]) -> list:
        """Rendered notices in row order; a row that cannot render gets its ``RenderError``."""
        try:
            return list(render_communications(rows, letter=False))
        except RenderError:
            # One bad row spoils the batch call; render one by one to fail only that one.
            results: list = []
            for row in rows:
                try:
                    results.append(render_communication(row, letter=False))
                except RenderError as error:
                    results.append(error)
            return results

    def prepare(self, row: Communication, notice) -> Prepared:
        """The message of ``row``, built and ready for the wire; raises if it cannot be."""
        message = self.builder.build(
            row,
            subject=notice.subject,
            text=notice.text,
            html=notice.html,
            template=self.template,
            attachment=self.attachment(row),
            connection=self.mailer.connection,
        )
        return self.mailer.prepare(message)

    def attachment(self, row: Communication) -> bytes | None:
        if not (self.template and self.template.attach_pdf):
            return None
        # The same rendering as the letters download and the batch page's letter preview.
        buffer = io.BytesIO()
        render_letters([row], buffer)
        return buffer.getvalue()

    def record(self, row: Communication, delivery: Delivery, notice) -> None:
        """Note the outcome of one message; it reaches the database within
        ``OUTCOME_FLUSH_SECONDS`` (and always before the next claim or the task's end)."""
        status = {
            Outcome.SENT: CommunicationStatus.SENT,
            Outcome.FAILED: CommunicationStatus.FAILED,
            Outcome.UNKNOWN: CommunicationStatus.UNKNOWN,
            Outcome.RETRY: CommunicationStatus.PENDING,
        }[delivery.outcome]
        fields: dict = {"status": status, "error_code": delivery.code[:20], "error": delivery.text}
        if notice is not None and delivery.outcome in (Outcome.SENT, Outcome.UNKNOWN):
            # The record of what was (or may have been) sent.
            fields.update(
                subject=notice.subject[:500], body_html=notice.html, body_text=notice.text
            )
        if delivery.provider_message_id or delivery.recipients:
            # What the provider answered (anymail transport): its id, as tracking webhooks
            # will name the message, and each recipient's status.
            fields.update(
                provider_message_id=delivery.provider_message_id[:255],
                recipient_statuses=delivery.recipients,
            )
        if delivery.outcome == Outcome.SENT:
            fields["sent_at"] = timezone.now()
            self.sent_any = True
        if delivery.outcome == Outcome.RETRY:
            self.retries[row.pk] = self.retries.get(row.pk, 0) + 1
            if self.retries[row.pk] >= MAX_RETRIES_PER_MESSAGE:
                # This very message keeps breaking the connection before the server takes
                # it: stop going round in circles; an admin can retry it later.
                delivery = Delivery(
                    Outcome.FAILED,
                    delivery.code,
                    f"Gave up after {self.retries[row.pk]} lost connections: {delivery.text}",
                )
                fields.update(status=CommunicationStatus.FAILED, error=delivery.text)
            else:
                fields.update(claimed_at=None, claimed_by="")
        self.outcomes.append((row.pk, fields))
        counter = {
            Outcome.SENT: "sent",
            Outcome.FAILED: "failed",
            Outcome.UNKNOWN: "unknown",
            Outcome.RETRY: "released",
        }[delivery.outcome]
        setattr(self.result, counter, getattr(self.result, counter) + 1)
        if time.monotonic() - self.last_flush >= OUTCOME_FLUSH_SECONDS:
            self.flush()

    def flush(self) -> None:
        """Write the noted outcomes, all in one transaction (one disk sync, not one each).

        Until then the rows are still ``sending`` under this worker's claim: if the process
        dies first they become "delivery unknown", never re-sent; so deferring the write by
        a fraction of a second costs accuracy after a crash, never a duplicate.
        """
        self.last_flush = time.monotonic()
        if self.outcomes:
            written = write_outcomes(self.worker, self.outcomes)
            if written != len(self.outcomes):
                logger.warning(
                    "%s of %s outcomes not written: rows changed hands while being sent",
                    len(self.outcomes) - written,
                    len(self.outcomes),
                )
            self.outcomes.clear()
        if self.sent_any and not self.moved_batch and self.batch_id is not None:
            self.moved_batch = True
            mark_partially_sent(self.batch_id)
