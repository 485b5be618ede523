"""Sending a batch's emails to a real SMTP server on 127.0.0.1 (tests/support/smtp.py), in-process.

Exactly-once is checked at the server, by Message-ID. The worker-process tests (killed
worker, two clusters on Redis) are in test_sending_workers.py.
"""

from __future__ import annotations

import time
from datetime import timedelta

import factories
import pytest
from concurrency import run_at_once
from django.core import mail
from django.core.mail import EmailMultiAlternatives
from django.utils import timezone
from django_q.models import OrmQ
from sending_data import email_batch, email_template, emails
from wagtail.models import ModelLogEntry

from wagtail_batchcomms import history as history_ids
from wagtail_batchcomms.emails.claims import claim_emails
from wagtail_batchcomms.emails.progress import sending_progress
from wagtail_batchcomms.emails.send_loop import SendResult
from wagtail_batchcomms.emails.sending import reap_stale_sending, send_pending_emails, start_sending
from wagtail_batchcomms.emails.transports import Mailer, Outcome
from wagtail_batchcomms.exceptions import SendingError
from wagtail_batchcomms.jobs import worker_id
from wagtail_batchcomms.models import Batch, BatchStatus, CommunicationStatus

SEND_PERM = "wagtail_batchcomms.send_batch"


def send(batch: Batch) -> SendResult:
    return send_pending_emails(batch.pk, worker_id())


def statuses(batch: Batch) -> dict[str, int]:
    progress = sending_progress(batch)
    return {key: value for key, value in progress.items() if value and key != "total"}


def assert_each_once(smtp_server, batch: Batch) -> None:
    """Every sent row's Message-ID arrived exactly once, and nothing else arrived."""
    counts = smtp_server.message_id_counts()
    sent_ids = list(
        emails(batch).filter(status=CommunicationStatus.SENT).values_list("message_id", flat=True)
    )
    assert all(counts[message_id] == 1 for message_id in sent_ids), counts
    assert max(counts.values(), default=1) == 1, counts


# --- the happy path --------------------------------------------------------------------------


@pytest.mark.django_db
def test_sends_every_email_once_and_keeps_the_record(smtp_server, app_settings):
    app_settings(SEND_CLAIM_SIZE=7)
    batch = email_batch(25)

    result = send(batch)

    assert (result.claimed, result.sent, result.stopped) == (25, 25, "done")
    assert statuses(batch) == {"sent": 25}
    assert len(smtp_server.messages) == 25
    assert_each_once(smtp_server, batch)
    row = emails(batch).first()
    received = smtp_server.by_recipient(row.email)
    assert len(received) == 1
    message = received[0].message
    # The stable Message-ID is stored on the row and names the batch and communication.
    assert message["Message-ID"] == row.message_id
    assert row.message_id.startswith(f"<batchcomms.{batch.pk}.{row.pk}.")
    assert row.message_id.endswith("@utility.example>")
    assert message["X-Batchcomms-Communication"] == f"{batch.pk}.{row.pk}"
    assert message["From"] == "Test Utility <backflow@utility.example>"
    assert message["To"] == f"{row.recipient_name} <{row.email}>"
    # Text and HTML alternatives; the row keeps what was sent.
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert row.recipient_name in text and row.recipient_name in html
    assert message["Subject"] == row.subject
    assert row.subject == f"Backflow test due for {row.location.account_number}"
    assert row.body_text.strip() == text.replace("\r\n", "\n").strip()
    assert row.location.account_number in row.body_html
    assert row.sent_at is not None and row.attempts == 1 and row.error == ""


@pytest.mark.django_db
def test_first_sent_email_moves_the_batch_to_partially_sent(smtp_server):
    batch = email_batch(3)

    send(batch)

    batch.refresh_from_db()
    assert batch.status == BatchStatus.PARTIALLY_SENT
    actions = list(ModelLogEntry.objects.for_instance(batch).values_list("action", flat=True))
    assert actions.count("wagtail_batchcomms.partially_sent") == 1


@pytest.mark.django_db
def test_a_closed_batch_sends_nothing(smtp_server):
    batch = email_batch(3, status=BatchStatus.COMPLETE)

    result = send(batch)

    assert result.stopped == "batch_closed"
    assert smtp_server.messages == []
    assert statuses(batch) == {"pending": 3}


@pytest.mark.django_db
def test_other_email_backends_get_one_message_per_call(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    batch = email_batch(4)

    result = send(batch)

    assert result.sent == 4
    assert len(mail.outbox) == 4
    assert len({m.extra_headers["Message-ID"] for m in mail.outbox}) == 4


# --- refusals and lost connections ------------------------------------------------------------


@pytest.mark.django_db
def test_refused_recipients_fail_alone_with_the_servers_code(smtp_server):
    batch = email_batch(10)
    smtp_server.configure(
        refuse={"3@customers.example": (550, "5.1.1 No such mailbox")},
        reject_data={"7@customers.example": (554, "5.7.1 Message refused")},
    )

    result = send(batch)

    assert (result.sent, result.failed) == (8, 2)
    refused = emails(batch).get(email="3@customers.example")
    assert (refused.status, refused.error_code) == (CommunicationStatus.FAILED, "550")
    assert refused.error == "5.1.1 No such mailbox"
    assert refused.sent_at is None
    rejected = emails(batch).get(email="7@customers.example")
    assert (rejected.status, rejected.error_code, rejected.error) == (
        CommunicationStatus.FAILED,
        "554",
        "5.7.1 Message refused",
    )
    assert len(smtp_server.messages) == 8
    assert smtp_server.by_recipient("3@customers.example") == []
    assert_each_once(smtp_server, batch)


@pytest.mark.django_db
def test_drop_after_the_message_arrived_is_unknown_and_never_resent(smtp_server, app_settings):
    app_settings(SEND_CLAIM_SIZE=4)
    batch = email_batch(10)
    smtp_server.configure(drop_after=3, drop_phase="data", max_drops=1)

    result = send(batch)

    # The fourth message reached the server, which dropped the line before answering: the
    # sender cannot know, records "unknown", reconnects and goes on.
    assert (result.sent, result.unknown, result.reconnects) == (9, 1, 1)
    unknown = emails(batch).get(status=CommunicationStatus.UNKNOWN)
    assert unknown.email == "4@customers.example"
    assert "after the message was handed over" in unknown.error
    assert unknown.subject  # the record of what may have been delivered
    assert len(smtp_server.messages) == 10
    assert smtp_server.message_id_counts()[unknown.message_id] == 1
    assert_each_once(smtp_server, batch)
    assert smtp_server.connections == 2

    # A later run does not touch it.
    assert send(batch).claimed == 0
    assert len(smtp_server.messages) == 10


@pytest.mark.django_db
def test_drop_before_data_puts_the_message_back_and_sends_it_once(smtp_server, app_settings):
    app_settings(SEND_CLAIM_SIZE=4)
    batch = email_batch(10)
    smtp_server.configure(drop_after=3, drop_phase="mail", max_drops=2)

    result = send(batch)

    # Dropped on MAIL FROM: the server cannot have it; it goes back to pending and the same
    # run sends it on a new connection.
    assert statuses(batch) == {"sent": 10}
    assert result.reconnects == 2
    assert len(smtp_server.messages) == 10
    assert_each_once(smtp_server, batch)
    assert sorted(emails(batch).values_list("attempts", flat=True)) == [1] * 8 + [2] * 2


@pytest.mark.django_db
def test_unreachable_server_stops_and_leaves_everything_pending(settings, smtp_server):
    batch = email_batch(5)
    smtp_server.stop()  # the port is closed now: every connection attempt is refused

    result = send(batch)

    assert result.stopped == "connection"
    assert "Cannot connect" in result.error
    assert result.sent == 0
    assert statuses(batch) == {"pending": 5}
    entry = ModelLogEntry.objects.for_instance(batch).get(action="wagtail_batchcomms.send_stopped")
    assert "Cannot connect" in entry.data["error"]


@pytest.mark.django_db
def test_mailer_classifies_where_the_connection_broke(smtp_server):
    """The SMTP transaction itself, without the database: pre-DATA vs post-DATA drops."""

    def message(n: int) -> EmailMultiAlternatives:
        msg = EmailMultiAlternatives(
            f"m{n}", "text", "a@utility.example", [f"{n}@customers.example"]
        )
        msg.extra_headers["Message-ID"] = f"<m{n}@test>"
        return msg

    smtp_server.configure(drop_after=1, drop_phase="mail", max_drops=1)
    with Mailer() as mailer:
        outcomes = [mailer.send(message(n)).outcome for n in range(3)]
    assert outcomes == [Outcome.SENT, Outcome.RETRY, Outcome.SENT]

    smtp_server.configure(drop_after=1, drop_phase="data", max_drops=2)
    with Mailer() as mailer:
        outcomes = [mailer.send(message(n)).outcome for n in range(3, 6)]
    assert outcomes == [Outcome.SENT, Outcome.UNKNOWN, Outcome.SENT]
    assert smtp_server.message_id_counts()["<m4@test>"] == 1


@pytest.mark.django_db
def test_refused_copy_does_not_stop_the_notice(smtp_server):
    template = email_template(cc="office@utility.example, gone@utility.example")
    batch = email_batch(2, template=template)
    smtp_server.configure(refuse={"gone@utility.example": (550, "5.1.1 Gone")})

    send(batch)

    assert statuses(batch) == {"sent": 2}
    row = emails(batch).first()
    assert "gone@utility.example refused: 550 5.1.1 Gone" in row.error
    assert smtp_server.by_recipient(row.email)[0].rcpt_tos == [
        row.email,
        "office@utility.example",
    ]


# --- copies and attachment ------------------------------------------------------------------


@pytest.mark.django_db
def test_cc_and_bcc_from_the_pinned_revision(smtp_server, settings):
    settings.WAGTAIL_BATCHCOMMS = {
        **settings.WAGTAIL_BATCHCOMMS,
        "REPLY_TO": "questions@utility.example",
    }
    template = email_template(cc="office@utility.example", bcc="archive@utility.example")
    batch = email_batch(2, template=template)
    # A later edit of the template does not change what this batch sends.
    template.cc = "someone-else@utility.example"
    template.save_revision().publish()

    send(batch)

    received = smtp_server.by_recipient("1@customers.example")[0]
    assert received.rcpt_tos == [
        "1@customers.example",
        "office@utility.example",
        "archive@utility.example",
    ]
    assert received.message["Cc"] == "office@utility.example"
    assert received.message["Bcc"] is None
    assert received.message["Reply-To"] == "questions@utility.example"


@pytest.mark.django_db
def test_pdf_attachment_when_the_template_asks(smtp_server):
    pypdf = pytest.importorskip("pypdf")
    import io

    template = email_template(attach_pdf=True, contact_methods="both", first_available_only=True)
    batch = email_batch(2, template=template)

    send(batch)

    assert statuses(batch) == {"sent": 2}
    row = emails(batch).first()
    message = smtp_server.by_recipient(row.email)[0].message
    attachments = list(message.iter_attachments())
    assert [a.get_content_type() for a in attachments] == ["application/pdf"]
    reader = pypdf.PdfReader(io.BytesIO(attachments[0].get_content()))
    text = "".join(page.extract_text() for page in reader.pages)
    assert row.recipient_name in text


# --- rate limit, progress, stale rows ---------------------------------------------------------


@pytest.mark.django_db
def test_rate_limit_spaces_the_messages(smtp_server, app_settings):
    app_settings(EMAIL_RATE_LIMIT=20)
    batch = email_batch(11)

    started = time.monotonic()
    send(batch)
    elapsed = time.monotonic() - started

    # 11 messages at 20/s: 10 intervals of 50 ms. Single arrivals jitter with the machine's
    # load, so check spans of 4 intervals (200 ms) with 40 ms of tolerance.
    assert elapsed >= 0.5
    arrivals = [m.received_at for m in smtp_server.messages]
    spans = [later - earlier for earlier, later in zip(arrivals, arrivals[4:], strict=False)]
    assert min(spans) >= 0.16, spans
    assert arrivals[-1] - arrivals[0] >= 0.46
    assert elapsed < 5


@pytest.mark.django_db
def test_sending_progress_counts_every_status(smtp_server):
    batch = email_batch(4)
    smtp_server.configure(refuse={"2@customers.example": (550, "no")})
    assert sending_progress(batch) == {
        "pending": 4,
        "sending": 0,
        "sent": 0,
        "failed": 0,
        "unknown": 0,
        "total": 4,
    }
    send(batch)
    progress = sending_progress(batch)
    assert (progress["sent"], progress["failed"], progress["total"]) == (3, 1, 4)


@pytest.mark.django_db
def test_rows_left_sending_by_a_dead_worker_become_unknown(smtp_server, app_settings):
    app_settings(SENDING_STALE_AFTER=60)
    batch = email_batch(6)
    dead = claim_emails(batch.pk, "dead-worker", 2)
    live = claim_emails(batch.pk, "live-worker", 2)
    emails(batch).filter(pk__in=[r.pk for r in dead]).update(
        claimed_at=timezone.now() - timedelta(seconds=61)
    )

    assert reap_stale_sending() == 2

    assert set(emails(batch).filter(status=CommunicationStatus.UNKNOWN)) == set(dead)
    assert set(emails(batch).filter(status=CommunicationStatus.SENDING)) == set(live)
    assert (
        ModelLogEntry.objects.for_instance(batch)
        .filter(action="wagtail_batchcomms.delivery_unknown")
        .exists()
    )
    # A send run sends the pending ones only: never the unknown, nor the live worker's rows.
    send(batch)
    assert statuses(batch) == {"unknown": 2, "sending": 2, "sent": 2}
    assert {m.rcpt_tos[0] for m in smtp_server.messages} == {
        "5@customers.example",
        "6@customers.example",
    }


# --- starting, permissions, retry --------------------------------------------------------------


@pytest.mark.django_db
def test_start_sending_checks_state_and_permission(django_capture_on_commit_callbacks):
    batch = email_batch(3)
    nobody = factories.user("nobody", perms=[factories.ADMIN_ACCESS])
    sender = factories.user("sender", perms=[factories.ADMIN_ACCESS, SEND_PERM])

    with pytest.raises(SendingError, match="permission"):
        start_sending(batch.pk, user=nobody)
    with django_capture_on_commit_callbacks(execute=True):
        assert start_sending(batch.pk, user=sender) == 3
    assert OrmQ.objects.count() == 1
    assert (
        ModelLogEntry.objects.for_instance(batch)
        .filter(action="wagtail_batchcomms.send", data__queued=3)
        .exists()
    )

    open_batch = email_batch(1, status=BatchStatus.OPEN)
    with pytest.raises(SendingError, match="Generated or Partially sent"):
        start_sending(open_batch.pk, user=sender)


@pytest.mark.django_db
def test_partially_sent_batch_needs_the_model_permission():
    batch = email_batch(2, status=BatchStatus.PARTIALLY_SENT)
    nobody = factories.user("nobody", perms=[factories.ADMIN_ACCESS])
    sender = factories.user("sender", perms=[factories.ADMIN_ACCESS, SEND_PERM])
    with pytest.raises(SendingError):
        start_sending(batch.pk, user=nobody)
    assert start_sending(batch.pk, user=sender) == 2


@pytest.mark.django_db
def test_retry_failed_keeps_the_message_id_and_unknown_needs_asking(smtp_server, superuser):
    batch = email_batch(6)
    smtp_server.configure(
        refuse={"2@customers.example": (450, "4.2.1 Mailbox busy, try later")},
        drop_after=4,
        drop_phase="data",
    )
    send(batch)
    failed = emails(batch).get(status=CommunicationStatus.FAILED)
    unknown = emails(batch).get(status=CommunicationStatus.UNKNOWN)
    first_failed_id, first_unknown_id = failed.message_id, unknown.message_id
    smtp_server.configure(refuse={}, drop_after=None)

    # Retrying the failed ones leaves the unknown one alone.
    assert start_sending(batch.pk, user=superuser, retry_failed=True) == 1
    send(batch)
    failed.refresh_from_db()
    assert (failed.status, failed.attempts, failed.error_code) == (CommunicationStatus.SENT, 2, "")
    assert failed.message_id == first_failed_id
    assert smtp_server.message_id_counts()[first_failed_id] == 1
    assert emails(batch).get(pk=unknown.pk).status == CommunicationStatus.UNKNOWN

    # Unknown only on explicit request; it keeps its Message-ID too (the second copy can be
    # matched to the first by the recipient's mail system).
    assert start_sending(batch.pk, user=superuser, communication_ids=[unknown.pk]) == 1
    send(batch)
    unknown.refresh_from_db()
    assert unknown.status == CommunicationStatus.SENT and unknown.message_id == first_unknown_id
    assert smtp_server.message_id_counts()[first_unknown_id] == 2
    retries = ModelLogEntry.objects.for_instance(batch).filter(
        action="wagtail_batchcomms.send_retry"
    )
    assert [(e.data["failed"], e.data["unknown"]) for e in retries.order_by("pk")] == [
        (1, 0),
        (0, 1),
    ]


@pytest.mark.django_db
def test_retry_unknown_flag(smtp_server, superuser):
    batch = email_batch(3)
    claim_emails(batch.pk, "dead", 3)
    emails(batch).update(status=CommunicationStatus.UNKNOWN)
    # Nothing pending and nothing failed: refused with the real reason, and nothing logged.
    with pytest.raises(SendingError, match=r"^No emails are waiting to be sent\.$"):
        start_sending(batch.pk, user=superuser)
    with pytest.raises(SendingError, match=r"^No emails failed, so there is nothing to retry\.$"):
        start_sending(batch.pk, user=superuser, retry_failed=True)
    assert not ModelLogEntry.objects.for_instance(batch).filter(action__startswith=history_ids.SEND)
    assert start_sending(batch.pk, user=superuser, retry_unknown=True) == 3
    logged = ModelLogEntry.objects.for_instance(batch).values_list("action", flat=True)
    assert sorted(logged) == [history_ids.SEND, history_ids.SEND_RETRY]


# --- concurrency -------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_claims_never_overlap(app_settings):
    batch = email_batch(300)
    claimed = run_at_once(
        6, lambda: [r.pk for _ in range(10) for r in claim_emails(batch.pk, worker_id(), 5)]
    )
    flat = [pk for worker in claimed for pk in worker]
    assert len(flat) == len(set(flat)) == 300
    assert statuses(batch) == {"sending": 300}


@pytest.mark.django_db(transaction=True)
def test_two_send_tasks_racing_send_each_email_once(smtp_server, app_settings):
    app_settings(SEND_CLAIM_SIZE=10)
    smtp_server.configure(delay=0.002)
    batch = email_batch(200)

    results = run_at_once(2, lambda: send(batch))

    assert statuses(batch) == {"sent": 200}
    assert sum(r.sent for r in results) == 200
    assert all(r.sent > 0 for r in results), [r.sent for r in results]
    assert len(smtp_server.messages) == 200
    assert_each_once(smtp_server, batch)
    batch.refresh_from_db()
    assert batch.status == BatchStatus.PARTIALLY_SENT


@pytest.mark.django_db(transaction=True)
def test_double_click_queues_two_harmless_tasks(smtp_server, superuser, app_settings):
    app_settings(SEND_CLAIM_SIZE=5)
    batch = email_batch(40)
    start_sending(batch.pk, user=superuser)
    start_sending(batch.pk, user=superuser)
    tasks = list(OrmQ.objects.all())
    assert len(tasks) == 2

    from wagtail_batchcomms import tasks as task_module

    results = run_at_once(2, lambda: task_module.send_batch_emails(batch.pk))

    assert sum(r["sent"] for r in results) == 40
    assert len(smtp_server.messages) == 40
    assert_each_once(smtp_server, batch)


@pytest.mark.django_db
def test_the_reaper_is_scheduled_by_migrate():
    from django_q.models import Schedule

    from wagtail_batchcomms import tasks

    schedule = Schedule.objects.get(func="wagtail_batchcomms.tasks.reap_stale_sending")
    assert (schedule.schedule_type, schedule.repeats) == (Schedule.MINUTES, -1)
    assert schedule.minutes <= 15
    assert tasks.reap_stale_sending() == 0


@pytest.mark.parametrize(
    ("subject", "name"),
    [
        ("Backflow test due for S1-000001", "Customer 1"),
        ("Prüfung fällig: Rückflussverhinderer", "Zoë Ünal"),
        ("A very long subject line " * 8, "Smith, John (Facilities)"),
        ("", '"Quoted" Name'),
    ],
)
def test_message_bytes_are_what_djangos_smtp_backend_sends(subject, name):
    from email.utils import formataddr

    from wagtail_batchcomms.emails.transports import message_bytes

    message = EmailMultiAlternatives(
        subject,
        "Dear customer,\n\n" + "A line of text. " * 30,
        "Test Utility <backflow@utility.example>",
        [formataddr((name, "someone@customers.example"))],
        cc=["office@utility.example"],
        reply_to=["questions@utility.example"],
        headers={"Message-ID": "<batchcomms.1.2.abc@utility.example>"},
    )
    message.attach_alternative("<p>Dear customer, é</p>" * 40, "text/html")
    message.attach("notice.pdf", b"%PDF-1.7 fake", "application/pdf")
    mime = message.message()
    fast = message_bytes(mime)  # sets the multipart boundaries, which as_bytes then reuses
    assert fast == mime.as_bytes(linesep="\r\n")


@pytest.mark.django_db
def test_outcomes_are_written_only_to_rows_the_worker_still_holds():
    from wagtail_batchcomms.emails.claims import write_outcomes

    batch = email_batch(3)
    rows = claim_emails(batch.pk, "me", 3)
    # The second was reaped and retried by an admin meanwhile: not ours any more.
    emails(batch).filter(pk=rows[1].pk).update(status=CommunicationStatus.PENDING, claimed_by="")
    now = timezone.now()
    written = write_outcomes(
        "me",
        [
            (
                rows[0].pk,
                {"status": CommunicationStatus.SENT, "sent_at": now, "subject": "S", "error": ""},
            ),
            (
                rows[1].pk,
                {"status": CommunicationStatus.SENT, "sent_at": now, "subject": "S", "error": ""},
            ),
            (
                rows[2].pk,
                {
                    "status": CommunicationStatus.FAILED,
                    "error_code": "550",
                    "error": "No such user",
                },
            ),
        ],
    )
    assert written == 2
    assert [(r.status, r.subject, r.error_code) for r in emails(batch)] == [
        (CommunicationStatus.SENT, "S", ""),
        (CommunicationStatus.PENDING, "", ""),
        (CommunicationStatus.FAILED, "", "550"),
    ]
    assert emails(batch).first().sent_at == now


@pytest.mark.django_db
def test_a_notice_that_cannot_render_fails_with_the_reason(smtp_server):
    batch = email_batch(3)
    Batch.objects.filter(pk=batch.pk).update(template_revision=None)

    result = send(batch)

    assert (result.failed, result.sent) == (3, 0)
    assert smtp_server.messages == []
    row = emails(batch).first()
    assert row.status == CommunicationStatus.FAILED and "no pinned template revision" in row.error


@pytest.mark.django_db
def test_an_expression_failing_on_a_recipients_data_fails_that_email_not_the_task(smtp_server):
    """Valid, and fine over the sample's two assemblies, but a division by zero for these
    recipients (no assemblies in the batch): each such notice fails with the reason; the
    task goes on (it used to crash on the ZeroDivisionError)."""
    template = email_template(
        body=[("paragraph", "<p>{{ 10 // assemblies|length }} per assembly</p>")]
    )
    batch = email_batch(3, template=template)

    result = send(batch)

    assert (result.failed, result.sent) == (3, 0)
    assert smtp_server.messages == []
    assert {row.error for row in emails(batch)} == {
        "The notice could not be rendered: ZeroDivisionError: integer division or modulo by zero"
    }


@pytest.mark.django_db
def test_complete_keeps_emails_being_sent_and_their_outcome_is_still_recorded(
    smtp_server, superuser
):
    from wagtail_batchcomms.batches.lifecycle import complete_batch
    from wagtail_batchcomms.emails.claims import write_outcomes

    batch = email_batch(6, status=BatchStatus.PARTIALLY_SENT)
    in_flight = claim_emails(batch.pk, "worker", 2)
    rows = list(emails(batch).filter(status=CommunicationStatus.PENDING))
    emails(batch).filter(pk=rows[0].pk).update(status=CommunicationStatus.SENT)
    emails(batch).filter(pk=rows[1].pk).update(status=CommunicationStatus.UNKNOWN)
    emails(batch).filter(pk=rows[2].pk).update(status=CommunicationStatus.FAILED)

    complete_batch(batch.pk, user=superuser)

    # Only the never-attempted pending ones went; sent, unknown, failed (with the server's
    # answer) and the two being sent stay as the record.
    assert statuses(batch) == {"sending": 2, "sent": 1, "unknown": 1, "failed": 1}
    now = timezone.now()
    outcomes = [(row.pk, {"status": CommunicationStatus.SENT, "sent_at": now}) for row in in_flight]
    assert write_outcomes("worker", outcomes) == 2
    assert statuses(batch) == {"sent": 3, "unknown": 1, "failed": 1}
    # Nothing more goes out from a completed batch.
    assert send(batch).stopped == "batch_closed"
    assert smtp_server.messages == []


@pytest.mark.django_db
def test_a_message_that_always_breaks_the_connection_fails_after_three_tries(
    smtp_server, app_settings
):
    app_settings(SEND_CLAIM_SIZE=5)
    batch = email_batch(5)
    smtp_server.configure(drop_for={"3@customers.example"})

    result = send(batch)

    assert result.stopped == "done"
    assert statuses(batch) == {"sent": 4, "failed": 1}
    failed = emails(batch).get(status=CommunicationStatus.FAILED)
    assert failed.email == "3@customers.example"
    assert failed.error.startswith("Gave up after 3 lost connections")
    assert failed.attempts == 3
    assert smtp_server.by_recipient("3@customers.example") == []
    assert_each_once(smtp_server, batch)
