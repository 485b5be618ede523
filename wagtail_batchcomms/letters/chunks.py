"""Letter downloads, the workers' side: claim a chunk, render it, merge the finished chunks.

Each step is safe to run twice, on several workers at once, and after a worker died:

* a chunk is CLAIMED (``queued -> rendering``, ``claimed_by`` = this run's id) by one
  conditional UPDATE on the chunk's own columns, which PostgreSQL re-checks under its row
  lock and SQLite runs one writer at a time, so two runs never both win; a claim older than
  ``LETTER_CLAIM_STALE_AFTER`` (a dead worker's) can be taken over;
* a run stores its PDF under a name of its own and records it only if it still holds the
  claim, so a slow run overtaken by a re-claim throws its work away: nothing doubled;
* every finished chunk commits, then counts the unfinished ones; whoever sees none left
  claims the merge (the same conditional UPDATE on the download), so one of the last two to
  finish always merges, and only one does.

Rendering a chunk's letters is ``rendering.render_letters``; chunk PDFs from different
workers are merged into the download's PDF with pypdf.
"""

from __future__ import annotations

import csv
import logging
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from django.core.files import File
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from wagtail.log_actions import log

from .. import history
from ..conf import batchcomms_settings
from ..exceptions import RenderError
from ..jobs import worker_id
from ..models import Communication, DownloadStatus, LetterChunk, LetterDownload
from ..spreadsheets import csv_cell
from ..storage import letter_storage
from .downloads import ACTIVE
from .rendering import few_collections, render_letters

logger = logging.getLogger(__name__)

#: At most one progress update (one UPDATE of the chunk row) per this many seconds while a
#: chunk renders: the bar moves, and a chunk costs a handful of queries, not one per letter.
PROGRESS_EVERY = 1.0

MAILING_LIST_COLUMNS = (
    "name",
    "organisation",
    "address_line1",
    "address_line2",
    "city",
    "state",
    "postal_code",
    "account_number",
    "communication_id",
)


class NoLetters(Exception):
    """Every letter of the download was deleted (the batch was closed) before the merge."""


def _stale_before():
    return timezone.now() - timedelta(seconds=batchcomms_settings.LETTER_CLAIM_STALE_AFTER)


def _folder(download: LetterDownload) -> str:
    return f"letters/batch-{download.batch_id}/download-{download.pk}"


# --- chunks ----------------------------------------------------------------------------------


def claim_chunk(chunk_id: int, worker: str) -> bool:
    """Take the chunk for ``worker`` if it is queued or its claim is stale; True if taken."""
    now = timezone.now()
    # Only the chunk's own columns in the WHERE clause: PostgreSQL re-evaluates them on the
    # locked row when two UPDATEs race (a join or subquery would not be re-checked).
    claimed = (
        LetterChunk.objects.filter(pk=chunk_id)
        .filter(
            Q(status=DownloadStatus.QUEUED)
            | Q(status=DownloadStatus.RENDERING, claimed_at__lt=_stale_before())
        )
        .update(
            status=DownloadStatus.RENDERING,
            claimed_by=worker,
            claimed_at=now,
            error="",
            letters_done=0,
        )
    )
    return bool(claimed)


def render_chunk(chunk_id: int, worker: str | None = None) -> str:
    """The chunk task's body: claim, render to a PDF in private storage, record, maybe merge.

    Returns what happened: ``rendered``, ``skipped`` (done or claimed by another run),
    ``lost`` (overtaken after a stale claim), ``cancelled`` or ``failed``.
    """
    worker = worker or worker_id()
    chunk = LetterChunk.objects.select_related("download__batch").filter(pk=chunk_id).first()
    if chunk is None or chunk.download.status not in ACTIVE:
        return "cancelled"
    download = chunk.download
    # One transaction: a download never shows "queued" while one of its chunks is claimed.
    with transaction.atomic():
        if not claim_chunk(chunk_id, worker):
            return "skipped"
        LetterDownload.objects.filter(pk=download.pk, status=DownloadStatus.QUEUED).update(
            status=DownloadStatus.RENDERING
        )
    if not download.batch.can_send:
        fail_download(download.pk, "The batch was closed before its letters were rendered.")
        return "cancelled"
    storage = letter_storage()
    try:
        communications = _communications(chunk.communication_ids)
        name, pages = "", 0
        if communications:
            with tempfile.TemporaryDirectory(prefix="batchcomms-") as folder, few_collections():
                path = Path(folder) / "chunk.pdf"
                pages = render_letters(
                    communications, path, progress=_progress_recorder(chunk_id, worker)
                )
                with path.open("rb") as handle:
                    name = storage.save(
                        f"{_folder(download)}/chunk-{chunk.index:05d}-{uuid.uuid4().hex[:8]}.pdf",
                        File(handle),
                    )
    except Exception as error:
        logger.exception("letter chunk %s failed", chunk_id)
        fail_download(download.pk, _error_message(error), chunk_id=chunk_id, worker=worker)
        return "failed"
    with transaction.atomic():
        finished = LetterChunk.objects.filter(
            pk=chunk_id, status=DownloadStatus.RENDERING, claimed_by=worker
        ).update(
            status=DownloadStatus.READY,
            file=name,
            page_count=pages,
            letter_count=len(communications),
            letters_done=len(communications),
        )
        if finished:
            LetterDownload.objects.filter(pk=download.pk).update(
                progress_done=F("progress_done") + chunk.letter_count,
                page_count=F("page_count") + pages,
            )
    if not finished:
        if name:
            storage.delete(name)
        return "lost"
    # Counted after our own commit: of two chunks finishing together, the later count sees both.
    if (
        not LetterChunk.objects.filter(download_id=download.pk)
        .exclude(status=DownloadStatus.READY)
        .exists()
    ):
        merge_download(download.pk)
    return "rendered"


def _communications(ids: list[int]) -> list[Communication]:
    """The chunk's letters in print order; ids since deleted are left out."""
    by_id = Communication.objects.select_related("location").in_bulk(ids)
    return [by_id[pk] for pk in ids if pk in by_id]


def _progress_recorder(chunk_id: int, worker: str) -> Callable[[int], None]:
    """A ``progress`` callback for ``render_letters`` that records the letters laid out on
    the chunk row, at most once per ``PROGRESS_EVERY`` seconds, while ``worker`` holds it."""
    last = time.monotonic()

    def record(done: int) -> None:
        nonlocal last
        now = time.monotonic()
        if now - last < PROGRESS_EVERY:
            return
        last = now
        LetterChunk.objects.filter(
            pk=chunk_id, status=DownloadStatus.RENDERING, claimed_by=worker
        ).update(letters_done=done)

    return record


def _error_message(error: Exception) -> str:
    if isinstance(error, RenderError):
        return str(error)
    return f"The letters could not be rendered ({type(error).__name__}); see the worker's log."


def fail_download(
    download_id: int, error: str, *, chunk_id: int | None = None, worker: str = ""
) -> None:
    """Mark the download (and the chunk that failed) failed, with a message for the admin."""
    with transaction.atomic():
        if chunk_id is not None:
            LetterChunk.objects.filter(pk=chunk_id, claimed_by=worker).update(
                status=DownloadStatus.FAILED, error=error[:2000]
            )
        failed = LetterDownload.objects.filter(pk=download_id, status__in=ACTIVE).update(
            status=DownloadStatus.FAILED, error=error[:2000]
        )
        if failed:
            download = LetterDownload.objects.select_related("batch").get(pk=download_id)
            log(
                download.batch,
                history.LETTERS_FAILED,
                data={"download": download_id, "error": error[:500]},
            )


# --- merging -------------------------------------------------------------------------------


def claim_merge(download_id: int, worker: str) -> bool:
    """Take the merge of a rendering download (unclaimed or stale claim); True if taken."""
    claimed = (
        LetterDownload.objects.filter(pk=download_id, status=DownloadStatus.RENDERING)
        .filter(Q(claimed_by="") | Q(claimed_at__lt=_stale_before()))
        .update(claimed_by=worker, claimed_at=timezone.now())
    )
    return bool(claimed)


def merge_download(download_id: int, worker: str | None = None) -> str:
    """Merge the finished chunks into the download's PDF and write its mailing list.

    Returns ``merged``, ``waiting`` (chunks unfinished), ``skipped`` (merged or being merged
    by another run) or ``lost``. Run by the last chunk to finish, or as a task by recovery.
    """
    worker = worker or worker_id()
    if (
        LetterChunk.objects.filter(download_id=download_id)
        .exclude(status=DownloadStatus.READY)
        .exists()
    ):
        return "waiting"
    if not claim_merge(download_id, worker):
        return "skipped"
    download = LetterDownload.objects.select_related("batch").get(pk=download_id)
    chunks = list(download.chunks.order_by("index"))
    storage = letter_storage()
    folder = _folder(download)
    token = uuid.uuid4().hex[:8]
    try:
        with tempfile.TemporaryDirectory(prefix="batchcomms-") as tmp, few_collections():
            pdf_path, csv_path = Path(tmp) / "letters.pdf", Path(tmp) / "mailing-list.csv"
            pages = merge_pdfs(storage, [c.file for c in chunks if c.file], pdf_path, download)
            letters = write_mailing_list(chunks, csv_path)
            if not letters:
                raise NoLetters
            size = pdf_path.stat().st_size
            with pdf_path.open("rb") as handle:
                pdf_name = storage.save(f"{folder}/letters-{token}.pdf", File(handle))
            with csv_path.open("rb") as handle:
                csv_name = storage.save(f"{folder}/mailing-list-{token}.csv", File(handle))
    except NoLetters:
        fail_download(download_id, "None of these letters exist any more.")
        return "failed"
    except Exception as error:
        logger.exception("merging letter download %s failed", download_id)
        fail_download(download_id, _error_message(error))
        return "failed"
    now = timezone.now()
    with transaction.atomic():
        finished = LetterDownload.objects.filter(
            pk=download_id, status=DownloadStatus.RENDERING, claimed_by=worker
        ).update(
            status=DownloadStatus.READY,
            file=pdf_name,
            mailing_list=csv_name,
            size=size,
            page_count=pages,
            letter_count=letters,
            progress_done=F("progress_total"),
            ready_at=now,
            expires_at=now + timedelta(days=batchcomms_settings.LETTER_DOWNLOAD_EXPIRY_DAYS),
        )
        if finished:
            log(
                download.batch,
                history.LETTERS_READY,
                data={"download": download_id, "letters": letters, "pages": pages, "size": size},
            )
    if not finished:
        for name in (pdf_name, csv_name):
            storage.delete(name)
        return "lost"
    for chunk in chunks:
        if chunk.file:
            storage.delete(chunk.file)
    LetterChunk.objects.filter(download_id=download_id).update(file="")
    return "merged"


def merge_pdfs(storage, names: list[str], target: Path, download: LetterDownload) -> int:
    """Concatenate the chunk PDFs ``names`` (in order) into ``target``; return the pages."""
    # pypdf takes about half a second to import: only the worker that merges loads it.
    from pypdf import PdfWriter

    writer = PdfWriter()
    handles = []
    try:
        for name in names:
            handle = storage.open(name, "rb")
            handles.append(handle)
            writer.append(handle)
        writer.add_metadata({"/Title": f"Letters: {download.batch.name}"})
        with target.open("wb") as out:
            writer.write(out)
        return len(writer.pages)
    finally:
        for handle in handles:
            handle.close()


def write_mailing_list(chunks: list[LetterChunk], target: Path) -> int:
    """The CSV mailing list, in print order (UTF-8 with BOM for spreadsheets); return rows."""
    rows = 0
    with target.open("w", newline="", encoding="utf-8-sig") as out:
        writer = csv.writer(out)
        writer.writerow(MAILING_LIST_COLUMNS)
        for chunk in chunks:
            for c in _communications(chunk.communication_ids):
                writer.writerow(
                    csv_cell(value)
                    for value in (
                        c.recipient_name,
                        c.recipient_organisation,
                        c.address_line1,
                        c.address_line2,
                        c.city,
                        c.state,
                        c.postal_code,
                        c.location.account_number,
                        c.pk,
                    )
                )
                rows += 1
    return rows


def run_download_here(download_id: int) -> str:
    """Render every chunk of a download in this process (the last one merges); return the
    download's status. For the benchmark and the shell: queued tasks that find the work
    done do nothing."""
    worker = worker_id()
    chunk_ids = LetterChunk.objects.filter(download_id=download_id).values_list("pk", flat=True)
    for chunk_id in list(chunk_ids):
        render_chunk(chunk_id, worker)
    return LetterDownload.objects.get(pk=download_id).status
