"""Finishing what a killed run left, and a type's figures.

``resume_unfinished`` runs at the start of every run and tick; every part is idempotent:

* batches of automatic runs still Generating with no progress for
  ``GENERATION_STALE_AFTER`` seconds are generated again with the SAME token (generation is
  idempotent for one token, and the batch is touched first so a racing worker waits);
* Generated automatic batches not awaiting review whose emails are pending and that were
  never released (no "send" entry in their history) are released to the sender.

Claims without their batch cannot happen: ``claims.claim_type`` is one transaction.
A released batch whose send task the broker lost is the admin's, as for any batch (its page
offers sending again).
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.db.models import Count, Exists, OuterRef
from wagtail.models import ModelLogEntry

from .. import history
from ..batches.generation import describe, generate, generation_stalled_since
from ..emails.sending import release_emails
from ..models import (
    Batch,
    BatchStatus,
    Channel,
    Communication,
    CommunicationStatus,
    RuleRunType,
    SkippedRecipient,
)

logger = logging.getLogger(__name__)


def record_figures(batch: Batch) -> None:
    """The batch's counts on its ``RuleRunType`` (emails, letters, skipped by reason)."""
    channels = dict.fromkeys(Channel.values, 0)
    channels.update(
        Communication.objects.filter(batch=batch)
        .order_by()
        .values_list("channel")
        .annotate(n=Count("pk"))
    )
    skipped = dict(
        SkippedRecipient.objects.filter(batch=batch)
        .order_by()
        .values_list("reason")
        .annotate(n=Count("pk"))
    )
    RuleRunType.objects.filter(batch=batch).update(
        emails=channels[Channel.EMAIL],
        letters=channels[Channel.LETTER],
        skipped=skipped,
        assemblies=batch.assembly_count,
    )


def release_if_due(batch: Batch) -> int:
    """Release the batch's pending emails unless they were released before; call in a
    transaction holding the batch locked. Returns how many were queued."""
    if (
        batch.awaiting_review
        or ModelLogEntry.objects.for_instance(batch).filter(action=history.SEND).exists()
    ):
        return 0
    return release_emails(batch)


def _regenerate_stalled() -> None:
    for batch in Batch.objects.filter(
        rule_run__isnull=False, status=BatchStatus.GENERATING
    ).order_by("pk"):
        with transaction.atomic():
            batch = Batch.objects.select_for_update().get(pk=batch.pk)
            if generation_stalled_since(batch) is None:
                continue  # making progress (or finished) meanwhile
            batch.save(update_fields=["updated_at"])  # ours now: a racing resumer waits
        logger.warning("resuming the generation of automatic batch %s", batch.pk)
        try:
            generate(batch.pk, batch.task_token)
        except Exception as error:
            RuleRunType.objects.filter(batch=batch).update(error=describe(error))
            continue
        batch.refresh_from_db()
        record_figures(batch)


def _release_unreleased() -> None:
    pending = Communication.objects.filter(
        batch=OuterRef("pk"), channel=Channel.EMAIL, status=CommunicationStatus.PENDING
    )
    # Made in "send automatically" mode: the batch's own flag says so (awaiting_review is
    # set at creation for a type held for review, and reviewed_at once a reviewer acted).
    candidates = Batch.objects.filter(
        rule_run__isnull=False,
        status=BatchStatus.GENERATED,
        awaiting_review=False,
        reviewed_at__isnull=True,
    ).filter(Exists(pending))
    for batch_id in candidates.values_list("pk", flat=True):
        with transaction.atomic():
            batch = Batch.objects.select_for_update().get(pk=batch_id)
            if release_if_due(batch):
                logger.warning("released the emails of automatic batch %s", batch.pk)


def resume_unfinished() -> None:
    """Finish what killed runs left (module doc). Safe to run any time, from any worker."""
    _regenerate_stalled()
    _release_unreleased()
