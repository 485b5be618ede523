"""What the batch page says about sending: "Sending the emails…" only while a send task is
alive as far as the database can tell; after a worker died or a send task crashed, the
pending emails with the Send emails button, and since when rows are left "sending".

Time is moved by the ``now`` argument of ``sending_state`` or by dating rows and history
entries back; sending runs for real against a loopback SMTP server.
"""

from __future__ import annotations

import datetime

import factories
import pytest
from db_faults import fail_writes
from django.urls import reverse
from django.utils import timezone
from sending_data import email_batch, emails
from wagtail.models import ModelLogEntry

from wagtail_batchcomms import history as history_ids
from wagtail_batchcomms.emails.claims import claim_emails
from wagtail_batchcomms.emails.progress import sending_state
from wagtail_batchcomms.emails.sending import send_pending_emails, start_sending
from wagtail_batchcomms.jobs import worker_id
from wagtail_batchcomms.models import Communication, CommunicationStatus

pytestmark = pytest.mark.django_db
STALE = 900  # SENDING_STALE_AFTER's default: "fresh" is within half of it


def later(seconds: float) -> datetime.datetime:
    return timezone.now() + datetime.timedelta(seconds=seconds)


def page(client, batch) -> str:
    return client.get(reverse("wagtail_batchcomms_batch:detail", args=[batch.pk])).content.decode()


def progress(client, batch) -> dict:
    return client.get(reverse("wagtail_batchcomms_batch:progress", args=[batch.pk])).json()


def stopped_entries(batch) -> list[ModelLogEntry]:
    return list(ModelLogEntry.objects.for_instance(batch).filter(action=history_ids.SEND_STOPPED))


def test_a_generated_batch_is_not_sending_and_says_what_waits(admin_client):
    batch = email_batch(3)
    state = sending_state(batch)
    assert (state.active, state.stopped_at, state.requested_at) == (False, None, None)
    assert state.progress["pending"] == 3
    html = page(admin_client, batch)
    assert "Sending the emails" not in html
    assert "3 emails are waiting to be sent." in html and "Use Send emails" in html


def test_after_send_emails_it_shows_sending_until_a_worker_should_have_started(
    superuser, admin_client
):
    batch = email_batch(3)
    start_sending(batch.pk, user=superuser)  # queued; no worker runs here
    assert sending_state(batch).active
    assert progress(admin_client, batch)["sending"] is True
    assert "Sending the emails" in page(admin_client, batch)

    # Two minutes on and no worker has claimed anything: not sending; the page says so.
    state = sending_state(batch, now=later(121))
    assert not state.active and state.requested_at is not None
    ModelLogEntry.objects.for_instance(batch).update(
        timestamp=timezone.now() - datetime.timedelta(minutes=3)
    )
    html = page(admin_client, batch)
    assert "Sending the emails" not in html
    assert "no worker has started on it: check that a django-q2 worker" in html
    assert 'data-batch-action="send"' in html


def test_rows_claimed_by_a_worker_that_stopped_refreshing_them(superuser, admin_client):
    """A worker killed mid-chunk: its rows stay "sending". While their claims are fresh the
    page shows sending; once they are older than half of SENDING_STALE_AFTER (a live task
    refreshes them every quarter), it says since when sending appears stopped."""
    batch = email_batch(5)
    start_sending(batch.pk, user=superuser)
    claimed = claim_emails(batch.pk, "killed-worker", 2)
    claimed_at = claimed[0].claimed_at
    assert sending_state(batch, now=later(STALE / 2 - 5)).active
    state = sending_state(batch, now=later(STALE / 2 + 5))
    assert not state.active and state.stopped_at == claimed_at
    assert state.progress["sending"] == 2 and state.progress["pending"] == 3

    emails(batch).filter(status=CommunicationStatus.SENDING).update(
        claimed_at=timezone.now() - datetime.timedelta(seconds=STALE / 2 + 5)
    )
    ModelLogEntry.objects.for_instance(batch).update(
        timestamp=timezone.now() - datetime.timedelta(seconds=STALE)
    )
    stale_at = emails(batch).filter(status=CommunicationStatus.SENDING).first().claimed_at
    data = progress(admin_client, batch)
    assert data["sending"] is False
    assert data["emails"]["stopped_at"] == factories.wall_clock(stale_at)
    html = page(admin_client, batch)
    assert "Sending the emails" not in html
    assert (
        f"Sending appears to have stopped at {factories.wall_clock(stale_at)};" in html
        and "the 2 emails still marked sending will become Delivery unknown" in html
    )
    assert "3 emails are waiting to be sent." in html
    assert 'data-batch-action="send"' in html


def test_a_live_task_between_chunks_still_shows_sending(superuser):
    """Between two chunks nothing is "sending", but the last claim is fresh: still sending."""
    batch = email_batch(4)
    start_sending(batch.pk, user=superuser)
    ModelLogEntry.objects.for_instance(batch).update(
        timestamp=timezone.now() - datetime.timedelta(minutes=10)
    )
    [row] = claim_emails(batch.pk, "live-worker", 1)
    Communication.objects.filter(pk=row.pk).update(status=CommunicationStatus.SENT)
    state = sending_state(batch)
    assert state.active and state.progress["sending"] == 0 and state.progress["pending"] == 3
    assert not sending_state(batch, now=later(STALE / 2 + 5)).active


def test_a_task_that_gave_up_is_not_sending(superuser, smtp_server):
    """The mail server refuses connections: the task stops and logs it; the page stops at once
    (not 30 minutes later) and offers Send emails again."""
    batch = email_batch(4)
    start_sending(batch.pk, user=superuser)
    smtp_server.stop()
    try:
        result = send_pending_emails(batch.pk, worker_id())
    finally:
        smtp_server.start()
    assert result.stopped == "connection"
    assert stopped_entries(batch)
    state = sending_state(batch)
    assert not state.active and state.stopped_at is None and state.progress["pending"] == 4


def test_a_crashed_send_task_records_sending_stopped(
    superuser, smtp_server, admin_client, settings
):
    """An unexpected exception in the send task: "Sending stopped: <error>" in the history
    (not only for mail server trouble), the exception still raised for django-q2, and the
    page stops showing "Sending the emails…" at once."""
    settings.WAGTAIL_BATCHCOMMS = {**settings.WAGTAIL_BATCHCOMMS, "SEND_CLAIM_SIZE": 2}
    batch = email_batch(6)
    start_sending(batch.pk, user=superuser)
    first = emails(batch).order_by("pk").first()
    # An unexpected exception inside the send task when this row's outcome is written.
    fail_writes(Communication, "UPDATE", f"NEW.id = {first.pk} AND NEW.status = 'sent'")
    with pytest.raises(Exception, match="injected fault"):
        send_pending_emails(batch.pk, worker_id())
    [entry] = stopped_entries(batch)
    assert entry.data["crashed"] is True and "injected fault" in entry.data["error"]
    assert entry.message.startswith("Sending stopped: ")
    assert "injected fault" in entry.message

    state = sending_state(batch)
    assert not state.active
    # The first chunk's outcomes could not be written: its rows stay "sending" (they were
    # handed to the server: they become "delivery unknown", never re-sent); the rest waits.
    assert (state.progress["sending"], state.progress["pending"]) == (2, 4)
    assert state.stopped_at == entry.timestamp
    assert progress(admin_client, batch)["sending"] is False
    html = page(admin_client, batch)
    assert "Sending the emails" not in html
    assert "Sending appears to have stopped at" in html
    assert "4 emails are waiting to be sent." in html
    history = admin_client.get(
        reverse("wagtail_batchcomms_batch:history", args=[batch.pk])
    ).content.decode()
    assert "Sending stopped: " in history

    # A new start is "sending" again (it is after the crash).
    start_sending(batch.pk, user=superuser)
    assert sending_state(batch).active


def test_a_worker_killed_soon_after_the_start_is_not_shown_sending(superuser, settings):
    """The two-minute grace after Send emails is for a worker to pick the task up; once one
    has claimed emails, only its claims count (here SENDING_STALE_AFTER is 60 s)."""
    settings.WAGTAIL_BATCHCOMMS = {**settings.WAGTAIL_BATCHCOMMS, "SENDING_STALE_AFTER": 60}
    batch = email_batch(4)
    start_sending(batch.pk, user=superuser)
    [row] = claim_emails(batch.pk, "killed-worker", 1)
    assert sending_state(batch, now=later(29)).active
    state = sending_state(batch, now=later(31))  # 31 s after the start: still within 2 min
    assert not state.active and state.stopped_at == row.claimed_at
