"""Keeping the record of attempted emails when a batch is regenerated and when emails are
retried, as an admin meets it (DESIGN.md, "Keeping the record").

Regenerating removes only notices never attempted: a failed email, or one put back in the
queue, stays with its server's answer and generation makes no second notice beside it.
Retrying keeps the earlier answer (shown as the last attempt's) until the next outcome
replaces it, and the history says what was put back.

Real generation (the SQL inserts), real requests through Wagtail's admin, emails sent to the
loopback SMTP server of tests/support/smtp.py."""

from __future__ import annotations

import csv
import io
import itertools
from collections import Counter

import factories
import generation_data
import pytest
from db_faults import fail_writes
from django.db.models import Count
from django.urls import reverse
from sending_data import email_batch, emails
from wagtail.log_actions import log
from wagtail.models import ModelLogEntry

from wagtail_batchcomms.batches import generation
from wagtail_batchcomms.batches.lifecycle import create_batch, start_generation
from wagtail_batchcomms.emails.sending import new_worker_id, send_pending_emails, start_sending
from wagtail_batchcomms.models import (
    Assembly,
    Batch,
    BatchStatus,
    Channel,
    Communication,
    CommunicationStatus,
)

pytestmark = pytest.mark.django_db

S = BatchStatus
ST = CommunicationStatus
APP = "wagtail_batchcomms"
KEY = ("batch", "location", "assembly", "contact", "channel")
_seq = itertools.count(1)


def generated_batch(user, owners: int = 4) -> Batch:
    """A batch generated for real: ``owners`` locations, each with one owner who has an email
    address, and a template sending an email and a letter to each."""
    n = next(_seq)
    template = factories.notice_template(
        contact_roles=["owner"], contact_methods="both", first_available_only=False
    )
    serials = []
    for i in range(1, owners + 1):
        location = factories.location()
        factories.role(
            location, factories.contact(name=f"Owner {n}-{i}", email=f"{i}@r{n}.example")
        )
        serials.append(factories.assembly(location).serial_number)
    batch = create_batch(
        user=user,
        name=f"Record {n}",
        template=template,
        due_date=generation_data.due_date(),
        assemblies=Assembly.objects.filter(serial_number__in=serials),
    )
    return regenerate(None, batch, user=user)


def regenerate(client, batch: Batch, *, user=None) -> Batch:
    """Generate (``client`` None: from Open, by the service) or regenerate (through the
    admin's confirm page), then run the generation task as the worker would."""
    if client is None:
        start_generation(batch.pk, user=user)
    else:
        response = client.post(reverse(f"{APP}_batch:regenerate", args=[batch.pk]))
        assert response.status_code == 302, response.status_code
    batch.refresh_from_db()
    assert batch.status == S.GENERATING
    generation.generate(batch.pk, batch.task_token)
    batch.refresh_from_db()
    assert batch.status == S.GENERATED, batch.error
    return batch


def duplicates(batch: Batch) -> list:
    return list(
        Communication.objects.filter(batch=batch)
        .values(*KEY)
        .annotate(n=Count("pk"))
        .filter(n__gt=1)
        .order_by()
    )


def answers(batch: Batch) -> dict[int, tuple]:
    return {
        c.pk: (c.status, c.attempts, c.error_code, c.error, c.message_id)
        for c in Communication.objects.filter(batch=batch)
    }


def history(batch: Batch, action: str) -> list[ModelLogEntry]:
    return list(
        ModelLogEntry.objects.filter(object_id=str(batch.pk), action=f"{APP}.{action}").order_by(
            "pk"
        )
    )


def page(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def exports(client, url: str) -> dict[str, str]:
    """The Error column of a listing's CSV export, by recipient."""
    response = client.get(url + "?export=csv")
    assert response.status_code == 200, response.status_code
    text = b"".join(response.streaming_content).decode()
    return {row["Recipient"]: row["Error"] for row in csv.DictReader(io.StringIO(text))}


# --- regenerating ---------------------------------------------------------------------------


def test_regenerating_keeps_attempted_emails_with_their_answers(admin_client, superuser):
    batch = generated_batch(superuser)
    first = emails(batch)
    assert first.count() == 4 and batch.communications.filter(channel=Channel.LETTER).count() == 4
    failed, requeued, untouched, refused_twice = first
    # The states a regenerable batch can hold (a test shortcut: the send path is exercised in
    # the retry tests below): a failed email, one put back in the queue after a failure,
    # one never attempted; the letters are never attempted.
    Communication.objects.filter(pk=failed.pk).update(
        status=ST.FAILED, attempts=1, error_code="550", error="5.1.1 No such mailbox"
    )
    Communication.objects.filter(pk=requeued.pk).update(
        status=ST.PENDING, attempts=1, error_code="451", error="4.3.0 Try again later"
    )
    Communication.objects.filter(pk=refused_twice.pk).update(
        status=ST.FAILED, attempts=2, error_code="554", error="5.7.1 Message refused"
    )
    kept = {failed.pk, requeued.pk, refused_twice.pk}
    before = answers(batch)
    never = set(batch.communications.exclude(pk__in=kept).values_list("pk", flat=True))
    assert len(never) == 5  # one email, four letters

    # The confirm page says what happens to the emails already tried.
    confirm = page(admin_client, reverse(f"{APP}_batch:regenerate", args=[batch.pk]))
    assert "Emails already tried" in confirm and "Retry failed emails" in confirm

    batch = regenerate(admin_client, batch)

    after = answers(batch)
    # The attempted ones are the same rows with the same answers...
    assert {pk: after[pk] for pk in kept} == {pk: before[pk] for pk in kept}
    # ...the never-attempted ones were replaced by new rows (same recipients, new ids)...
    assert not never & set(after)
    assert len(after) == 8
    assert Counter(c.channel for c in batch.communications.all()) == {"email": 4, "letter": 4}
    new_email = batch.communications.get(channel=Channel.EMAIL, pk__in=set(after) - kept)
    assert (new_email.contact_id, new_email.location_id) == (
        untouched.contact_id,
        untouched.location_id,
    )
    assert (new_email.status, new_email.attempts, new_email.error) == (ST.PENDING, 0, "")
    # ...and no recipient got a second notice beside a kept one.
    assert duplicates(batch) == []

    [entry] = history(batch, "regenerate")
    assert entry.data["removed"] == 5 and entry.data["kept"] == 3
    assert entry.message == (
        "Started regenerating: removed 5 notices never attempted, kept 3 notices already attempted"
    )
    assert "removed 5 notices never attempted" in page(
        admin_client, reverse(f"{APP}_batch:history", args=[batch.pk])
    )

    # The kept failed ones are tried again by the existing retry action.
    assert start_sending(batch.pk, user=superuser, retry_failed=True) == 4


def test_regenerating_after_a_real_send_where_every_email_failed(
    admin_client, superuser, smtp_server
):
    batch = generated_batch(superuser, owners=3)
    domain = batch.communications.filter(channel=Channel.EMAIL).first().email.split("@")[1]
    smtp_server.configure(
        refuse={
            f"1@{domain}": (550, "5.1.1 No such mailbox"),
            f"2@{domain}": (450, "4.2.1 Mailbox busy, try later"),
            f"3@{domain}": (553, "5.1.3 Bad address syntax"),
        }
    )
    result = send_pending_emails(batch.pk, new_worker_id())
    assert (result.sent, result.failed) == (0, 3)
    batch.refresh_from_db()
    assert batch.status == S.GENERATED  # nothing reached anyone: regeneration is allowed
    before = answers(batch)
    failed = set(emails(batch).values_list("pk", flat=True))
    assert {before[pk][2] for pk in failed} == {"550", "450", "553"}

    batch = regenerate(admin_client, batch)

    after = answers(batch)
    assert {pk: after[pk] for pk in failed} == {pk: before[pk] for pk in failed}
    assert emails(batch).count() == 3
    assert batch.communications.filter(channel=Channel.LETTER).count() == 3
    assert duplicates(batch) == []
    [entry] = history(batch, "regenerate")
    assert (entry.data["removed"], entry.data["kept"]) == (3, 3)
    # The failures CSV still holds them with the server's answers.
    response = admin_client.get(reverse(f"{APP}_batch:failures_csv", args=[batch.pk]))
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert sorted(row["Error code"] for row in rows) == ["450", "550", "553"]


def test_a_failed_regeneration_removes_its_own_rows_and_keeps_the_attempted(
    admin_client, superuser, app_settings
):
    app_settings(GENERATION_CHUNK_SIZE=1)  # the first locations' rows commit before the fault
    batch = generated_batch(superuser)
    first, second, _third, last = emails(batch)
    for row, code in ((first, "550"), (second, "451"), (last, "554")):
        Communication.objects.filter(pk=row.pk).update(
            status=ST.FAILED, attempts=1, error_code=code, error=f"{code} refused"
        )
    kept = {first.pk, second.pk, last.pk}
    before = answers(batch)
    response = admin_client.post(reverse(f"{APP}_batch:regenerate", args=[batch.pk]))
    assert response.status_code == 302
    batch.refresh_from_db()
    fail_writes(Communication, "INSERT", f"NEW.location_id = {last.location_id}")

    with pytest.raises(Exception, match="injected fault"):
        generation.generate(batch.pk, batch.task_token)

    batch.refresh_from_db()
    assert batch.status == S.OPEN and "injected fault" in batch.error
    # The run's own rows (never attempted) are gone; the attempted ones stay as they were.
    assert answers(batch) == {pk: before[pk] for pk in kept}


@pytest.mark.parametrize(
    ("channel", "status", "attempts"),
    [
        ("email", ST.SENT, 1),
        ("email", ST.UNKNOWN, 1),
        ("email", ST.SENDING, 1),
        ("letter", ST.SENT, 0),
    ],
)
def test_regenerating_is_refused_once_a_notice_may_have_reached_someone(
    admin_client, superuser, channel, status, attempts
):
    batch = generated_batch(superuser, owners=2)
    reached = batch.communications.filter(channel=channel).first()
    Communication.objects.filter(pk=reached.pk).update(
        status=status, attempts=attempts, error="Connection lost after the data was sent"
    )
    before = answers(batch)

    response = admin_client.post(reverse(f"{APP}_batch:regenerate", args=[batch.pk]), follow=True)

    assert "already been sent or are being sent" in response.content.decode()
    batch.refresh_from_db()
    assert batch.status == S.GENERATED
    assert answers(batch) == before
    assert history(batch, "regenerate") == []


def test_old_regenerate_entries_still_read(superuser):
    batch = generated_batch(superuser, owners=1)
    entry = log(instance=batch, action=f"{APP}.regenerate", user=superuser, data={"removed": 2})
    assert entry.message == "Started regenerating: 2 unsent notices removed"


# --- retrying -------------------------------------------------------------------------------


def test_retry_keeps_the_earlier_answer_until_the_next_outcome(
    admin_client, superuser, smtp_server
):
    batch = email_batch(4)
    smtp_server.configure(
        refuse={
            "1@customers.example": (550, "5.1.1 No such mailbox"),
            "2@customers.example": (450, "4.2.1 Mailbox busy, try later"),
        },
        # The first message to reach DATA (3's) is taken, then the connection drops.
        drop_after=0,
        drop_phase="data",
    )
    send_pending_emails(batch.pk, new_worker_id())
    one, two, three, four = emails(batch)
    assert (one.status, one.error_code) == (ST.FAILED, "550")
    assert (two.status, two.error_code) == (ST.FAILED, "450")
    assert four.status == ST.SENT
    assert three.status == ST.UNKNOWN and three.error
    earlier = {c.pk: (c.error_code, c.error) for c in (one, two, three)}
    assert all(text for _code, text in earlier.values())

    assert start_sending(batch.pk, user=superuser, retry_failed=True, retry_unknown=True) == 3

    # Back in the queue with the earlier answer kept, shown as the last attempt's.
    for row in emails(batch).filter(pk__in=earlier):
        assert row.status == ST.PENDING
        assert (row.error_code, row.error) == earlier[row.pk]
        assert row.answer_is_previous
    inspect = page(admin_client, reverse(f"{APP}_communication:inspect", args=[one.pk]))
    assert "Last attempt&#x27;s answer" in inspect and "Server&#x27;s answer" not in inspect
    assert "<code>550</code> 5.1.1 No such mailbox" in inspect
    listing = page(admin_client, reverse(f"{APP}_batch:communications", args=[batch.pk]))
    assert listing.count("Last attempt:") == 3
    detail = page(admin_client, reverse(f"{APP}_batch:detail", args=[batch.pk]))
    assert detail.count("Last attempt:") == 3
    # Both exports of communications mark it too.
    for url in (
        reverse(f"{APP}_communication:index"),
        reverse(f"{APP}_batch:communications", args=[batch.pk]),
    ):
        exported = exports(admin_client, url)
        assert exported["Customer 1"] == "Last attempt: 5.1.1 No such mailbox"
        assert exported["Customer 4"] == ""
    # Pending, so not among the failures any more; the history says what was requeued.
    response = admin_client.get(reverse(f"{APP}_batch:failures_csv", args=[batch.pk]))
    assert len(list(csv.DictReader(io.StringIO(response.content.decode())))) == 0
    [entry] = history(batch, "send_retry")
    assert entry.data == {"count": 3, "failed": 2, "unknown": 1}
    assert entry.message == "3 emails put back in the queue (2 failed, 1 delivery unknown)"
    assert "3 emails put back in the queue" in page(
        admin_client, reverse(f"{APP}_batch:history", args=[batch.pk])
    )

    # The next attempt: refused again with a new answer, or accepted.
    smtp_server.configure(
        refuse={"1@customers.example": (551, "5.1.6 Mailbox moved")}, drop_after=None
    )
    send_pending_emails(batch.pk, new_worker_id())
    one.refresh_from_db()
    assert (one.status, one.error_code, one.error) == (ST.FAILED, "551", "5.1.6 Mailbox moved")
    assert not one.answer_is_previous
    for row in emails(batch).filter(pk__in=[two.pk, three.pk]):
        assert (row.status, row.error_code, row.error) == (ST.SENT, "", "")
    inspect = page(admin_client, reverse(f"{APP}_communication:inspect", args=[one.pk]))
    assert "Server&#x27;s answer" in inspect and "Last attempt" not in inspect
    listing = page(admin_client, reverse(f"{APP}_batch:communications", args=[batch.pk]))
    assert "Last attempt:" not in listing
    assert "5.1.6 Mailbox moved" in listing
    assert "Last attempt:" not in page(
        admin_client, reverse(f"{APP}_batch:detail", args=[batch.pk])
    )
    exported = exports(admin_client, reverse(f"{APP}_communication:index"))
    assert exported["Customer 1"] == "5.1.6 Mailbox moved"
    assert exported["Customer 2"] == ""
