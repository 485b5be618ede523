"""What the confirm page of a batch action shows, named by its registry entry
(``batches.actions``): the facts for its template, a sentence that depends on the batch, a
warning about the result. Read-only: nothing here changes a batch.
"""

from __future__ import annotations

from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from ..emails.progress import sending_progress
from ..letters.downloads import pending_letters
from ..models import Batch, CommunicationStatus, SkipReason
from ..notices.copies import batch_copies
from ..timetext import clock
from .closing import closing_plan
from .generation import preview_generation


def generation_facts(batch: Batch) -> dict:
    """The dry run: what generating now would give (notices by channel, skipped by reason)."""
    preview = preview_generation(batch)
    labels = dict(SkipReason.choices)
    return {
        "preview": preview,
        "skipped": [
            (labels.get(reason, reason), count)
            for reason, count in preview.skipped.items()
            if count
        ],
        "skipped_total": sum(preview.skipped.values()),
    }


def resume_text(batch: Batch) -> str:
    return _(
        "Generation has made no progress since %(time)s (%(done)s of %(total)s "
        "locations): the worker running it stopped, or its task was lost. Restarting "
        "queues it again; the notices generated so far are kept and none is made twice."
    ) % {
        "time": clock(batch.updated_at),
        "done": f"{batch.progress_done:,}",
        "total": f"{batch.progress_total:,}",
    }


def closing_facts(batch: Batch) -> dict:
    """Exactly what closing removes, keeps and withdraws (the same sorting the action does)."""
    return {"plan": closing_plan(batch)}


def email_facts(batch: Batch) -> dict:
    emails = sending_progress(batch)
    return {
        "pending_total": emails.get(CommunicationStatus.PENDING, 0),
        "failed_total": emails.get(CommunicationStatus.FAILED, 0),
        "unknown_total": emails.get(CommunicationStatus.UNKNOWN, 0),
        "retry": False,
        "copies": batch_copies(batch),
    }


def retry_facts(batch: Batch) -> dict:
    return {**email_facts(batch), "retry": True}


def letter_facts(batch: Batch) -> dict:
    """The letters a download would hold and "mark as mailed" would record."""
    return {"letter_total": pending_letters(batch.pk).count()}


def past_due_warning(clone: Batch) -> str | None:
    """The clone keeps the source's due date; generating refuses a past one."""
    if clone.due_date and clone.due_date < timezone.localdate():
        return _(
            "The due date (%(date)s) is in the past: edit the new batch and change it before "
            "generating."
        ) % {"date": date_format(clone.due_date)}
    return None
