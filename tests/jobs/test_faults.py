"""Faults on real worker processes: what breaks, what the admin sees, and how the batch recovers.

Each test runs a batch in real ``qcluster`` processes (tests/support/workers.py, django-q2's ORM
broker) against a real SMTP server on loopback, breaks something half way, then recovers the
way an operator and an admin would: a new worker is started, django-q2 hands the dead
worker's task out again after its ``retry`` period, and the admin uses the batch page's
actions through the admin client. Every test ends with the batch Complete and checks that
nothing was lost and nothing doubled (Message-IDs counted at the server, letters read back
from the merged PDF), and that the batch page or its history says what happened. The one
exception is stated where it happens: emails of "delivery unknown" that had in fact arrived
and that the admin chose to retry arrive twice (the retry form warns of exactly that).

Faults: ``kill -9`` of a worker (its whole process group, like a machine losing power) during
generation, sending and letter rendering; the SMTP server stopped mid-batch; the database
connections of the workers terminated mid-task (PostgreSQL's ``pg_terminate_backend``).

Periods are shortened for the test: django-q2's ``retry`` (12 s) and the stale periods of
sending and letters (5 s). Each test's docstring says what the system did; ``pytest -s``
prints the figures (rows at the kill, emails left unknown, ...).
"""

from __future__ import annotations

import html as html_module
import re
import time
from collections import Counter

import factories
import ops_data
import pytest
from batch_admin_data import messages_of
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from smtp import SMTPTestServer
from wagtail.models import ModelLogEntry
from workers import wait_until

from wagtail_batchcomms.batches import generation, lifecycle
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

pytestmark = pytest.mark.slow


#: django-q2 hands a task out again ``retry`` seconds after a worker took it (ORM broker):
#: shortened from production's 1800 s so that a dead worker's task comes back in the test.
WORKER_ENV = {"BATCHCOMMS_Q_TIMEOUT": "10", "BATCHCOMMS_Q_RETRY": "12"}
#: The same for our own stale periods (production: 900 s).
SEND_STOPPED = "wagtail_batchcomms.send_stopped"
APP_SETTINGS = {"SENDING_STALE_AFTER": 5, "LETTER_CLAIM_STALE_AFTER": 5}


@pytest.fixture
def app(settings):
    """The same WAGTAIL_BATCHCOMMS values in this process and in the workers it starts."""
    values = dict(APP_SETTINGS)

    def apply(**more) -> dict:
        values.update(more)
        settings.WAGTAIL_BATCHCOMMS = {**settings.WAGTAIL_BATCHCOMMS, **values}
        return dict(values)

    apply()
    return apply


@pytest.fixture
def mail_server():
    """A loopback SMTP server on a fixed port, so that it can be stopped and started again
    where the workers send."""
    with SMTPTestServer() as server:
        yield server


def start_workers(qcluster, app, mail_server, **settings):
    return qcluster(settings=app(**settings), smtp_port=mail_server.port, env=WORKER_ENV)


def make_batch(admin, register: ops_data.Register) -> Batch:
    return lifecycle.create_batch(
        user=admin,
        name=f"Fault batch {register.prefix}",
        template=ops_data.notice_template(name=f"Reminder {register.prefix}"),
        due_date=timezone.localdate() + timezone.timedelta(days=30),
        assemblies=Assembly.objects.filter(location__account_number__startswith=register.prefix),
    )


def action(batch, name: str) -> str:
    return reverse(f"wagtail_batchcomms_batch:{name}", args=[batch.pk])


def post_action(web, batch, name: str, data=None) -> list[str]:
    """POST a batch action as the admin's browser does; return the messages it showed."""
    response = web.post(action(batch, name), data or {})
    assert response.status_code == 302, (name, response.status_code)
    return messages_of(response)


def status_of(batch) -> str:
    return Batch.objects.values_list("status", flat=True).get(pk=batch.pk)


def emails(batch):
    return Communication.objects.filter(batch=batch, channel=Channel.EMAIL)


def settled(batch) -> bool:
    """No email pending or being sent."""
    return (
        not emails(batch)
        .filter(status__in=[CommunicationStatus.PENDING, CommunicationStatus.SENDING])
        .exists()
    )


def generate(web, batch, workers, timeout=120) -> None:
    post_action(web, batch, "generate")
    wait_until(
        lambda: status_of(batch) == BatchStatus.GENERATED,
        timeout=timeout,
        clusters=workers,
        message="the batch did not reach Generated",
    )


def send_all(web, batch, workers, timeout=180) -> None:
    post_action(web, batch, "send")
    wait_until(
        lambda: settled(batch),
        timeout=timeout,
        interval=0.25,
        clusters=workers,
        message="the emails were not all sent",
    )


def page_text(web, url: str) -> str:
    response = web.get(url)
    assert response.status_code == 200, (url, response.status_code)
    text = re.sub(r"<[^>]+>", " ", response.content.decode())
    return re.sub(r"\s+", " ", html_module.unescape(text))


def page_counts(web, batch) -> dict[str, dict[str, int]]:
    """The batch page's counts table: {channel label: {status label: n}}."""
    html = web.get(action(batch, "detail")).content.decode()
    table = re.search(r"<table[^>]*data-batch-counts[^>]*>(.*?)</table>", html, re.S)
    assert table, "the batch page shows no counts"

    def cells(row: str) -> list[str]:
        found = re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)
        return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", c)).strip() for c in found]

    rows = [cells(row) for row in re.findall(r"<tr>(.*?)</tr>", table[1], re.S)]
    header = rows[0][1:-1]
    return {
        row[0]: {
            label: int(value.replace(",", ""))
            for label, value in zip(header, row[1:-1], strict=True)
        }
        for row in rows[1:]
    }


def arrival_order(server: SMTPTestServer, quiet: float = 1.0) -> list[str]:
    """Message-IDs in the order the server took them, once nothing arrived for ``quiet`` s
    (a worker whose database went away keeps sending until its next write fails)."""
    count = -1
    while count != len(server.messages):
        count = len(server.messages)
        time.sleep(quiet)
    return [message.message_id for message in server.messages]


def assert_one_notice_per_location(batch, register: ops_data.Register) -> Counter:
    """Generation made exactly one notice per location of the register, by the owner's
    email or on paper; returns the notices per channel."""
    notices = Communication.objects.filter(batch=batch)
    channels = Counter(notices.values_list("channel", flat=True))
    assert channels == {Channel.EMAIL: register.emails, Channel.LETTER: register.letters}
    per_location = Counter(notices.values_list("location_id", flat=True))
    assert set(per_location.values()) == {1} and len(per_location) == register.locations
    return channels


def hold_mid_chunk(mail_server: SMTPTestServer, batch, clusters, hold: float) -> None:
    """Make the server hold every reply to DATA for ``hold`` s, and wait until the send task
    waits on one: it is then inside a claimed chunk, whose rows are "sending"."""
    mail_server.configure(delay=hold)
    wait_until(
        lambda: mail_server.holding,
        timeout=30,
        interval=0.01,
        clusters=clusters,
        message="no message waiting for the server's reply",
    )
    assert emails(batch).filter(status=CommunicationStatus.SENDING).exists()


CONNECTION_CUT = (
    "terminating connection due to administrator command",
    "server closed the connection unexpectedly",
)


def is_tail(order: list[str], ids: set[str]) -> bool:
    """Whether ``ids`` are the last ``len(ids)`` entries of ``order``."""
    return set(order[len(order) - len(ids) :]) == ids if ids else True


def note(fault: str, **facts) -> None:
    """What happened, for the record (``pytest -s`` shows it)."""
    print(f"\nFAULT {fault}: " + ", ".join(f"{key}={value}" for key, value in facts.items()))


def finish(web, batch, server: SMTPTestServer, *, doubled_allowed: set[str] = frozenset()):
    """Letters marked mailed, batch completed; then nothing lost, nothing doubled."""
    letters = Communication.objects.filter(batch=batch, channel=Channel.LETTER)
    if letters.filter(status=CommunicationStatus.PENDING).exists():
        assert post_action(web, batch, "mark_mailed")
    assert any("is complete" in m for m in post_action(web, batch, "complete"))
    assert status_of(batch) == BatchStatus.COMPLETE
    statuses = Counter(Communication.objects.filter(batch=batch).values_list("status", flat=True))
    assert statuses == {
        CommunicationStatus.SENT: Communication.objects.filter(batch=batch).count()
    }, statuses
    rows = ops_data.email_rows(batch)
    received = server.message_id_counts()
    assert set(received) >= set(rows)  # nothing lost
    extra = {mid: n for mid, n in received.items() if mid in rows and n != 1}
    assert set(extra) <= set(doubled_allowed), extra  # nothing doubled (but what was unknown)
    assert all(n == 2 for n in extra.values()), extra
    return received


# --- kill -9 during generation ----------------------------------------------------------------


def test_worker_killed_during_generation(qcluster, app, mail_server, admin, web):
    """What the system does: the dead worker's chunks up to its last commit stay; the batch
    stays Generating with its progress frozen (the page shows the bar; until
    ``GENERATION_STALE_AFTER`` has passed nothing says the worker died and Restart generation
    is not offered: see the next test); django-q2's ORM broker hands the same task (same
    token) to the new worker after ``retry``, which completes the rows with no duplicates
    (ON CONFLICT DO NOTHING against the unique constraints)."""
    register = ops_data.bulk_register("FGEN", 3_000, has_email=lambda i: i % 20 == 0)
    batch = make_batch(admin, register)
    first = start_workers(qcluster, app, mail_server, GENERATION_CHUNK_SIZE=10)

    post_action(web, batch, "generate")

    ops_data.wait_part_way(batch, [first])
    first.kill()
    batch.refresh_from_db()
    partial = Communication.objects.filter(batch=batch).count()
    assert batch.status == BatchStatus.GENERATING
    assert 0 < partial < register.locations
    page = page_text(web, action(batch, "detail"))
    assert "Generating the notices" in page
    assert f"{batch.progress_done:,} / {batch.progress_total:,}" in page
    # Not stalled yet (GENERATION_STALE_AFTER, 300 s here): nothing restarts it.
    assert "No progress since" not in page
    refused = post_action(web, batch, "generate")
    assert any("already being generated" in m for m in refused), refused
    refused = post_action(web, batch, "resume_generation")
    assert any("still making progress" in m for m in refused), refused

    # Restart: a new worker (default chunk size); django-q2 hands out the task again.
    second = start_workers(qcluster, app, mail_server)
    wait_until(
        lambda: status_of(batch) == BatchStatus.GENERATED,
        timeout=60,
        clusters=[second],
        message="the task was not handed out again",
    )
    channels = assert_one_notice_per_location(batch, register)
    assert "Generation finished" in page_text(web, action(batch, "history"))

    send_all(web, batch, [second])
    finish(web, batch, mail_server)
    note(
        "kill -9 during generation",
        locations=register.locations,
        rows_at_kill=partial,
        progress_at_kill=f"{batch.progress_done}/{batch.progress_total}",
        rows_after_redelivery=sum(channels.values()),
    )


def test_stalled_generation_restarted_from_the_batch_page(qcluster, app, mail_server, admin, web):
    """What the system does: after a kill -9 the batch stays Generating. With django-q2's
    ``retry`` long (600 s: the dead worker's task is not handed out again within the test),
    a new worker alone does not finish it. Once the batch has made no progress for
    ``GENERATION_STALE_AFTER`` (6 s here), the page says "No progress since HH:MM" and offers
    Restart generation, which queues the task again with the same token; the new worker
    completes the rows with no duplicates and the history says who restarted it."""
    register = ops_data.bulk_register("FRES", 2_000, has_email=lambda i: i % 20 == 0)
    batch = make_batch(admin, register)
    long_retry = {"BATCHCOMMS_Q_TIMEOUT": "300", "BATCHCOMMS_Q_RETRY": "600"}
    values = app(GENERATION_STALE_AFTER=6)

    def worker(**more):
        return qcluster(settings={**values, **more}, smtp_port=mail_server.port, env=long_retry)

    first = worker(GENERATION_CHUNK_SIZE=10)
    post_action(web, batch, "generate")

    ops_data.wait_part_way(batch, [first])
    first.kill()
    second = worker()  # the dead worker's task stays with the broker until ``retry``
    batch.refresh_from_db()
    frozen = (batch.progress_done, batch.progress_total)
    partial = Communication.objects.filter(batch=batch).count()
    assert batch.status == BatchStatus.GENERATING and 0 < partial < register.locations

    def stalled() -> bool:
        batch.refresh_from_db()
        return generation.generation_stalled_since(batch) is not None

    wait_until(stalled, timeout=30, interval=0.2, clusters=[second], message="not stalled")
    # The new worker has not finished it on its own: the task is lost for it.
    batch.refresh_from_db()
    assert batch.status == BatchStatus.GENERATING
    assert (batch.progress_done, batch.progress_total) == frozen
    assert Communication.objects.filter(batch=batch).count() == partial
    since = factories.wall_clock(batch.updated_at)
    html = web.get(action(batch, "detail")).content.decode()
    assert f"No progress since {since}." in html
    assert 'data-batch-action="resume_generation"' in html

    shown = post_action(web, batch, "resume_generation")
    assert any("restarted" in m for m in shown), shown
    wait_until(
        lambda: status_of(batch) == BatchStatus.GENERATED,
        timeout=60,
        clusters=[second],
        message="the restarted generation did not finish",
    )
    channels = assert_one_notice_per_location(batch, register)
    entries = ModelLogEntry.objects.for_instance(batch)
    restarted = entries.get(action="wagtail_batchcomms.resume_generation")
    assert restarted.user_id == admin.pk
    assert entries.filter(action="wagtail_batchcomms.generated").count() == 1
    history = page_text(web, action(batch, "history"))
    assert "Restarted generation, which had stopped making progress" in history

    send_all(web, batch, [second])
    finish(web, batch, mail_server)
    note(
        "generation stalled by kill -9, restarted by the admin",
        locations=register.locations,
        rows_at_kill=partial,
        progress_at_kill=f"{frozen[0]}/{frozen[1]}",
        rows_after_restart=sum(channels.values()),
    )


# --- kill -9 during sending -------------------------------------------------------------------


def test_worker_killed_during_sending(qcluster, app, mail_server, admin, web):
    """What the system does: the emails the dead worker had claimed stay "sending" (it could
    not put them back); the new worker's send task (django-q2 hands the dead one's task out
    again, and the admin clicks Send emails again) first turns them into "delivery unknown"
    once ``SENDING_STALE_AFTER`` passed, logs it, and sends the rest. Unknown emails are
    not re-sent until the admin retries them explicitly; the retry keeps their Message-ID."""
    register = ops_data.bulk_register("FSEND", 700, has_email=lambda i: i % 10 != 0)
    batch = make_batch(admin, register)
    first = start_workers(qcluster, app, mail_server, SEND_CLAIM_SIZE=20)
    generate(web, batch, [first])
    mail_server.configure(delay=0.01)  # about 100 emails a second at most

    post_action(web, batch, "send")
    wait_until(
        lambda: len(mail_server.messages) >= 100,
        timeout=120,
        clusters=[first],
        message="sending did not start",
    )
    # Killed while the server holds a message's reply: inside a chunk, never between two.
    hold_mid_chunk(mail_server, batch, [first], hold=5)
    first.kill()
    mail_server.configure(delay=0.01)
    order_at_kill = arrival_order(mail_server)
    left_sending = set(
        emails(batch).filter(status=CommunicationStatus.SENDING).values_list("pk", flat=True)
    )
    sent_before = emails(batch).filter(status=CommunicationStatus.SENT).count()
    assert left_sending
    assert 0 < sent_before < register.emails
    assert len(set(order_at_kill)) == len(order_at_kill)
    # Once the dead worker's rows have gone unrefreshed for half of SENDING_STALE_AFTER (a
    # live task refreshes them every quarter), the page says sending stopped, and offers
    # Send emails for the rest.
    time.sleep(APP_SETTINGS["SENDING_STALE_AFTER"] / 2 + 0.5)
    page = page_text(web, action(batch, "detail"))
    assert "Sending the emails" not in page
    assert "Sending appears to have stopped at" in page
    assert "still marked sending will become Delivery unknown" in page
    assert 'data-batch-action="send"' in web.get(action(batch, "detail")).content.decode()

    second = start_workers(qcluster, app, mail_server, SEND_CLAIM_SIZE=20)
    time.sleep(APP_SETTINGS["SENDING_STALE_AFTER"] / 2)
    post_action(web, batch, "send")
    wait_until(
        lambda: settled(batch),
        timeout=180,
        interval=0.25,
        clusters=[second],
        message="the rest was not sent",
    )
    unknown = set(
        emails(batch).filter(status=CommunicationStatus.UNKNOWN).values_list("pk", flat=True)
    )
    assert unknown == left_sending  # exactly the dead worker's claims, never re-sent silently
    assert emails(batch).filter(status=CommunicationStatus.SENT).count() == register.emails - len(
        unknown
    )
    rows = ops_data.email_rows(batch)
    received = mail_server.message_id_counts()
    assert all(n == 1 for n in received.values()), "an email arrived twice before any retry"
    unknown_ids = {mid for mid, pk in rows.items() if pk in unknown}
    delivered_unknown = unknown_ids & set(received)
    # The outcomes the dead worker had not written yet: the last messages it handed over
    # (outcomes are written in one transaction every OUTCOME_FLUSH_SECONDS), never older ones.
    assert is_tail(order_at_kill, delivered_unknown)

    counts = page_counts(web, batch)
    assert counts["Email"]["Delivery unknown"] == len(unknown)
    history = page_text(web, action(batch, "history"))
    assert "marked delivery unknown: the worker sending them stopped" in history
    assert "Retry failed emails" in web.get(action(batch, "detail")).content.decode()
    response = web.get(action(batch, "retry"))
    assert "They may have been delivered" in response.content.decode()
    shown = post_action(web, batch, "retry", {"retry_unknown": "on"})
    assert any("queued for sending" in m for m in shown), shown
    wait_until(lambda: settled(batch), timeout=120, clusters=[second], message="retry")
    assert "delivery unknown)" in page_text(web, action(batch, "history"))
    finish(web, batch, mail_server, doubled_allowed=delivered_unknown)
    note(
        "kill -9 during sending",
        emails=register.emails,
        received_at_kill=len(order_at_kill),
        sent_recorded_at_kill=sent_before,
        left_sending_then_unknown=len(unknown),
        of_which_had_arrived=len(delivered_unknown),
        arrived_twice_after_admin_retry=len(delivered_unknown),
    )


# --- the SMTP server stops mid-batch ----------------------------------------------------------


def test_smtp_server_stopped_mid_batch(qcluster, app, mail_server, admin, web):
    """What the system does: the message in flight fails as "retry" (not accepted) or
    "delivery unknown" (the body was handed over, no reply); the next ones cannot connect;
    after three connection failures in a row the send task stops, puts its unsent claims
    back to pending and logs "Sending stopped, the rest stays queued: <error>". Once the
    server is back, the admin's Send emails (or Retry) sends the rest, once each."""
    register = ops_data.bulk_register("FSMTP", 400, has_email=lambda i: i % 10 != 0)
    batch = make_batch(admin, register)
    workers = start_workers(qcluster, app, mail_server, SEND_CLAIM_SIZE=20)
    generate(web, batch, [workers])
    mail_server.configure(delay=0.01)

    post_action(web, batch, "send")
    wait_until(
        lambda: len(mail_server.messages) >= 80,
        timeout=120,
        clusters=[workers],
        message="sending did not start",
    )
    mail_server.stop()
    stopped_at = len(mail_server.messages)

    def gave_up() -> bool:
        # Not just "nothing sending": that is also true between a task and its continuation.
        logged = ModelLogEntry.objects.for_instance(batch).filter(action=SEND_STOPPED).exists()
        return logged and not emails(batch).filter(status=CommunicationStatus.SENDING).exists()

    wait_until(gave_up, timeout=120, clusters=[workers], message="the send task did not give up")
    assert workers.alive
    history = page_text(web, action(batch, "history"))
    assert "Sending stopped, the rest stays queued:" in history
    assert re.search(r"Sending stopped, the rest stays queued: .*(refused|connect|lost)", history)
    statuses = Counter(emails(batch).values_list("status", flat=True))
    # Every message the server recorded is sent, except one whose reply was lost (unknown).
    assert statuses[CommunicationStatus.PENDING] > 0
    assert (
        stopped_at - statuses[CommunicationStatus.UNKNOWN]
        <= statuses[CommunicationStatus.SENT]
        <= stopped_at
    )
    assert statuses[CommunicationStatus.UNKNOWN] <= 1 and not statuses[CommunicationStatus.FAILED]
    counts = page_counts(web, batch)
    assert counts["Email"]["Pending"] == statuses[CommunicationStatus.PENDING]
    # The page no longer says "sending": it shows what waits and the Send emails button.
    page = page_text(web, action(batch, "detail"))
    assert "Sending the emails" not in page
    assert f"{statuses[CommunicationStatus.PENDING]:,} emails are waiting to be sent." in page

    mail_server.start()  # back on the same port
    delivered_unknown: set[str] = set()
    if statuses[CommunicationStatus.UNKNOWN]:
        rows = ops_data.email_rows(batch)
        delivered_unknown = {
            mid
            for mid, pk in rows.items()
            if pk
            in set(
                emails(batch)
                .filter(status=CommunicationStatus.UNKNOWN)
                .values_list("pk", flat=True)
            )
        } & set(mail_server.message_id_counts())
        post_action(web, batch, "retry", {"retry_unknown": "on"})
    send_all(web, batch, [workers])
    finish(web, batch, mail_server, doubled_allowed=delivered_unknown)
    note(
        "SMTP server stopped",
        emails=register.emails,
        received_before_stop=stopped_at,
        statuses_after_give_up=dict(statuses),
        connections=mail_server.connections,
    )


# --- kill -9 during rendering -----------------------------------------------------------------


def test_worker_killed_during_letter_rendering(qcluster, app, mail_server, admin, web):
    """What the system does: the chunks the dead worker had claimed stay "rendering"; the
    download stays Rendering with its progress frozen. The admin's Download letters (a
    second click returns the active download) re-queues every chunk whose claim is older
    than ``LETTER_CLAIM_STALE_AFTER`` (so does the scheduled housekeeping, every 10 minutes);
    django-q2 also hands the dead worker's tasks out again. The chunks are re-rendered by the
    new worker, a late run that lost its claim throws its file away, and the merged PDF holds
    every letter once."""
    register = ops_data.bulk_register("FPDF", 150, has_email=lambda i: i % 10 == 0)
    batch = make_batch(admin, register)
    first = start_workers(qcluster, app, mail_server, LETTER_CHUNK_SIZE=10)
    generate(web, batch, [first])

    shown = post_action(web, batch, "download_letters")
    assert any("being prepared" in m for m in shown), shown
    download = LetterDownload.objects.get(batch=batch)
    chunks = LetterChunk.objects.filter(download=download)
    wait_until(
        lambda: (
            chunks.filter(status=DownloadStatus.READY).count() >= 2
            and chunks.filter(status=DownloadStatus.RENDERING).exists()
        ),
        timeout=120,
        interval=0.02,
        clusters=[first],
        message="rendering did not get going",
    )
    first.kill()
    # Usually a chunk or two mid-render (their claims now dead); the tasks the worker had
    # taken but not started are lost with it too.
    dead_claims = dict(
        chunks.filter(status=DownloadStatus.RENDERING).values_list("pk", "claimed_by")
    )
    assert chunks.exclude(status=DownloadStatus.READY).exists()
    page = page_text(web, action(batch, "detail"))
    assert "Rendering the letters PDF" in page

    second = start_workers(qcluster, app, mail_server, LETTER_CHUNK_SIZE=10)
    time.sleep(APP_SETTINGS["LETTER_CLAIM_STALE_AFTER"])
    shown = post_action(web, batch, "download_letters")  # the admin clicks again
    assert LetterDownload.objects.filter(batch=batch).count() == 1  # the same download
    wait_until(
        lambda: (
            LetterDownload.objects.get(pk=download.pk).status
            in (DownloadStatus.READY, DownloadStatus.FAILED)
        ),
        timeout=180,
        clusters=[second],
        message="the letters were not recovered",
    )
    download.refresh_from_db()
    assert download.status == DownloadStatus.READY, download.error
    for pk, dead in dead_claims.items():
        assert LetterChunk.objects.get(pk=pk).claimed_by != dead
    read = ops_data.read_download(download)
    assert read.markers == ops_data.letter_accounts(batch)  # every letter once
    assert len(read.letters) == register.letters == download.letter_count
    assert sum(read.csv_ids.values()) == register.letters == len(read.csv_ids)
    assert "Letters PDF ready" in page_text(web, action(batch, "history"))

    assert any("recorded as mailed" in m for m in post_action(web, batch, "mark_mailed"))
    send_all(web, batch, [second])
    finish(web, batch, mail_server)
    note(
        "kill -9 during rendering",
        letters=register.letters,
        chunks=chunks.count(),
        chunks_left_claimed=len(dead_claims),
        pages=read.pages,
    )


# --- the database connection restarts (PostgreSQL) ---------------------------------------------


def terminate_other_backends() -> int:
    """pg_terminate_backend every other connection to the test database: the workers'."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0]


@pytest.mark.postgres
def test_database_connections_terminated_mid_task(qcluster, app, mail_server, admin, web):
    """What the system does: generation fails cleanly (the task reconnects to record it):
    partial rows removed, batch back to Open with the database's error on the page and in the
    history; the admin generates again. During sending the send task dies on its next
    query: its claimed emails stay "sending" (the one whose outcome could not be recorded
    may have been delivered) until a later send task turns them into "delivery unknown";
    the admin sends the rest, and retries the unknown ones explicitly."""
    if connection.vendor != "postgresql":
        pytest.skip(
            "terminating the workers' database connections needs PostgreSQL "
            "(pg_terminate_backend); SQLite has no server connections to cut"
        )
    register = ops_data.bulk_register("FDB", 3_000, has_email=lambda i: i % 6 == 0)
    batch = make_batch(admin, register)
    workers = start_workers(qcluster, app, mail_server, GENERATION_CHUNK_SIZE=10)

    # 1. during generation
    post_action(web, batch, "generate")

    ops_data.wait_part_way(batch, [workers])
    assert terminate_other_backends() > 0
    wait_until(
        lambda: status_of(batch) == BatchStatus.OPEN,
        timeout=60,
        clusters=[workers],
        message="the failed generation was not recorded",
    )
    batch.refresh_from_db()
    error = batch.error
    # PostgreSQL's own words reach the page; which ones depends on whether the backend was
    # mid-query (its FATAL notice arrives) or idle (the socket just closes) when it was cut.
    cut = next((words for words in CONNECTION_CUT if words in error), None)
    assert error.startswith("Unexpected error (OperationalError): ") and cut, error
    assert not Communication.objects.filter(batch=batch).exists()
    page = page_text(web, action(batch, "detail"))
    assert "Generation failed; the batch is back to Open." in page
    assert cut in page
    assert "Generation failed, back to Open" in page_text(web, action(batch, "history"))
    generate(web, batch, [workers], timeout=90)  # the pusher restarts after ~10 s
    assert Communication.objects.filter(batch=batch).count() == register.locations
    assert not Batch.objects.get(pk=batch.pk).error

    # 2. during sending
    mail_server.configure(delay=0.01)
    post_action(web, batch, "send")
    wait_until(
        lambda: len(mail_server.messages) >= 100,
        timeout=120,
        clusters=[workers],
        message="sending did not start",
    )
    assert terminate_other_backends() > 0
    order_at_cut = arrival_order(mail_server)
    time.sleep(APP_SETTINGS["SENDING_STALE_AFTER"])
    # The rows the cut task still held: "sending", or already "delivery unknown" when a
    # redelivered task's reaper got there first. None when the task's connection came back
    # in time to record its outcomes and release the rest to pending (both seen here).
    held = emails(batch).filter(
        status__in=[CommunicationStatus.SENDING, CommunicationStatus.UNKNOWN]
    )
    left = set(held.values_list("pk", flat=True))
    assert not emails(batch).filter(status=CommunicationStatus.FAILED).exists()
    shown = post_action(web, batch, "send")  # the admin sends the rest
    assert any("queued for sending" in m for m in shown), shown
    wait_until(lambda: settled(batch), timeout=180, clusters=[workers], message="resend")
    unknown = set(
        emails(batch).filter(status=CommunicationStatus.UNKNOWN).values_list("pk", flat=True)
    )
    assert unknown == left
    assert (
        not emails(batch)
        .exclude(status__in=[CommunicationStatus.SENT, CommunicationStatus.UNKNOWN])
        .exists()
    )
    rows = ops_data.email_rows(batch)
    received = mail_server.message_id_counts()
    assert all(n == 1 for n in received.values())
    delivered_unknown = {mid for mid, pk in rows.items() if pk in unknown} & set(received)
    assert is_tail(order_at_cut, delivered_unknown)
    assert page_counts(web, batch)["Email"].get("Delivery unknown", 0) == len(unknown)
    if unknown:
        post_action(web, batch, "retry", {"retry_unknown": "on"})
        wait_until(lambda: settled(batch), timeout=120, clusters=[workers], message="retry")
    finish(web, batch, mail_server, doubled_allowed=delivered_unknown)
    note(
        "database connections terminated",
        generation_error=error[:80],
        emails=register.emails,
        received_at_cut=len(order_at_cut),
        left_sending_then_unknown=len(unknown),
        of_which_had_arrived=len(delivered_unknown),
    )
