"""Letter downloads: request, chunks, claims, rendering, merging, mailing, purging, recovery.

Real rows, real WeasyPrint PDFs read back with pypdf, the real private storage and the real
django-q2 ORM broker (queued tasks are read back from its table). The tests with real
``qcluster`` processes are in ``test_letters_workers.py``.
"""

from __future__ import annotations

import io
import threading
import time
from datetime import timedelta

import factories
import letters_data as data
import pytest
from concurrency import run_at_once
from django.db import IntegrityError, connection, transaction
from django.test import override_settings
from django.utils import timezone
from django_q.models import OrmQ, Schedule
from letter_checks import assert_every_letter_once, print_order
from wagtail.models import ModelLogEntry

from wagtail_batchcomms import history as history_ids
from wagtail_batchcomms import jobs, tasks
from wagtail_batchcomms.exceptions import LetterError
from wagtail_batchcomms.letters import chunks as letter_chunks
from wagtail_batchcomms.letters import downloads as letters
from wagtail_batchcomms.models import (
    Batch,
    BatchStatus,
    Channel,
    Communication,
    CommunicationStatus,
    DownloadStatus,
    LetterChunk,
    LetterDownload,
)
from wagtail_batchcomms.storage import letter_storage

pytestmark = pytest.mark.usefixtures("private_root")

SEND = ["wagtail_batchcomms.send_batch", "wagtail_batchcomms.view_batch"]


def settings_with(**values):
    """override_settings for WAGTAIL_BATCHCOMMS, keeping the test run's private folder."""
    from django.conf import settings

    return override_settings(WAGTAIL_BATCHCOMMS={**settings.WAGTAIL_BATCHCOMMS, **values})


def queued_tasks() -> list[tuple[str, tuple]]:
    """(function, args) of the tasks waiting in django-q2's ORM broker."""
    return [(row.func(), tuple(row.args())) for row in OrmQ.objects.order_by("pk")]


def request(batch, user, chunk_size=10) -> LetterDownload:
    """Request a download as the view would, and let its tasks reach the broker."""
    with settings_with(LETTER_CHUNK_SIZE=chunk_size):
        return letters.request_letter_download(batch.pk, user=user)


def history(batch, action: str) -> list[dict]:
    return [
        entry.data for entry in ModelLogEntry.objects.filter(object_id=str(batch.pk), action=action)
    ]


@pytest.fixture
def sender(db):
    return factories.user("sender", perms=[factories.ADMIN_ACCESS, *SEND])


# --- requesting ------------------------------------------------------------------------------


def test_request_snapshots_pending_letters_in_print_order(sender):
    batch = data.letter_batch(23)
    mailed = data.letters(batch).first()
    Communication.objects.filter(pk=mailed.pk).update(status=CommunicationStatus.SENT)
    expected = print_order(batch)
    assert expected != sorted(expected)  # print order is not id order

    download = request(batch, sender, chunk_size=10)

    chunks = list(download.chunks.order_by("index"))
    assert [c.letter_count for c in chunks] == [10, 10, 2]
    assert [pk for c in chunks for pk in c.communication_ids] == expected
    assert mailed.pk not in expected
    assert [(c.first_id, c.last_id) for c in chunks] == [
        (c.communication_ids[0], c.communication_ids[-1]) for c in chunks
    ]
    assert download.status == DownloadStatus.QUEUED and download.letter_count == 22
    assert download.requested_by == sender
    assert history(batch, history_ids.LETTERS_REQUESTED) == [
        {"download": download.pk, "letters": 22, "chunks": 3}
    ]


def test_request_queues_one_task_per_chunk(sender, django_capture_on_commit_callbacks):
    batch = data.letter_batch(12)
    with django_capture_on_commit_callbacks(execute=True):
        download = request(batch, sender, chunk_size=5)
    chunk_ids = list(download.chunks.order_by("index").values_list("pk", flat=True))
    assert queued_tasks() == [(letters.CHUNK_TASK, (pk,)) for pk in chunk_ids]


def test_double_click_returns_the_same_download(sender, django_capture_on_commit_callbacks):
    batch = data.letter_batch(6)
    with django_capture_on_commit_callbacks(execute=True):
        first = request(batch, sender, chunk_size=5)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        second = request(batch, sender, chunk_size=5)
    assert second.pk == first.pk
    assert callbacks == []  # nothing queued again: its chunks are fresh
    assert LetterDownload.objects.filter(batch=batch).count() == 1
    assert LetterChunk.objects.filter(download__batch=batch).count() == 2
    assert len(queued_tasks()) == 2


def test_the_database_allows_one_active_download_per_batch(sender):
    batch = data.letter_batch(2)
    request(batch, sender)
    with pytest.raises(IntegrityError), transaction.atomic():
        LetterDownload.objects.create(batch=batch, status=DownloadStatus.RENDERING)
    # Finished ones do not count.
    LetterDownload.objects.create(batch=batch, status=DownloadStatus.READY)
    LetterDownload.objects.create(batch=batch, status=DownloadStatus.FAILED)


@pytest.mark.django_db(transaction=True)
def test_simultaneous_requests_make_one_download():
    user = factories.user("racer", perms=[factories.ADMIN_ACCESS, *SEND])
    batch = data.letter_batch(4)
    results = run_at_once(2, lambda: letters.request_letter_download(batch.pk, user=user).pk)
    assert len(results) == 2 and results[0] == results[1]
    assert LetterDownload.objects.filter(batch=batch).count() == 1


@pytest.mark.parametrize(
    ("status", "message"),
    [
        (BatchStatus.OPEN, "only"),
        (BatchStatus.GENERATING, "only"),
        (BatchStatus.COMPLETE, "only"),
        (BatchStatus.ARCHIVED, "only"),
    ],
)
def test_request_refused_in_other_states(sender, status, message):
    batch = data.letter_batch(2, status=status)
    with pytest.raises(LetterError, match="Generated or Partially sent"):
        request(batch, sender)
    assert not LetterDownload.objects.exists()


def test_request_allowed_while_partially_sent(sender):
    batch = data.letter_batch(2, status=BatchStatus.PARTIALLY_SENT)
    assert request(batch, sender).letter_count == 2


def test_request_refused_without_permission_or_letters(db):
    batch = data.letter_batch(2)
    viewer = factories.user("viewer", perms=[factories.ADMIN_ACCESS, SEND[1]])
    with pytest.raises(LetterError, match="permission"):
        letters.request_letter_download(batch.pk, user=viewer)
    sender = factories.user("sender2", perms=[factories.ADMIN_ACCESS, *SEND])
    data.letters(batch).update(status=CommunicationStatus.SENT)
    with pytest.raises(LetterError, match="no unsent letters"):
        letters.request_letter_download(batch.pk, user=sender)
    assert not LetterDownload.objects.exists()


# --- rendering and merging (in this process) -------------------------------------------------


def test_pipeline_renders_every_letter_once_in_print_order(sender):
    batch = data.letter_batch(27)
    expected = print_order(batch)
    download = request(batch, sender, chunk_size=10)
    storage = letter_storage()

    assert letter_chunks.run_download_here(download.pk) == DownloadStatus.READY

    download.refresh_from_db()
    assert download.letter_count == 27 and download.page_count == 27
    assert download.size == storage.size(download.file) > 0
    assert download.expires_at == download.ready_at + timedelta(days=7)
    assert download.progress_done == download.progress_total == 27
    assert_every_letter_once(download, expected)
    # Chunk files are gone once merged; the chunk rows stay as the record.
    chunks = list(download.chunks.all())
    assert [c.status for c in chunks] == [DownloadStatus.READY] * 3 and all(
        c.file == "" for c in chunks
    )
    _dirs, files = storage.listdir(f"letters/batch-{batch.pk}/download-{download.pk}")
    assert sorted(f.rsplit("-", 1)[0] for f in files) == ["letters", "mailing-list"]
    assert history(batch, history_ids.LETTERS_READY) == [
        {"download": download.pk, "letters": 27, "pages": 27, "size": download.size}
    ]


def test_mailing_list_columns_and_formula_cells(sender):
    batch = data.letter_batch(3)
    first = data.letters(batch).first()
    Communication.objects.filter(pk=first.pk).update(
        recipient_name='=HYPERLINK("http://evil")', address_line2="Suite 4"
    )
    download = request(batch, sender)
    letter_chunks.run_download_here(download.pk)
    download.refresh_from_db()
    _reader, rows = data.read_download(download)
    assert list(rows[0]) == list(letter_chunks.MAILING_LIST_COLUMNS)
    row = next(r for r in rows if int(r["communication_id"]) == first.pk)
    assert row["name"] == '\'=HYPERLINK("http://evil")'
    assert row["address_line2"] == "Suite 4"
    assert row["city"] == "Riverbend" and row["state"] == "IL"


def test_long_letters_number_their_own_pages_across_render_groups(sender):
    # 12 letters (more than one render group), every third one long enough for two pages.
    counts = [45 if i % 3 == 0 else 1 for i in range(12)]
    batch = data.letter_batch(12, assemblies_per_letter=counts)
    download = request(batch, sender, chunk_size=7)
    letter_chunks.run_download_here(download.pk)
    download.refresh_from_db()
    reader, _rows = data.read_download(download)
    assert download.page_count == len(reader.pages) == 16
    labels = [data.PAGE_LABEL.search(page.extract_text()).group(0) for page in reader.pages]
    long_letters = {
        pk
        for pk, n in zip(data.letters(batch).values_list("pk", flat=True), counts, strict=True)
        if n == 45
    }
    expected = []
    for pk in print_order(batch):
        expected += ["Page 1 of 2", "Page 2 of 2"] if pk in long_letters else ["Page 1 of 1"]
    assert labels == expected
    assert_every_letter_once(download, print_order(batch))


@pytest.mark.parametrize(
    ("page_size", "width", "height"), [("letter", 612, 792), ("a4", 595.28, 841.89)]
)
def test_page_size_setting(sender, page_size, width, height):
    batch = data.letter_batch(3)
    download = request(batch, sender)
    with settings_with(PAGE_SIZE=page_size):
        letter_chunks.run_download_here(download.pk)
    download.refresh_from_db()
    reader, _rows = data.read_download(download)
    for page in reader.pages:
        assert float(page.mediabox.width) == pytest.approx(width, abs=0.5)
        assert float(page.mediabox.height) == pytest.approx(height, abs=0.5)


def test_tasks_are_idempotent(sender):
    batch = data.letter_batch(8)
    download = request(batch, sender, chunk_size=5)
    first, second = download.chunks.order_by("index").values_list("pk", flat=True)
    assert tasks.render_letter_chunk(first) == "rendered"
    assert tasks.render_letter_chunk(first) == "skipped"  # django-q2 delivered it twice
    assert tasks.merge_letter_download(download.pk) == "waiting"
    assert tasks.render_letter_chunk(second) == "rendered"  # the last one merges
    assert tasks.render_letter_chunk(second) == "cancelled"
    assert tasks.merge_letter_download(download.pk) == "skipped"
    download.refresh_from_db()
    assert download.status == DownloadStatus.READY
    assert_every_letter_once(download, print_order(batch))
    assert len(history(batch, history_ids.LETTERS_READY)) == 1


def test_progress_while_rendering(sender):
    batch = data.letter_batch(12)
    download = request(batch, sender, chunk_size=5)
    progress = letters.download_progress(download)
    assert (progress["chunks_done"], progress["chunks_total"], progress["percent"]) == (0, 3, 0)
    first = download.chunks.get(index=0)
    letter_chunks.render_chunk(first.pk)
    download.refresh_from_db()
    progress = letters.download_progress(download)
    assert progress["status"] == DownloadStatus.RENDERING and progress["active"]
    assert (progress["chunks_done"], progress["letters_done"], progress["letters_total"]) == (
        1,
        5,
        12,
    )
    assert progress["percent"] == 41
    assert download.progress_done == 5


def test_claims_are_exclusive_and_stale_ones_are_taken_over(sender):
    batch = data.letter_batch(3)
    download = request(batch, sender)
    chunk = download.chunks.get()
    assert letter_chunks.claim_chunk(chunk.pk, "worker-a")
    assert not letter_chunks.claim_chunk(chunk.pk, "worker-b")
    assert letter_chunks.render_chunk(chunk.pk, "worker-b") == "skipped"
    stale = timezone.now() - timedelta(seconds=901)
    LetterChunk.objects.filter(pk=chunk.pk).update(claimed_at=stale)
    assert letter_chunks.claim_chunk(chunk.pk, "worker-b")
    assert not letter_chunks.claim_chunk(chunk.pk, "worker-a")


@pytest.mark.django_db(transaction=True)
def test_a_run_overtaken_after_a_stale_claim_throws_its_work_away():
    """Worker A renders slowly; its claim is taken over (as if stale); A's result is dropped."""
    user = factories.user("slow", perms=[factories.ADMIN_ACCESS, *SEND])
    batch = data.letter_batch(40)
    download = request(batch, user, chunk_size=40)
    chunk = download.chunks.get()
    outcome = {}

    def worker_a():
        try:
            outcome["a"] = letter_chunks.render_chunk(chunk.pk, "worker-a")
        finally:
            connection.close()

    thread = threading.Thread(target=worker_a)
    thread.start()
    deadline = time.monotonic() + 30
    while not LetterChunk.objects.filter(pk=chunk.pk, claimed_by="worker-a").exists():
        assert time.monotonic() < deadline, "worker A never claimed the chunk"
        time.sleep(0.01)
    LetterChunk.objects.filter(pk=chunk.pk).update(claimed_at=timezone.now() - timedelta(hours=1))
    assert letter_chunks.claim_chunk(chunk.pk, "worker-b")
    thread.join(timeout=120)
    assert outcome["a"] == "lost"
    chunk.refresh_from_db()
    assert (
        chunk.status == DownloadStatus.RENDERING
        and chunk.claimed_by == "worker-b"
        and chunk.file == ""
    )
    # Nothing A wrote is left in storage.
    folder = f"letters/batch-{batch.pk}/download-{download.pk}"
    storage = letter_storage()
    assert not storage.exists(folder) or storage.listdir(folder)[1] == []
    # B's run (re-claimed by name) renders it once; the download counts its letters once.
    LetterChunk.objects.filter(pk=chunk.pk).update(claimed_at=timezone.now() - timedelta(hours=1))
    assert letter_chunks.render_chunk(chunk.pk, "worker-c") == "rendered"
    download.refresh_from_db()
    assert download.status == DownloadStatus.READY and download.progress_done == 40
    assert_every_letter_once(download, print_order(batch))


def test_render_error_fails_the_download_with_its_message(sender):
    template = data.unrenderable_template()
    batch = data.letter_batch(2, template=template)
    download = request(batch, sender)
    assert letter_chunks.run_download_here(download.pk) == DownloadStatus.FAILED
    download.refresh_from_db()
    assert "repeats more than" in download.error
    assert download.chunks.get().status == DownloadStatus.FAILED
    assert history(batch, history_ids.LETTERS_FAILED)[0]["error"] == download.error
    # A failed download does not block a new request.
    assert request(batch, sender).pk != download.pk


def test_a_batch_closed_while_rendering_cancels_the_download(sender):
    batch = data.letter_batch(2)
    download = request(batch, sender)
    Batch.objects.filter(pk=batch.pk).update(status=BatchStatus.COMPLETE)  # test shortcut
    assert letter_chunks.render_chunk(download.chunks.get().pk) == "cancelled"
    download.refresh_from_db()
    assert download.status == DownloadStatus.FAILED and "closed" in download.error


# --- recovery -------------------------------------------------------------------------------


def test_a_dead_workers_chunk_is_queued_again_once_stale(
    sender, django_capture_on_commit_callbacks
):
    batch = data.letter_batch(8)
    with django_capture_on_commit_callbacks(execute=True):
        download = request(batch, sender, chunk_size=5)
    OrmQ.objects.all().delete()  # the first deliveries were lost with the dead worker
    dead, alive = download.chunks.order_by("index")
    assert letter_chunks.claim_chunk(dead.pk, "dead-worker")  # killed mid-chunk
    assert letter_chunks.render_chunk(alive.pk) == "rendered"

    with django_capture_on_commit_callbacks(execute=True):
        assert letters.recover_letter_downloads() == 0  # its claim is still fresh
        assert request(batch, sender).pk == download.pk
    assert queued_tasks() == []

    LetterChunk.objects.filter(pk=dead.pk).update(
        claimed_at=timezone.now() - timedelta(seconds=901)
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert letters.recover_letter_downloads() == 1
    assert queued_tasks() == [(letters.CHUNK_TASK, (dead.pk,))]
    assert tasks.render_letter_chunk(dead.pk) == "rendered"
    download.refresh_from_db()
    assert download.status == DownloadStatus.READY
    assert_every_letter_once(download, print_order(batch))


def test_a_queued_chunk_whose_task_was_lost_is_queued_again_once(
    sender, django_capture_on_commit_callbacks
):
    batch = data.letter_batch(3)
    download = request(batch, sender)
    chunk = download.chunks.get()
    with django_capture_on_commit_callbacks(execute=True):
        assert letters.recover_letter_downloads() == 0  # just queued: its task is waiting
    LetterChunk.objects.filter(pk=chunk.pk).update(
        claimed_at=timezone.now() - timedelta(seconds=901)
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert letters.recover_letter_downloads() == 1
        assert letters.recover_letter_downloads() == 0  # not again until stale again
    assert queued_tasks() == [(letters.CHUNK_TASK, (chunk.pk,))]
    assert tasks.render_letter_chunk(chunk.pk) == "rendered"
    assert LetterDownload.objects.get(pk=download.pk).status == DownloadStatus.READY


def test_a_lost_merge_is_queued_again(sender, django_capture_on_commit_callbacks):
    batch = data.letter_batch(3)
    download = request(batch, sender)
    chunk = download.chunks.get()
    assert letter_chunks.claim_merge(download.pk, "x") is False  # nothing rendering yet
    LetterDownload.objects.filter(pk=download.pk).update(status=DownloadStatus.RENDERING)
    assert letter_chunks.claim_merge(download.pk, "dead-merger")  # the merger then died
    # The chunk finishes; its merge attempt finds the merge claimed.
    assert letter_chunks.render_chunk(chunk.pk) == "rendered"
    download.refresh_from_db()
    assert download.status == DownloadStatus.RENDERING
    LetterDownload.objects.filter(pk=download.pk).update(
        claimed_at=timezone.now() - timedelta(seconds=901)
    )
    OrmQ.objects.all().delete()
    with django_capture_on_commit_callbacks(execute=True):
        assert letters.recover_letter_downloads() == 1
    assert queued_tasks() == [(letters.MERGE_TASK, (download.pk,))]
    assert tasks.merge_letter_download(download.pk) == "merged"
    download.refresh_from_db()
    assert_every_letter_once(download, print_order(batch))


def test_housekeeping_is_scheduled_once(db):
    schedules = Schedule.objects.filter(func="wagtail_batchcomms.tasks.letters_housekeeping")
    assert schedules.count() == 1  # created by migrate (post_migrate)
    schedule = schedules.get()
    assert (schedule.schedule_type, schedule.minutes, schedule.repeats) == ("I", 10, -1)
    assert jobs.ensure_schedules() == 0
    assert schedules.count() == 1
    Schedule.objects.all().delete()
    assert jobs.ensure_schedules() == len(jobs.SCHEDULES)
    assert tasks.letters_housekeeping() == {"requeued": 0, "purged": 0}


# --- mailing -------------------------------------------------------------------------------


def test_mark_all_letters_mailed(sender):
    batch = data.letter_batch(4)
    email = Communication.objects.create(
        batch=batch,
        location=data.letters(batch).first().location,
        role="tenant",
        channel=Channel.EMAIL,
        recipient_name="Emailed",
        email="x@example.com",
    )
    assert letters.mark_letters_mailed(batch.pk, user=sender) == 4
    batch.refresh_from_db()
    assert batch.status == BatchStatus.PARTIALLY_SENT
    mailed = data.letters(batch)
    assert {(c.status, c.sent_by_id) for c in mailed} == {(CommunicationStatus.SENT, sender.pk)}
    assert all(c.sent_at for c in mailed)
    email.refresh_from_db()
    assert email.status == CommunicationStatus.PENDING
    assert history(batch, history_ids.LETTERS_MAILED) == [{"letters": 4, "download": None}]
    assert history(batch, history_ids.PARTIALLY_SENT) == [{"by": "letters mailed"}]
    # Again: nothing left, nothing logged, the state stays.
    assert letters.mark_letters_mailed(batch.pk, user=sender) == 0
    assert len(history(batch, history_ids.LETTERS_MAILED)) == 1


def test_mark_the_letters_of_one_download_mailed(sender):
    batch = data.letter_batch(5, status=BatchStatus.PARTIALLY_SENT)
    download = request(batch, sender)
    with pytest.raises(LetterError, match="finished download"):
        letters.mark_letters_mailed(batch.pk, user=sender, download_id=download.pk)
    letter_chunks.run_download_here(download.pk)
    later = data.letters(batch).first()
    late = Communication.objects.create(
        batch=batch,
        location=later.location,
        role="tenant",
        channel=Channel.LETTER,
        recipient_name="Added after the download",
    )
    count = letters.mark_letters_mailed(batch.pk, user=sender, download_id=download.pk)
    assert count == 5
    late.refresh_from_db()
    assert late.status == CommunicationStatus.PENDING
    assert Batch.objects.get(pk=batch.pk).status == BatchStatus.PARTIALLY_SENT


def test_mark_mailed_refused(db):
    batch = data.letter_batch(2, status=BatchStatus.COMPLETE)
    sender = factories.user("sender3", perms=[factories.ADMIN_ACCESS, *SEND])
    with pytest.raises(LetterError, match="only in Generated"):
        letters.mark_letters_mailed(batch.pk, user=sender)
    other = data.letter_batch(2)
    nobody = factories.user("nobody", perms=[factories.ADMIN_ACCESS])
    with pytest.raises(LetterError, match="permission"):
        letters.mark_letters_mailed(other.pk, user=nobody)
    assert not Communication.objects.filter(status=CommunicationStatus.SENT).exists()


# --- purging -------------------------------------------------------------------------------


def test_purge_deletes_expired_files_and_keeps_the_record(sender):
    storage = letter_storage()
    old_batch, new_batch = data.letter_batch(2), data.letter_batch(2)
    old, new = request(old_batch, sender), request(new_batch, sender)
    for download in (old, new):
        letter_chunks.run_download_here(download.pk)
        download.refresh_from_db()
    LetterDownload.objects.filter(pk=old.pk).update(expires_at=timezone.now() - timedelta(1))

    assert letters.purge_expired_downloads() == 1

    purged = LetterDownload.objects.get(pk=old.pk)
    assert purged.status == DownloadStatus.EXPIRED and purged.purged_at
    assert not storage.exists(old.file) and not storage.exists(old.mailing_list)
    assert purged.letter_count == 2 and purged.page_count == 2  # the record stays
    assert storage.exists(new.file) and storage.exists(new.mailing_list)
    assert LetterDownload.objects.get(pk=new.pk).status == DownloadStatus.READY
    assert history(old_batch, history_ids.LETTERS_EXPIRED) == [{"download": old.pk}]
    assert letters.purge_expired_downloads() == 0


def test_purge_removes_chunk_files_of_failed_downloads(sender):
    batch = data.letter_batch(6)
    download = request(batch, sender, chunk_size=3)
    first, _second = download.chunks.order_by("index")
    letter_chunks.render_chunk(first.pk)
    first.refresh_from_db()
    assert letter_storage().exists(first.file)
    letter_chunks.fail_download(download.pk, "Stopped by the test.")
    letters.purge_expired_downloads()
    assert not letter_storage().exists(first.file)
    assert LetterChunk.objects.get(pk=first.pk).file == ""


def test_the_letterhead_logo_from_media_is_on_every_page(sender, tmp_path):
    from django.core.files.images import ImageFile
    from PIL import Image as PILImage
    from wagtail.images.models import Image

    from wagtail_batchcomms.models import Letterhead

    buffer = io.BytesIO()
    PILImage.new("RGB", (300, 80), (20, 80, 160)).save(buffer, "PNG")
    with override_settings(MEDIA_ROOT=str(tmp_path / "media")):
        logo = Image(title="Logo")
        logo.file.save("logo.png", ImageFile(buffer, name="logo.png"), save=False)
        logo.save()
        letterhead = Letterhead.load()
        letterhead.logo = logo
        letterhead.save()
        batch = data.letter_batch(14)  # two render groups
        download = request(batch, sender)
        letter_chunks.run_download_here(download.pk)
    download.refresh_from_db()
    reader, _rows = data.read_download(download)
    assert [len(page.images) for page in reader.pages] == [1] * 14
    assert reader.pages[0].images[0].image.size == (300, 80)
