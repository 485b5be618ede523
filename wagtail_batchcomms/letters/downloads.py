"""Letter downloads, the admin's side: request, progress, mark mailed, purge, recover.

A download is a snapshot of the batch's pending letters when it was requested, in mailing
order (postal code, then name), split into ``LetterChunk`` rows of ``LETTER_CHUNK_SIZE``
letters. Each chunk is a django-q2 task, so several workers render a large batch together;
``letters.chunks`` holds the workers' side (claim, render, merge). The finished
download is one PDF plus a CSV mailing list in private storage (``storage.letter_storage``),
served only by ``views.batches.downloads`` and purged ``LETTER_DOWNLOAD_EXPIRY_DAYS`` after it was
ready (the row stays as the record).

Permissions: requesting, downloading and marking mailed need ``send_batch`` and
``view_batch`` (the PDF is the letters being sent, and holds every recipient's address).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import Count, Min, Q, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from wagtail.log_actions import log

from .. import history
from ..conf import batchcomms_settings
from ..exceptions import LetterError
from ..jobs import enqueue
from ..models import (
    Batch,
    BatchStatus,
    Channel,
    Communication,
    CommunicationStatus,
    DownloadStatus,
    LetterChunk,
    LetterDownload,
)
from ..permissions import user_can
from ..register.last_notice import touch_letters_mailed
from ..storage import letter_storage

logger = logging.getLogger(__name__)

ACTIVE = (DownloadStatus.QUEUED, DownloadStatus.RENDERING)
#: The order letters are printed in, and the mailing list is written in.
PRINT_ORDER = ("postal_code", "recipient_name", "pk")

CHUNK_TASK = "wagtail_batchcomms.tasks.render_letter_chunk"
MERGE_TASK = "wagtail_batchcomms.tasks.merge_letter_download"


def user_can_send_letters(user) -> bool:
    """Whether ``user`` may request, download and mark letters (``send_batch`` + ``view_batch``)."""
    return bool(
        user and user.is_active and user_can(user, "send", Batch) and user_can(user, "view", Batch)
    )


def pending_letters(batch_id: int) -> QuerySet[Communication]:
    """The batch's letters not yet mailed, in print order."""
    return Communication.objects.filter(
        batch_id=batch_id, channel=Channel.LETTER, status=CommunicationStatus.PENDING
    ).order_by(*PRINT_ORDER)


def _lock_deliverable(batch_id: int, wrong_state: str) -> Batch:
    """The batch row, locked until the transaction ends, if it is Generated or Partially
    Sent; else ``LetterError`` (``wrong_state`` takes the state as ``%(state)s``)."""
    batch = Batch.objects.select_for_update().filter(pk=batch_id).first()
    if batch is None:
        raise LetterError(_("This batch no longer exists."))
    if not batch.can_send:
        raise LetterError(wrong_state % {"state": batch.get_status_display()})
    return batch


# --- requesting ----------------------------------------------------------------------------


def request_letter_download(batch_id: int, *, user) -> LetterDownload:
    """Queue a PDF of the batch's pending letters; return the download.

    Needs ``send_batch`` and ``view_batch``, a Generated or Partially Sent batch and at least
    one pending letter (else ``LetterError``). While a download of the batch is queued or
    rendering, returns that one instead (a double click renders nothing twice; a database
    constraint makes this hold for concurrent requests too) and re-queues any of its chunks
    a dead worker left behind. Logged in the batch's history; the chunk tasks are queued
    when the transaction commits.
    """
    if not user_can_send_letters(user):
        raise LetterError(_("You do not have permission to download letters of batches."))
    try:
        with transaction.atomic():
            return _request(batch_id, user)
    except IntegrityError:
        # Another request created the active download between our check and our insert.
        active = LetterDownload.objects.filter(batch_id=batch_id, status__in=ACTIVE).first()
        if active is None:
            raise
        return active


def _request(batch_id: int, user) -> LetterDownload:
    # Locking the batch row serialises concurrent requests on PostgreSQL; SQLite serialises
    # writers anyway, and the partial unique constraint backs both.
    batch = _lock_deliverable(
        batch_id,
        _(
            "This batch is %(state)s; letters can be downloaded from Generated or "
            "Partially sent batches."
        ),
    )
    active = batch.letter_downloads.filter(status__in=ACTIVE).first()
    if active is not None:
        requeue_stale_work(active)
        return active
    ids = list(pending_letters(batch_id).values_list("pk", flat=True))
    if not ids:
        raise LetterError(_("This batch has no unsent letters."))
    size = max(1, batchcomms_settings.LETTER_CHUNK_SIZE)
    now = timezone.now()
    download = LetterDownload.objects.create(
        batch=batch,
        requested_by=user,
        letter_count=len(ids),
        progress_total=len(ids),
    )
    chunks = LetterChunk.objects.bulk_create(
        LetterChunk(
            download=download,
            index=index,
            communication_ids=ids[start : start + size],
            first_id=ids[start],
            last_id=ids[min(start + size, len(ids)) - 1],
            letter_count=len(ids[start : start + size]),
            # For a queued chunk: when its task was (last) queued; see requeue_stale_work.
            claimed_at=now,
        )
        for index, start in enumerate(range(0, len(ids), size))
    )
    log(
        batch,
        history.LETTERS_REQUESTED,
        user=user,
        data={"download": download.pk, "letters": len(ids), "chunks": len(chunks)},
    )
    # bulk_create does not set primary keys on every backend; read them back.
    for chunk_id, index in download.chunks.values_list("pk", "index"):
        enqueue(CHUNK_TASK, chunk_id, name=f"Letters {download.pk} part {index + 1}")
    return download


# --- progress ------------------------------------------------------------------------------


def download_progress(download: LetterDownload, now=None) -> dict:
    """What the batch page shows for a download: status, chunks and letters done, percent,
    and ``seconds_left``, an estimate from the rate so far (None until a letter is done).

    Letters done count the finished chunks and the letters laid out so far in the chunks
    being rendered (``LetterChunk.letters_done``); one aggregate query.
    """
    totals = download.chunks.aggregate(
        chunks=Count("pk"),
        chunks_done=Count("pk", filter=Q(status=DownloadStatus.READY)),
        letters_ready=Sum("letter_count", filter=Q(status=DownloadStatus.READY)),
        letters_rendering=Sum("letters_done", filter=Q(status=DownloadStatus.RENDERING)),
        rendering=Count("pk", filter=Q(status=DownloadStatus.RENDERING)),
        # When the first chunk still counted was claimed: the rate is measured from there,
        # so time spent waiting in the queue before any worker started does not count.
        started_at=Min("claimed_at", filter=~Q(status=DownloadStatus.QUEUED)),
    )
    letters_total = download.letter_count
    letters_done = min(
        letters_total, (totals["letters_ready"] or 0) + (totals["letters_rendering"] or 0)
    )
    if download.status == DownloadStatus.READY:
        letters_done = letters_total
    seconds_left = None
    started_at = totals["started_at"]
    if download.status in ACTIVE and letters_done and started_at:
        elapsed = ((now or timezone.now()) - started_at).total_seconds()
        seconds_left = max(0, round(elapsed * (letters_total - letters_done) / letters_done))
    return {
        "id": download.pk,
        "status": download.status,
        "status_label": download.get_status_display(),
        "active": download.status in ACTIVE,
        "chunks_total": totals["chunks"],
        "chunks_done": totals["chunks_done"],
        "chunks_rendering": totals["rendering"],
        "letters_total": letters_total,
        "letters_done": letters_done,
        "percent": int(100 * letters_done / letters_total) if letters_total else 0,
        "seconds_left": seconds_left,
        "pages": download.page_count,
        "size": download.size,
        "expires_at": download.expires_at,
        "expired": download.is_expired,
        "error": download.error,
    }


# --- mailing --------------------------------------------------------------------------------


def mark_letters_mailed(batch_id: int, *, user, download_id: int | None = None) -> int:
    """Record pending letters as sent (mailed by ``user`` now); return how many.

    With ``download_id``: the letters of that download (which must be ready, or expired
    after being ready) that are still pending; without: all the batch's pending letters.
    Needs ``send_batch`` and ``view_batch`` and a Generated or Partially Sent batch; moves
    Generated to Partially Sent through the FSM transition. Logged in the batch's history.
    """
    if not user_can_send_letters(user):
        raise LetterError(_("You do not have permission to mark letters as mailed."))
    with transaction.atomic():
        batch = _lock_deliverable(
            batch_id,
            _(
                "This batch is %(state)s; letters can be marked as mailed only in "
                "Generated or Partially sent batches."
            ),
        )
        pending = Communication.objects.filter(
            batch=batch, channel=Channel.LETTER, status=CommunicationStatus.PENDING
        )
        now = timezone.now()
        values = {"status": CommunicationStatus.SENT, "sent_at": now, "sent_by": user}
        if download_id is None:
            count = pending.update(**values)
        else:
            download = batch.letter_downloads.filter(pk=download_id).first()
            finished = download is not None and download.ready_at is not None
            if not finished or download.status not in (
                DownloadStatus.READY,
                DownloadStatus.EXPIRED,
            ):
                raise LetterError(
                    _("Only the letters of a finished download can be marked as mailed.")
                )
            count = 0
            for ids in download.chunks.values_list("communication_ids", flat=True):
                count += pending.filter(pk__in=ids).update(**values)
        if count:
            touch_letters_mailed(batch.pk, now)
        if count and batch.status == BatchStatus.GENERATED:
            batch.mark_partially_sent()
            batch.save()
            log(batch, history.PARTIALLY_SENT, user=user, data={"by": "letters mailed"})
        if count:
            log(
                batch,
                history.LETTERS_MAILED,
                user=user,
                data={"letters": count, "download": download_id},
            )
    return count


# --- housekeeping (scheduled) ----------------------------------------------------------------


def purge_expired_downloads(now=None) -> int:
    """Delete the files of downloads past their expiry and mark them expired; return how many.

    The rows stay as the record (who, when, letters, pages). Leftover chunk files of failed
    downloads are removed too. The status changes before the files go, so the view never
    offers a download whose file is missing.
    """
    now = now or timezone.now()
    storage = letter_storage()
    expired = 0
    ready = LetterDownload.objects.filter(status=DownloadStatus.READY, expires_at__lte=now)
    for download in ready.select_related("batch"):
        moved = LetterDownload.objects.filter(pk=download.pk, status=DownloadStatus.READY).update(
            status=DownloadStatus.EXPIRED, purged_at=now
        )
        if not moved:
            continue
        expired += 1
        _delete_files(storage, [download.file, download.mailing_list])
        log(download.batch, history.LETTERS_EXPIRED, data={"download": download.pk})
    keep_failed = now - timedelta(days=batchcomms_settings.LETTER_DOWNLOAD_EXPIRY_DAYS)
    leftovers = LetterChunk.objects.exclude(file="").filter(
        Q(
            download__status__in=(
                DownloadStatus.FAILED,
                DownloadStatus.EXPIRED,
                DownloadStatus.WITHDRAWN,
            )
        )
        | Q(download__status=DownloadStatus.READY, download__ready_at__lte=keep_failed)
    )
    for chunk in leftovers:
        _delete_files(storage, [chunk.file])
        LetterChunk.objects.filter(pk=chunk.pk).update(file="")
    if expired:
        logger.info("purged %s expired letter downloads", expired)
    return expired


# --- withdrawing (closing a batch) ------------------------------------------------------------


def downloads_to_withdraw(batch_id: int, removed: set[int]) -> list[tuple[LetterDownload, int]]:
    """The batch's downloads that must stop being downloadable when the letters ``removed``
    (communication ids) are deleted, each with how many of its letters that is.

    A ready download goes when it holds any of them: its PDF would print letters that leave
    no record. One still queued or rendering goes in any case: the batch is being closed,
    so it can never be finished. Expired and failed ones have no file to withdraw.
    """
    downloads = list(
        LetterDownload.objects.filter(batch_id=batch_id, status__in=(*ACTIVE, DownloadStatus.READY))
        .prefetch_related("chunks")
        .order_by("pk")
    )
    result = []
    for download in downloads:
        held = sum(
            1 for chunk in download.chunks.all() for pk in chunk.communication_ids if pk in removed
        )
        if held or download.status in ACTIVE:
            result.append((download, held))
    return result


def withdraw_download(download: LetterDownload, reason: str) -> bool:
    """Make ``download`` unavailable for ``reason`` and delete its files when the transaction
    commits; False if it changed state meanwhile. The row stays as the record.

    The status changes first (a worker still rendering or merging it then finds it not
    active and throws its work away); the files go only once that is committed.
    """
    moved = LetterDownload.objects.filter(pk=download.pk, status=download.status).update(
        status=DownloadStatus.WITHDRAWN, purged_at=timezone.now(), error=reason[:2000]
    )
    if moved:
        names = [download.file, download.mailing_list]
        names += [chunk.file for chunk in download.chunks.all()]
        transaction.on_commit(lambda: _delete_files(letter_storage(), names))
    return bool(moved)


def _delete_files(storage, names) -> None:
    for name in names:
        if name:
            try:
                storage.delete(name)
            except OSError:  # already gone, or the storage is briefly unavailable
                logger.warning("could not delete letter file %s", name, exc_info=True)


def requeue_stale_work(download: LetterDownload) -> int:
    """Queue again the chunks of an active download that a dead worker left claimed (or whose
    task was lost before any worker claimed it), and the merge when every chunk is done and
    nobody is merging; return the tasks queued.

    A queued chunk's ``claimed_at`` is when its task was last queued, so a long queue gets at
    most one extra task per chunk per ``LETTER_CLAIM_STALE_AFTER``; extra tasks find the
    chunk claimed or done and do nothing.
    """
    now = timezone.now()
    stale = now - timedelta(seconds=batchcomms_settings.LETTER_CLAIM_STALE_AFTER)
    chunks = list(
        download.chunks.filter(
            status__in=(DownloadStatus.RENDERING, DownloadStatus.QUEUED), claimed_at__lt=stale
        ).values_list("pk", "index")
    )
    LetterChunk.objects.filter(
        pk__in=[pk for pk, _index in chunks], status=DownloadStatus.QUEUED, claimed_at__lt=stale
    ).update(claimed_at=now)
    queued = 0
    for chunk_id, index in chunks:
        enqueue(CHUNK_TASK, chunk_id, name=f"Letters {download.pk} part {index + 1} (again)")
        queued += 1
    all_done = not download.chunks.exclude(status=DownloadStatus.READY).exists()
    merge_stale = not download.claimed_by or (download.claimed_at and download.claimed_at < stale)
    if download.status == DownloadStatus.RENDERING and all_done and merge_stale:
        enqueue(MERGE_TASK, download.pk, name=f"Letters {download.pk}: merge (again)")
        queued += 1
    return queued


def recover_letter_downloads() -> int:
    """Scheduled: ``requeue_stale_work`` for every active download; return the tasks queued."""
    queued = 0
    for download in LetterDownload.objects.filter(status__in=ACTIVE):
        with transaction.atomic():
            queued += requeue_stale_work(download)
    if queued:
        logger.warning("re-queued %s letter tasks left by dead workers", queued)
    return queued
