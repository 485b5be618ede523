"""Generating a batch's communications: the task's body, idempotent and safe to re-run.

``generate(batch_id, token)`` is what the ``generate_batch`` task runs. It works through the
working list's locations in chunks (``GENERATION_CHUNK_SIZE`` locations, by id range), each
chunk one transaction with one ``INSERT ... SELECT`` (``generation_sql``); then one statement
writes the skipped report and the batch moves to Generated. A handful of queries per chunk,
whatever the size.

Re-running it (django-q2 delivering twice, a worker killed half way) never duplicates a
notice: every insert is ``ON CONFLICT DO NOTHING`` against the unique constraints on
``Communication``. A task whose token no longer matches the batch, or that finds the batch
no longer Generating, stops without touching anything. The contact rules come from the
batch's pinned template revision (``template_revision``).

Also here: the dry run of the confirm page (``preview_generation``) and whether a
Generating batch's task is still alive (``generation_stalled_since``).
"""

from __future__ import annotations

import datetime
import logging
from dataclasses import dataclass, field

from django.db import close_old_connections, connection, transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext as _
from wagtail.log_actions import log

from .. import history
from ..conf import batchcomms_settings
from ..models import (
    Batch,
    BatchAssembly,
    BatchStatus,
    Channel,
    Communication,
    NoticeTemplate,
    SkippedRecipient,
)
from ..timetext import clock, duration
from .contact_rules import ContactRules, GenerationError
from .generation_sql import (
    chunk_bounds,
    insert_chunk,
    insert_skipped,
    preview_counts,
    refresh_statistics,
)

logger = logging.getLogger(__name__)

#: The communication table's columns that the queries after a generation filter and join on
#: (the skipped report, the batch's counts, the send claims, the Log): their statistics are
#: refreshed after the bulk insert (``refresh_statistics``).
STATISTICS_COLUMNS = (
    "batch_id",
    "location_id",
    "assembly_id",
    "contact_id",
    "channel",
    "status",
    "kind",
    "created_at",
)


def _lock_current(batch_id: int, token: str) -> Batch | None:
    """The batch, locked, if this task still owns it; otherwise None."""
    batch = Batch.objects.select_for_update().filter(pk=batch_id).first()
    if batch is None or batch.status != BatchStatus.GENERATING or batch.task_token != token:
        return None
    return batch


def generate(batch_id: int, token: str) -> str:
    """Generate the batch's communications, then move it to Generated.

    Idempotent: safe to run twice or after a crash. On an error the partial rows are removed
    and the batch goes back to Open with the error shown; the error is re-raised so that
    django-q2 records the task as failed.
    """
    stale = f"Batch {batch_id}: not generating for this task any more; nothing done."
    with transaction.atomic():
        batch = _lock_current(batch_id, token)
        if batch is None:
            return stale
    try:
        rules = ContactRules.for_batch(batch)
        size = batchcomms_settings.GENERATION_CHUNK_SIZE
        refresh_statistics(BatchAssembly)
        bounds, total = chunk_bounds(batch_id, size)
        with transaction.atomic():
            batch = _lock_current(batch_id, token)
            if batch is None:
                return stale
            batch.progress_done, batch.progress_total = 0, total
            batch.save(update_fields=["progress_done", "progress_total", "updated_at"])
        for index, lo in enumerate(bounds):
            hi = bounds[index + 1] if index + 1 < len(bounds) else None
            with transaction.atomic():
                batch = _lock_current(batch_id, token)
                if batch is None:
                    return stale
                insert_chunk(batch_id, rules, lo, hi)
                batch.progress_done = total if hi is None else min(total, (index + 1) * size)
                batch.save(update_fields=["progress_done", "updated_at"])
        refresh_statistics(Communication, STATISTICS_COLUMNS)
        with transaction.atomic():
            batch = _lock_current(batch_id, token)
            if batch is None:
                return stale
            skipped = insert_skipped(batch_id, rules)
            counts = dict.fromkeys(Channel.values, 0)
            for row in (
                Communication.objects.filter(batch_id=batch_id)
                .order_by()
                .values_list("channel")
                .annotate(n=Count("id"))
            ):
                counts[row[0]] = row[1]
            batch.finish_generation()
            batch.progress_done = total
            batch.save()
            data = {
                "emails": counts[Channel.EMAIL],
                "letters": counts[Channel.LETTER],
                "skipped": skipped,
                "revision_id": batch.template_revision_id,
            }
            log(instance=batch, action=history.GENERATED, data=data)
    except Exception as error:
        _fail(batch_id, token, error)
        raise
    return (
        f"Batch {batch_id}: generated {data['emails']} emails and {data['letters']} letters, "
        f"{skipped} skipped."
    )


def describe(error: Exception) -> str:
    """The batch page's text for a failed generation: a ``GenerationError``'s own message,
    else the exception's type and text (at most 2,000 characters)."""
    if isinstance(error, GenerationError):
        return str(error)
    return f"Unexpected error ({type(error).__name__}): {error}"[:2000]


def _fail(batch_id: int, token: str, error: Exception) -> None:
    """Back to Open with the error; the partial rows go. Never raises (the caller does)."""
    message = describe(error)
    logger.error("generation of batch %s failed: %s", batch_id, message)
    # A broken connection (the database restarted) is replaced before the clean-up.
    if not connection.in_atomic_block:
        close_old_connections()
    try:
        with transaction.atomic():
            batch = _lock_current(batch_id, token)
            if batch is None:
                return
            # Only this run's rows (never attempted): a regeneration keeps attempted notices.
            Communication.objects.filter(batch_id=batch_id).never_attempted().delete()
            SkippedRecipient.objects.filter(batch_id=batch_id).delete()
            batch.fail_generation(message)
            batch.progress_done = batch.progress_total = 0
            batch.save()
            log(
                instance=batch,
                action=history.GENERATION_FAILED,
                data={"error": message},
            )
    except Exception:
        logger.exception("could not record the failed generation of batch %s", batch_id)


# --- the dry run ---------------------------------------------------------------------------


@dataclass
class GenerationPreview:
    """What generation would produce now (the dry run on the confirm page)."""

    emails: int = 0
    letters: int = 0
    locations: int = 0
    assemblies: int = 0
    skipped: dict[str, int] = field(default_factory=dict)  # SkipReason value -> count


def preview_generation(batch: Batch) -> GenerationPreview:
    """The counts generating now would give, from the template's current live revision.

    Inserts nothing. Without a published template only the working list is counted.
    """
    counts = BatchAssembly.objects.filter(batch=batch).aggregate(
        assemblies=Count("id"), locations=Count("location_id", distinct=True)
    )
    preview = GenerationPreview(assemblies=counts["assemblies"], locations=counts["locations"])
    # Fresh from the database: the editor may have published since ``batch`` was loaded.
    template = NoticeTemplate.objects.filter(pk=batch.template_id).first()
    if template is None or not template.live or template.live_revision is None:
        return preview
    rules = ContactRules.from_template(template.live_revision.as_object())
    channels, skipped = preview_counts(batch.pk, rules)
    preview.emails = channels[Channel.EMAIL]
    preview.letters = channels[Channel.LETTER]
    preview.skipped = skipped
    return preview


# --- is the task alive? --------------------------------------------------------------------


def generation_stalled_since(
    batch: Batch, *, now: datetime.datetime | None = None
) -> datetime.datetime | None:
    """When a Generating batch last made progress, if that is longer ago than
    ``GENERATION_STALE_AFTER`` seconds; None while it is making progress (or not Generating).

    The generation task saves the batch (``updated_at``) at its start and after every chunk,
    so a batch that has not changed for that long has lost its task: the worker died, or
    the broker lost the task (Redis), or the ORM broker holds it until its ``retry``.
    """
    if batch.status != BatchStatus.GENERATING or batch.updated_at is None:
        return None
    now = now or timezone.now()
    stale_after = datetime.timedelta(seconds=batchcomms_settings.GENERATION_STALE_AFTER)
    return batch.updated_at if now - batch.updated_at > stale_after else None


def still_generating_message(batch: Batch) -> str:
    """The refusal of a restart while generation is still making progress."""
    return _(
        "Generation is still making progress (the last at %(time)s); it can be restarted "
        "once it has made none for %(period)s."
    ) % {
        "time": clock(batch.updated_at),
        "period": duration(batchcomms_settings.GENERATION_STALE_AFTER),
    }
