"""Sending with real django-q2 worker processes (tests/support/workers.py) and a real SMTP server.

- a worker killed with SIGKILL while it sends: its claimed rows stay "sending", become
  "delivery unknown" once stale, are never re-sent by the next task, and go out again only on
  an admin's explicit retry (with the same Message-ID);
- the issue's large test: on PostgreSQL with the Redis broker and two qcluster processes, a
  batch of 2,000 sends every email exactly once.
"""

from __future__ import annotations

import os
import time

import factories
import pytest
from django.db import connection
from sending_data import email_batch, emails
from workers import wait_until

from wagtail_batchcomms.emails.sending import start_sending
from wagtail_batchcomms.models import BatchStatus, CommunicationStatus

ST = CommunicationStatus
SEND_TASK = "wagtail_batchcomms.tasks.send_batch_emails"

pytestmark = pytest.mark.slow


def counts(batch) -> dict[str, int]:
    result: dict[str, int] = {}
    for status in emails(batch).values_list("status", flat=True):
        result[status] = result.get(status, 0) + 1
    return result


def test_worker_killed_mid_send(qcluster, smtp_server):
    stale_after = 2
    worker_settings = {"SEND_CLAIM_SIZE": 10, "SENDING_STALE_AFTER": stale_after}
    admin = factories.user("admin", superuser=True)
    batch = email_batch(30)
    smtp_server.configure(delay=0.3)  # slow enough to kill the worker mid-chunk
    first = qcluster(settings=worker_settings, smtp_port=smtp_server.port)

    start_sending(batch.pk, user=admin)
    wait_until(
        lambda: len(smtp_server.messages) >= 3,
        clusters=[first],
        message="the first worker did not start sending",
    )
    first.kill()
    killed_at = time.monotonic()
    left_sending = set(emails(batch).filter(status=ST.SENDING).values_list("pk", flat=True))
    assert left_sending, counts(batch)
    batch.refresh_from_db()
    assert batch.status == BatchStatus.PARTIALLY_SENT

    # A new worker and a new send task after the stale period: the dead worker's rows become
    # "delivery unknown"; everything still pending is sent; nothing is sent twice.
    time.sleep(max(0.0, stale_after + 0.5 - (time.monotonic() - killed_at)))
    smtp_server.configure(delay=0)
    second = qcluster(settings=worker_settings, smtp_port=smtp_server.port)
    start_sending(batch.pk, user=admin)
    wait_until(
        lambda: not emails(batch).filter(status__in=[ST.PENDING, ST.SENDING]).exists(),
        clusters=[second],
        timeout=120,
        message="the second worker did not finish",
    )
    unknown = set(emails(batch).filter(status=ST.UNKNOWN).values_list("pk", flat=True))
    assert unknown == left_sending
    assert counts(batch) == {"sent": 30 - len(unknown), "unknown": len(unknown)}
    arrived = smtp_server.message_id_counts()
    assert max(arrived.values()) == 1, arrived
    for row in emails(batch).filter(status=ST.SENT):
        assert arrived[row.message_id] == 1
    # The unknown ones either reached the server before the kill or not; never since.
    reached = {pk for pk in unknown if arrived[emails(batch).get(pk=pk).message_id]}
    assert len(smtp_server.messages) == 30 - len(unknown) + len(reached)

    # Only the admin's explicit retry sends them, with the Message-ID of the first attempt.
    first_ids = dict(emails(batch).filter(pk__in=unknown).values_list("pk", "message_id"))
    assert start_sending(batch.pk, user=admin, retry_unknown=True) == len(unknown)
    wait_until(
        lambda: counts(batch) == {"sent": 30},
        clusters=[second],
        timeout=120,
        message="the retried emails were not sent",
    )
    arrived = smtp_server.message_id_counts()
    for pk, message_id in first_ids.items():
        assert emails(batch).get(pk=pk).message_id == message_id
        assert arrived[message_id] == (2 if pk in reached else 1)


@pytest.mark.postgres
def test_two_clusters_on_redis_send_2000_emails_exactly_once(qcluster, smtp_server):
    if connection.vendor != "postgresql":
        pytest.skip("the large send runs on PostgreSQL (DATABASE_URL=postgres://...)")
    redis_url = os.environ.get("BATCHCOMMS_TEST_REDIS", "redis://127.0.0.1:6379/3")
    batch = email_batch(2000)
    clusters = qcluster(
        count=2,
        redis=redis_url,
        smtp_port=smtp_server.port,
        settings={"SEND_CLAIM_SIZE": 25},
    )
    # Four send tasks (a double click on each of two admins' pages, say): the two clusters'
    # workers all claim from the same batch.
    for _ in range(4):
        clusters[0].async_task(SEND_TASK, batch.pk)

    wait_until(
        lambda: (
            len(smtp_server.messages) >= 2000
            and not emails(batch).filter(status__in=[ST.PENDING, ST.SENDING]).exists()
        ),
        clusters=clusters,
        timeout=600,
        interval=1,
        message="the 2,000 emails were not all sent",
    )
    time.sleep(1)  # anything sent twice would arrive now
    assert counts(batch) == {"sent": 2000}
    arrived = smtp_server.message_id_counts()
    assert len(smtp_server.messages) == 2000
    assert set(arrived) == set(emails(batch).values_list("message_id", flat=True))
    assert set(arrived.values()) == {1}
    # More than one worker process took part.
    workers = emails(batch).values_list("claimed_by", flat=True)
    processes = {claimed_by.split(":")[1] for claimed_by in workers}
    assert len(processes) >= 2, processes
    batch.refresh_from_db()
    assert batch.status == BatchStatus.PARTIALLY_SENT
