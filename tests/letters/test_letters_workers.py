"""Letter downloads rendered by real ``qcluster`` processes (tests/support/workers.py).

Two clusters share one download's chunks; a cluster killed (SIGKILL) mid-chunk leaves its
chunk claimed, and after the stale timeout recovery hands it to another worker: every
letter ends up in the PDF exactly once.
"""

from __future__ import annotations

import time

import factories
import letters_data as data
import pytest
from django.conf import settings
from django.test import override_settings
from letter_checks import assert_every_letter_once, print_order
from workers import wait_until

from wagtail_batchcomms.letters import downloads as letters
from wagtail_batchcomms.models import DownloadStatus, LetterChunk, LetterDownload

pytestmark = pytest.mark.slow

DS = DownloadStatus
PERMS = [factories.ADMIN_ACCESS, "wagtail_batchcomms.send_batch", "wagtail_batchcomms.view_batch"]


@pytest.fixture
def shared(tmp_path):
    """Settings for this process and the workers alike: private files in this test's folder."""
    values = {"PRIVATE_ROOT": str(tmp_path / "private")}

    def apply(**more):
        merged = {**values, **more}
        return merged, override_settings(
            WAGTAIL_BATCHCOMMS={**settings.WAGTAIL_BATCHCOMMS, **merged}
        )

    return apply


def status_of(download: LetterDownload) -> str:
    return LetterDownload.objects.values_list("status", flat=True).get(pk=download.pk)


def process_of(claimed_by: str) -> str:
    """ "host:pid:random" -> "host:pid" (one worker process)."""
    return claimed_by.rsplit(":", 1)[0]


def test_two_workers_share_the_chunks_and_every_letter_is_printed_once(qcluster, shared):
    values, overrides = shared(LETTER_CHUNK_SIZE=8)
    user = factories.user("printer", perms=PERMS)
    batch = data.letter_batch(40)
    expected = print_order(batch)
    clusters = qcluster(count=2, settings=values)
    with overrides:
        download = letters.request_letter_download(batch.pk, user=user)  # commits: queued
        wait_until(
            lambda: status_of(download) in (DS.READY, DS.FAILED),
            timeout=180,
            clusters=clusters,
            message="the letters were not rendered",
        )
        download.refresh_from_db()
        assert download.status == DS.READY, download.error
        assert_every_letter_once(download, expected)
    chunks = list(download.chunks.order_by("index"))
    assert len(chunks) == 5 and all(c.status == DS.READY for c in chunks)
    workers = {process_of(c.claimed_by) for c in chunks}
    assert len(workers) >= 2, f"one worker rendered every chunk: {workers}"
    assert all(cluster.alive for cluster in clusters)


def test_a_worker_killed_mid_chunk_is_recovered_without_loss_or_doubles(qcluster, shared):
    values, overrides = shared(LETTER_CHUNK_SIZE=40, LETTER_CLAIM_STALE_AFTER=3)
    user = factories.user("printer", perms=PERMS)
    batch = data.letter_batch(80)
    expected = print_order(batch)
    first = qcluster(settings=values)
    with overrides:
        download = letters.request_letter_download(batch.pk, user=user)
        rendering = LetterChunk.objects.filter(download=download, status=DS.RENDERING)
        wait_until(
            rendering.exists,
            timeout=120,
            interval=0.02,
            clusters=[first],
            message="no chunk started rendering",
        )
        first.kill()  # SIGKILL mid-chunk: no cleanup runs
        killed = {c.pk: c.claimed_by for c in rendering}
        assert killed
        time.sleep(1)
        # Nothing moves on its own: the dead worker's chunks stay claimed.
        assert status_of(download) == DS.RENDERING
        assert {c.pk: c.claimed_by for c in rendering} == killed

        time.sleep(3)  # LETTER_CLAIM_STALE_AFTER passes
        queued = letters.recover_letter_downloads()  # the scheduled task, run here
        assert queued >= len(killed)
        second = qcluster(settings=values)
        wait_until(
            lambda: status_of(download) in (DS.READY, DS.FAILED),
            timeout=180,
            clusters=[second],
            message="the recovered letters were not rendered",
        )
        download.refresh_from_db()
        assert download.status == DS.READY, download.error
        assert_every_letter_once(download, expected)
    for pk, dead in killed.items():
        chunk = LetterChunk.objects.get(pk=pk)
        assert chunk.status == DS.READY and process_of(chunk.claimed_by) != process_of(dead)
    assert download.progress_done == download.letter_count == 80
