"""Releasing a batch of automatic notices held for review.

A Communication Type in "hold for review" mode makes its day's batch with
``awaiting_review``: its notices are generated but its emails wait. An admin with the
review permission (``review_rulerun``, "Can review and release automatic notices") either
releases them (this use case) or archives the batch (the ordinary Archive action: the day's
list is rejected; nothing attempted is deleted).

It lives in ``batches`` (not ``rules``) because the batch-action registry, which is below the
rules layer, runs it.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from wagtail.log_actions import log

from .. import history
from ..emails.sending import release_emails
from ..exceptions import BatchActionError
from ..models import Batch, BatchStatus, RuleRun
from ..permissions import user_can
from .transitions import lock_batch


def user_may_review(user) -> bool:
    """Whether ``user`` may review and release automatic notices."""
    return user_can(user, "review", RuleRun)


def release_reviewed(batch_id: int, *, user) -> int:
    """Release the held emails of a batch awaiting review; return how many were queued.

    Needs the review permission, a batch awaiting review and Generated (else
    ``BatchActionError`` with the reason, and nothing changes). Under the batch's row lock:
    a double click or a second reviewer finds it no longer awaiting review. Records who
    reviewed it and when, the release in the batch's history, then queues the emails
    (``emails.sending.release_emails``, which records the send); a batch with letters only
    is released with 0 queued.
    """
    if not user_may_review(user):
        raise BatchActionError(_("You do not have permission to review automatic notices."))
    with transaction.atomic():
        batch = lock_batch(batch_id)
        if not batch.awaiting_review:
            raise BatchActionError(
                _("This batch is not awaiting review (it was released or was not held).")
            )
        if batch.status != BatchStatus.GENERATED:
            raise BatchActionError(
                _("This batch is %(state)s; only Generated batches can be released.")
                % {"state": batch.get_status_display()}
            )
        batch.awaiting_review = False
        batch.reviewed_at = timezone.now()
        batch.reviewed_by = user
        Batch.objects.filter(pk=batch.pk).update(
            awaiting_review=False, reviewed_at=batch.reviewed_at, reviewed_by=user
        )
        queued = release_emails(batch, user=user)
        log(batch, history.RELEASE, user=user, data={"queued": queued})
    return queued
