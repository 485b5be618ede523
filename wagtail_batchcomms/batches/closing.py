"""Closing a batch out (complete, archive) without losing the record of what was attempted.

Only notices never attempted are removed: pending emails no send task ever claimed, and
letters never marked as mailed. Everything else stays with what the server answered: sent
emails, mailed letters, failed and delivery-unknown notices, emails being sent right now, and
emails put back in the queue after an earlier attempt (they will not be sent once the batch
is closed, but the earlier attempt may have reached the recipient).

A letter becomes attempted only when it is marked as mailed. A letters PDF that holds letters
being removed is withdrawn (``DownloadStatus.WITHDRAWN``, files deleted): printing it would
send letters that leave no record. One still being prepared is withdrawn too, since it can
never finish for a closed batch. A ready PDF whose letters were all marked as mailed stays
downloadable until it expires: those letters are the record.

``closing_plan`` is what the confirm page shows; ``close_out`` does it inside the service's
transaction (batch row locked) and returns the history entry's data, which
``history.batches.CloseFormatter`` turns into "removed ...; kept ...; withdrew ...".
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Count, Q
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from ..history.kept import KEPT_LABELS, kept_text
from ..letters import downloads
from ..models import Batch, Channel, Communication, CommunicationStatus, LetterDownload


@dataclass
class ClosingPlan:
    """What closing the batch now removes, keeps and withdraws."""

    removed: dict[str, int] = field(default_factory=lambda: dict.fromkeys(Channel.values, 0))
    kept: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KEPT_LABELS, 0))
    #: (download, how many of its letters are removed)
    withdrawn: list[tuple[LetterDownload, int]] = field(default_factory=list)

    @property
    def removed_total(self) -> int:
        return sum(self.removed.values())

    @property
    def kept_total(self) -> int:
        return sum(self.kept.values())

    @property
    def removed_sentence(self) -> str:
        """E.g. "3 notices that were never attempted will be removed: 1 email not sent,
        2 letters not marked as mailed." """
        total = self.removed_total
        head = ngettext(
            "%(n)s notice that was never attempted will be removed:",
            "%(n)s notices that were never attempted will be removed:",
            total,
        ) % {"n": f"{total:,}"}
        parts = []
        emails, letters_ = self.removed.get(Channel.EMAIL, 0), self.removed.get(Channel.LETTER, 0)
        if emails:
            parts.append(
                ngettext("%(n)s email not sent", "%(n)s emails not sent", emails)
                % {"n": f"{emails:,}"}
            )
        if letters_:
            parts.append(
                ngettext(
                    "%(n)s letter not marked as mailed",
                    "%(n)s letters not marked as mailed",
                    letters_,
                )
                % {"n": f"{letters_:,}"}
            )
        return f"{head} {', '.join(parts)}."

    @property
    def kept_rows(self) -> list[tuple[str, str]]:
        """(key, text) of what stays, leaving out the kinds there are none of."""
        return [(key, kept_text(key, n)) for key, n in self.kept.items() if n]


def _tally(batch: Batch) -> ClosingPlan:
    """The batch's notices sorted into removed and kept, in one grouped query."""
    plan = ClosingPlan()
    rows = (
        Communication.objects.filter(batch=batch)
        .order_by()
        .values_list("channel", "status")
        .annotate(n=Count("pk"), tried=Count("pk", filter=Q(attempts__gt=0)))
    )
    for channel, status, n, tried in rows:
        if status == CommunicationStatus.PENDING:
            plan.removed[channel] = plan.removed.get(channel, 0) + n - tried
            plan.kept["requeued"] += tried
        elif status == CommunicationStatus.SENT:
            plan.kept["mailed" if channel == Channel.LETTER else "sent"] += n
        else:
            plan.kept[status] += n
    return plan


def _removed_letter_ids(batch: Batch) -> set[int]:
    return set(
        Communication.objects.filter(batch=batch, channel=Channel.LETTER)
        .never_attempted()
        .values_list("pk", flat=True)
    )


def closing_plan(batch: Batch) -> ClosingPlan:
    """What closing ``batch`` now would remove, keep and withdraw (changes nothing)."""
    plan = _tally(batch)
    plan.withdrawn = downloads.downloads_to_withdraw(batch.pk, _removed_letter_ids(batch))
    return plan


def withdrawal_reason(participle: str, removed: int, total: int) -> str:
    """The withdrawn download's text, shown on the batch page and instead of the file."""
    if not removed:
        return _("Withdrawn when the batch was %(done)s, before the PDF was ready.") % {
            "done": participle
        }
    return ngettext(
        "Withdrawn when the batch was %(done)s: %(n)s of its %(total)s letters was never "
        "marked as mailed, so it was removed with its notice. Printing this PDF would send "
        "letters that leave no record.",
        "Withdrawn when the batch was %(done)s: %(n)s of its %(total)s letters were never "
        "marked as mailed, so they were removed with their notices. Printing this PDF would "
        "send letters that leave no record.",
        removed,
    ) % {"done": participle, "n": f"{removed:,}", "total": f"{total:,}"}


def close_out(batch: Batch, participle: str) -> dict:
    """Remove the never-attempted notices and withdraw the letters PDFs that hold any; return
    the history entry's data. Call with the batch row locked, in the closing transaction
    (letters change only under that lock, so the ids read here are the ones deleted)."""
    removed_ids = _removed_letter_ids(batch)
    withdrawn = downloads.downloads_to_withdraw(batch.pk, removed_ids)
    removable = Communication.objects.filter(batch=batch).never_attempted()
    removed = {}
    for channel in Channel.values:
        _, per_model = removable.filter(channel=channel).delete()
        removed[channel] = per_model.get(Communication._meta.label, 0)
    done = []
    for download, held in withdrawn:
        reason = withdrawal_reason(participle, held, download.letter_count)
        if downloads.withdraw_download(download, reason):
            done.append({"download": download.pk, "letters": held})
    kept = _tally(batch).kept  # after the removal: what the record now holds
    return {
        "removed": sum(removed.values()),
        "removed_by_channel": removed,
        "kept": kept,
        "withdrawn": done,
    }
