"""The production topology: PostgreSQL, the Redis broker and two ``qcluster`` processes.

One batch of 5,000 assemblies goes through generation, sending (to a real SMTP server on
loopback) and letter rendering in two worker clusters started as separate process groups
(tests/support/workers.py). The admin's actions are made from a third process configured like the
workers (``ops_data.run_as_web``), as a web server would make them, so every task travels
through Redis. Checked: every email reaches the server exactly once (Message-IDs counted),
every letter is in the merged PDF and the CSV mailing list exactly once, and the letter
chunks were rendered by both clusters.

Runs in the PostgreSQL pass of CI (``DATABASE_URL=postgres://...``) with Redis on
127.0.0.1:6379; skipped elsewhere with the reason.
"""

from __future__ import annotations

import os
import socket
import time
from collections import Counter

import ops_data
import pytest
from batch_admin_data import org_admin
from django.utils import timezone
from workers import wait_until

from wagtail_batchcomms.batches import lifecycle
from wagtail_batchcomms.letters import downloads as letter_services
from wagtail_batchcomms.models import (
    Assembly,
    Batch,
    BatchStatus,
    Channel,
    Communication,
    CommunicationStatus,
    DownloadStatus,
    LetterChunk,
    LetterDownload,
)

#: A Redis database of its own (the other worker tests use 0), and a queue name of its own
#: per test (tests/support/workers.py), so that parallel runs on one Redis server never meet.
REDIS_URL = os.environ.get("BATCHCOMMS_TEST_OPS_REDIS", "redis://127.0.0.1:6379/7")


def _redis_available() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=1).close()
    except OSError:
        return False
    return True


pytestmark = [
    pytest.mark.slow,
    pytest.mark.postgres,
    pytest.mark.skipif(
        not os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")),
        reason="the production topology runs on PostgreSQL: set DATABASE_URL=postgres://...",
    ),
    pytest.mark.skipif(not _redis_available(), reason="no Redis server on 127.0.0.1:6379"),
]

ASSEMBLIES = 5_000


@pytest.fixture
def redis_queue():
    """Clears the test's queue keys from Redis at teardown."""
    names: list[str] = []
    yield names
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    for name in names:
        for key in client.scan_iter(f"*{name}*"):
            client.delete(key)
    client.close()


def cluster_of(claimed_by: str, clusters) -> int | None:
    """Which cluster (its process group) a worker id ``host:pid:random`` belongs to."""
    pid = int(claimed_by.split(":")[1])
    try:
        group = os.getpgid(pid)
    except ProcessLookupError:
        return None
    return next((c.pid for c in clusters if c.pid == group), None)


def test_two_workers_on_redis_generate_send_and_render_5000_assemblies_exactly_once(
    qcluster, smtp_server, redis_queue
):
    started = time.monotonic()
    timings: dict[str, float] = {}
    admin = org_admin()
    # 2,500 locations with two assemblies each: 2,000 owners by email, 500 by letter.
    register = ops_data.bulk_register(
        "TOPO", 2_500, assemblies_per_location=2, has_email=lambda i: i % 5 != 0
    )
    assert register.assemblies == ASSEMBLIES
    template = ops_data.notice_template()
    batch = lifecycle.create_batch(
        user=admin,
        name="Programme-wide reminder",
        template=template,
        due_date=timezone.localdate() + timezone.timedelta(days=30),
        assemblies=Assembly.objects.all(),
    )
    assert batch.assembly_count == ASSEMBLIES
    timings["register and batch"] = time.monotonic() - started

    mark = time.monotonic()
    clusters = qcluster(
        count=2,
        redis=REDIS_URL,
        smtp_port=smtp_server.port,
        settings={"LETTER_CHUNK_SIZE": 40, "GENERATION_CHUNK_SIZE": 500, "SEND_CLAIM_SIZE": 25},
    )
    redis_queue.append(clusters[0].queue_name)
    assert clusters[0].queue_name == clusters[1].queue_name  # one queue, two consumers
    timings["two clusters ready"] = time.monotonic() - mark

    def status() -> str:
        return Batch.objects.values_list("status", flat=True).get(pk=batch.pk)

    # --- generation ----------------------------------------------------------------------
    mark = time.monotonic()
    ops_data.run_as_web(
        clusters[0], "wagtail_batchcomms.batches.lifecycle.start_generation", batch.pk, user=admin
    )
    wait_until(
        lambda: status() == BatchStatus.GENERATED,
        timeout=120,
        clusters=clusters,
        message="the batch did not reach Generated",
    )
    timings["generation"] = time.monotonic() - mark
    counts = Counter(Communication.objects.filter(batch=batch).values_list("channel", flat=True))
    assert counts == {Channel.EMAIL: register.emails, Channel.LETTER: register.letters}

    # --- sending: two admins click "Send emails" at once ----------------------------------
    mark = time.monotonic()
    # A couple of milliseconds per message at the server, so that the two tasks overlap.
    smtp_server.configure(delay=0.002)
    ops_data.run_as_web(
        clusters[1],
        "wagtail_batchcomms.emails.sending.start_sending",
        batch.pk,
        user=admin,
        times=2,
    )
    emails = Communication.objects.filter(batch=batch, channel=Channel.EMAIL)
    wait_until(
        lambda: emails.filter(status=CommunicationStatus.SENT).count() == register.emails,
        timeout=180,
        interval=0.5,
        clusters=clusters,
        message="not every email was sent",
    )
    timings["sending"] = time.monotonic() - mark
    time.sleep(1)  # anything sent twice would arrive now
    received = smtp_server.message_id_counts()
    rows = ops_data.email_rows(batch)
    assert len(rows) == register.emails
    assert set(received) == set(rows)
    doubled = {mid: n for mid, n in received.items() if n != 1}
    assert not doubled, f"emails that arrived more than once: {list(doubled.items())[:5]}"
    assert len(smtp_server.messages) == register.emails
    senders = set(emails.values_list("claimed_by", flat=True))
    assert len(senders) >= 2, "the two send tasks did not both send"

    # --- letters ---------------------------------------------------------------------------
    mark = time.monotonic()
    download_id = ops_data.run_as_web(
        clusters[0],
        "wagtail_batchcomms.letters.downloads.request_letter_download",
        batch.pk,
        user=admin,
    )
    wait_until(
        lambda: (
            LetterDownload.objects.get(pk=download_id).status
            in (DownloadStatus.READY, DownloadStatus.FAILED)
        ),
        timeout=240,
        interval=0.5,
        clusters=clusters,
        message="the letters PDF was not ready",
    )
    timings["letters"] = time.monotonic() - mark
    download = LetterDownload.objects.get(pk=download_id)
    assert download.status == DownloadStatus.READY, download.error
    chunks = list(LetterChunk.objects.filter(download=download))
    assert len(chunks) == -(-register.letters // 40)
    # Read while the workers still run: a worker id names its process, whose group is its
    # cluster.
    by_cluster = Counter(cluster_of(chunk.claimed_by, clusters) for chunk in chunks)
    assert set(by_cluster) == {c.pid for c in clusters}, by_cluster

    mark = time.monotonic()
    read = ops_data.read_download(download)
    timings["reading the PDF back"] = time.monotonic() - mark
    expected = ops_data.letter_accounts(batch)
    assert len(read.letters) == register.letters == download.letter_count
    assert read.markers == expected  # every letter once, none missing, none extra
    letter_ids = set(
        Communication.objects.filter(batch=batch, channel=Channel.LETTER).values_list(
            "pk", flat=True
        )
    )
    assert read.csv_ids == Counter(dict.fromkeys(letter_ids, 1))
    assert download.page_count == read.pages

    # --- closing out ------------------------------------------------------------------------
    mailed = letter_services.mark_letters_mailed(batch.pk, user=admin, download_id=download.pk)
    assert mailed == register.letters
    batch = lifecycle.complete_batch(batch.pk, user=admin)
    assert batch.status == BatchStatus.COMPLETE
    assert Communication.objects.filter(batch=batch).exclude(status="sent").count() == 0
    assert Communication.objects.filter(batch=batch).count() == register.locations

    timings["total"] = time.monotonic() - started
    print(
        "\ntopology timings (s): "
        + ", ".join(f"{name} {seconds:.1f}" for name, seconds in timings.items())
        + f"; chunks per cluster {dict(by_cluster)}; send task runs {len(senders)}"
    )
