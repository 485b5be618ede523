"""Keeping the record when a batch is closed, as an admin meets it: the complete/archive
confirm page says what goes and what stays, the POST removes only notices never attempted,
the history says the same, letters PDFs holding removed letters stop being downloadable (a
410 page saying why, and the batch page says so), and the failures CSV holds the failed and
delivery-unknown notices with the server's answers.

Real requests through Wagtail's admin with Django's test client; letters PDFs rendered here
and read from private storage."""

from __future__ import annotations

import csv
import io
import itertools
import re

import bulk_data
import factories
import letters_data
import pytest
from django.urls import reverse
from django.utils.html import escape
from wagtail.models import ModelLogEntry

from wagtail_batchcomms.letters import chunks as letter_chunks
from wagtail_batchcomms.letters import downloads
from wagtail_batchcomms.models import (
    Batch,
    BatchAssembly,
    BatchStatus,
    Channel,
    Communication,
    DownloadStatus,
)
from wagtail_batchcomms.storage import letter_storage

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("private_root")]

S = BatchStatus
DS = DownloadStatus
APP = "wagtail_batchcomms"
_seq = itertools.count(1)

#: Every kind of notice a batch can hold when it is closed: (channel, status, attempts,
#: extra fields), and whether closing keeps it.
KINDS = {
    "email never attempted": ("email", "pending", 0, {}, False),
    "email queued again after a failure": ("email", "pending", 1, {"message_id": "<m1@x>"}, True),
    "email being sent": ("email", "sending", 1, {"claimed_by": "worker-1"}, True),
    "email sent": ("email", "sent", 1, {"message_id": "<m2@x>"}, True),
    "email failed": (
        "email",
        "failed",
        2,
        {"error_code": "550", "error": '=HYPERLINK("x") 5.1.1 Recipient address rejected'},
        True,
    ),
    "email delivery unknown": (
        "email",
        "unknown",
        1,
        {"error": "Connection lost after the message was sent; it may have arrived."},
        True,
    ),
    "letter not mailed": ("letter", "pending", 0, {}, False),
    "letter mailed": ("letter", "sent", 0, {}, True),
}
KEPT = {kind for kind, spec in KINDS.items() if spec[-1]}

#: (action, the states it closes from)
CLOSING = [("complete", state) for state in (S.GENERATED, S.PARTIALLY_SENT)] + [
    ("archive", state) for state in (S.OPEN, S.GENERATED, S.PARTIALLY_SENT, S.COMPLETE)
]


def batch_with_every_kind(status: str) -> tuple[Batch, dict[str, Communication]]:
    """A batch in ``status`` (set directly: a test shortcut) with one notice of each kind."""
    n = next(_seq)
    batch = Batch.objects.create(
        name=f"Record {n}", status=status, template=factories.notice_template()
    )
    location = factories.location()
    assembly = factories.assembly(location)
    BatchAssembly.objects.create(batch=batch, assembly=assembly, location=location)
    notices = {}
    for kind, (channel, status_, attempts, fields, _kept) in KINDS.items():
        contact = factories.contact(name=f"{kind} {n}", email=f"c{next(_seq)}@example.com")
        notice = bulk_data.notice(batch, channel, location, contact, status=status_, **fields)
        notice.attempts = attempts
        notice.save()
        notices[kind] = notice
    return batch, notices


def action_url(batch: Batch, action: str) -> str:
    return reverse(f"{APP}_batch:{action}", args=[batch.pk])


def history(batch: Batch, action: str) -> list[ModelLogEntry]:
    return list(ModelLogEntry.objects.filter(object_id=str(batch.pk), action=f"{APP}.{action}"))


def page(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    return response.content.decode()


# --- every state it can close from x every kind of notice ---------------------------------------


@pytest.mark.parametrize(("action", "state"), CLOSING)
def test_closing_removes_only_notices_never_attempted(admin_client, action, state):
    batch, notices = batch_with_every_kind(state)

    confirm = page(admin_client, action_url(batch, action))
    # The confirm page says exactly what goes and what stays.
    assert (
        "<p data-close-removed>2 notices that were never attempted will be removed: "
        "1 email not sent, 1 letter not marked as mailed.</p>"
    ) in confirm
    assert f"{len(KEPT)} notices that were attempted stay as the record:" in confirm
    for key, text in {
        "sent": "1 email sent",
        "mailed": "1 letter marked as mailed",
        "failed": "1 failed, with the server&#x27;s answer",
        "unknown": "1 of unknown delivery",
        "sending": "1 being sent now",
        "requeued": "1 queued again after an earlier attempt (not sent now)",
    }.items():
        assert f'<li data-kept="{key}">{text}</li>' in confirm

    response = admin_client.post(action_url(batch, action))
    assert response.status_code == 302
    batch.refresh_from_db()
    assert batch.status == (S.COMPLETE if action == "complete" else S.ARCHIVED)

    survivors = set(batch.communications.values_list("pk", flat=True))
    assert survivors == {notices[kind].pk for kind in KEPT}
    # Failed and delivery-unknown notices keep the server's answer.
    failed = Communication.objects.get(pk=notices["email failed"].pk)
    assert (failed.status, failed.error_code, failed.attempts) == ("failed", "550", 2)
    assert failed.error.endswith("5.1.1 Recipient address rejected")
    unknown = Communication.objects.get(pk=notices["email delivery unknown"].pk)
    assert unknown.status == "unknown" and "may have arrived" in unknown.error

    [entry] = history(batch, action)
    assert entry.data["removed_by_channel"] == {"email": 1, "letter": 1}
    done = "Completed" if action == "complete" else "Archived"
    assert entry.message == (
        f"{done}: removed 2 notices never attempted (1 email, 1 letter); kept 6 (1 email sent, "
        "1 letter marked as mailed, 1 failed, with the server's answer, 1 of unknown delivery, "
        "1 being sent now, 1 queued again after an earlier attempt (not sent now))"
    )
    history_page = page(admin_client, reverse(f"{APP}_batch:history", args=[batch.pk]))
    assert escape(entry.message) in history_page


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("action", ["complete", "archive"])
def test_each_kind_alone(admin_client, action, kind):
    """One notice of one kind in a Partially sent batch: it stays exactly when attempted."""
    batch, notices = batch_with_every_kind(S.PARTIALLY_SENT)
    batch.communications.exclude(pk=notices[kind].pk).delete()
    confirm = page(admin_client, action_url(batch, action))
    kept = KINDS[kind][-1]
    assert ("never attempted will be removed" in confirm) is not kept
    assert ("data-close-kept" in confirm) is kept
    admin_client.post(action_url(batch, action))
    assert batch.communications.filter(pk=notices[kind].pk).exists() is kept


def test_a_batch_where_everything_was_attempted_loses_nothing(admin_client):
    batch, _notices = batch_with_every_kind(S.PARTIALLY_SENT)
    batch.communications.filter(status="pending", attempts=0).delete()
    confirm = page(admin_client, action_url(batch, "complete"))
    assert "Nothing will be removed: every notice was attempted." in confirm
    admin_client.post(action_url(batch, "complete"))
    assert batch.communications.count() == len(KEPT)
    [entry] = history(batch, "complete")
    assert entry.message.startswith("Completed: removed nothing; kept 6 (")


# --- letters PDFs --------------------------------------------------------------------------------


@pytest.fixture
def sender(db):
    return factories.user(
        "sender",
        perms=[
            factories.ADMIN_ACCESS,
            f"{APP}.view_batch",
            f"{APP}.send_batch",
            f"{APP}.complete_batch",
            f"{APP}.archive_batch",
        ],
    )


@pytest.mark.parametrize("action", ["complete", "archive"])
def test_a_ready_pdf_of_removed_letters_is_withdrawn(
    client, sender, action, django_capture_on_commit_callbacks
):
    """The issue's case: closing removed the letters never marked as mailed, so their ready
    PDF must not stay downloadable; the download link answers 410 saying why."""
    download = letters_data.ready_download(sender, count=4)
    batch = download.batch
    files = [download.file, download.mailing_list]
    assert all(letter_storage().exists(name) for name in files)
    client.force_login(sender)
    pdf_url = reverse(f"{APP}_letters:download", args=[download.pk])
    csv_url = reverse(f"{APP}_letters:mailing_list", args=[download.pk])
    assert client.get(pdf_url).status_code == 200

    confirm = page(client, action_url(batch, action))
    assert "4 notices that were never attempted will be removed:" in confirm
    assert f'data-close-withdrawn="{download.pk}"' in confirm
    assert "holds 4 of these letters (of its 4): it will be withdrawn" in confirm
    assert "Do not print or mail it." in confirm

    with django_capture_on_commit_callbacks(execute=True):  # the files go on commit
        response = client.post(action_url(batch, action))
    assert response.status_code == 302
    download.refresh_from_db()
    assert download.status == DS.WITHDRAWN and download.purged_at is not None
    done = "completed" if action == "complete" else "archived"
    assert download.error.startswith(
        f"Withdrawn when the batch was {done}: 4 of its 4 letters were never marked as mailed"
    )
    assert not any(letter_storage().exists(name) for name in files)

    for url in (pdf_url, csv_url):
        response = client.get(url)
        assert response.status_code == 410
        html = response.content.decode()
        assert "Download no longer available" in html
        assert "were never marked as mailed, so they were removed with their notices" in html
        assert "data-rerequest-form" not in html  # a closed batch's letters cannot come back
        assert "%PDF" not in html

    batch_page = page(client, reverse(f"{APP}_batch:detail", args=[batch.pk]))
    assert f'data-withdrawn-notice="{download.pk}"' in batch_page
    assert "can no longer be downloaded" in batch_page
    assert "data-download-link" not in batch_page
    assert re.search(r'<span class="w-status">\s*Withdrawn\s*</span>', batch_page)

    [entry] = history(batch, action)
    assert entry.data["withdrawn"] == [{"download": download.pk, "letters": 4}]
    assert entry.message.endswith(f"withdrew letters PDF {download.pk} (4 letters removed)")


def test_a_ready_pdf_of_mailed_letters_stays_downloadable(client, sender):
    """Letters marked as mailed were attempted: they stay, and so does their PDF (until it
    expires). A later PDF of letters never mailed is withdrawn."""
    mailed = letters_data.ready_download(sender, count=3)
    batch = mailed.batch
    assert downloads.mark_letters_mailed(batch.pk, user=sender, download_id=mailed.pk) == 3
    # Two more letters, pending, and their own PDF.
    contacts = bulk_data.contacts([("Late One", ""), ("Late Two", "")])  # on paper
    location = letters_data.letters(batch).first().location
    Communication.objects.bulk_create(
        bulk_data.notice(batch, Channel.LETTER, location, contact) for contact in contacts
    )
    later = downloads.request_letter_download(batch.pk, user=sender)
    assert letter_chunks.run_download_here(later.pk) == DS.READY

    client.force_login(sender)
    confirm = page(client, action_url(batch, "complete"))
    assert f'data-close-withdrawn="{later.pk}"' in confirm
    assert f'data-close-withdrawn="{mailed.pk}"' not in confirm
    assert '<li data-kept="mailed">3 letters marked as mailed</li>' in confirm
    client.post(action_url(batch, "complete"))

    mailed.refresh_from_db()
    later.refresh_from_db()
    assert (mailed.status, later.status) == (DS.READY, DS.WITHDRAWN)
    response = client.get(reverse(f"{APP}_letters:download", args=[mailed.pk]))
    assert response.status_code == 200
    assert b"".join(response.streaming_content).startswith(b"%PDF")
    assert client.get(reverse(f"{APP}_letters:download", args=[later.pk])).status_code == 410
    assert set(batch.communications.values_list("status", flat=True)) == {"sent"}


def test_a_pdf_still_being_prepared_is_withdrawn_and_never_finishes(client, sender):
    batch = letters_data.letter_batch(3)
    download = downloads.request_letter_download(batch.pk, user=sender)
    assert download.status == DS.QUEUED
    client.force_login(sender)
    confirm = page(client, action_url(batch, "archive"))
    assert f'data-close-withdrawn="{download.pk}"' in confirm
    client.post(action_url(batch, "archive"))
    download.refresh_from_db()
    assert download.status == DS.WITHDRAWN
    # The chunk task that comes afterwards does nothing.
    assert letter_chunks.render_chunk(download.chunks.get().pk) == "cancelled"
    download.refresh_from_db()
    assert download.status == DS.WITHDRAWN and not download.file
    response = client.get(reverse(f"{APP}_letters:download", args=[download.pk]))
    assert response.status_code == 410


# --- the failures CSV ----------------------------------------------------------------------------


def test_the_batch_page_offers_the_failures_as_csv(admin_client):
    batch, notices = batch_with_every_kind(S.PARTIALLY_SENT)
    admin_client.post(action_url(batch, "complete"))
    html = page(admin_client, reverse(f"{APP}_batch:detail", args=[batch.pk]))
    url = reverse(f"{APP}_batch:failures_csv", args=[batch.pk])
    assert f'href="{url}"' in html and "data-failures-csv" in html

    response = admin_client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert f"batch-{batch.pk}-failures.csv" in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    by_id = {int(row["Communication"]): row for row in rows}
    assert set(by_id) == {notices["email failed"].pk, notices["email delivery unknown"].pk}
    failed = by_id[notices["email failed"].pk]
    assert failed["Channel"] == "Email"
    assert failed["Status"] == "Failed" and failed["Status code"] == "failed"
    assert failed["Error code"] == "550" and failed["Attempts"] == "2"
    assert failed["Recipient"] == notices["email failed"].recipient_name
    assert failed["Email"] == notices["email failed"].email
    # The server's answer is text in a spreadsheet, never a formula.
    assert failed["Error"] == '\'=HYPERLINK("x") 5.1.1 Recipient address rejected'
    assert failed["Created"]
    unknown = by_id[notices["email delivery unknown"].pk]
    assert unknown["Status"] == "Delivery unknown"
    assert "may have arrived" in unknown["Error"]


def test_the_failures_csv_needs_a_batch_permission(client):
    batch, _ = batch_with_every_kind(S.PARTIALLY_SENT)
    client.force_login(factories.user("nobody", perms=[factories.ADMIN_ACCESS]))
    response = client.get(reverse(f"{APP}_batch:failures_csv", args=[batch.pk]))
    assert response.status_code in (302, 403)
    assert b"550" not in response.content


def test_the_failures_csv_needs_the_communication_logs_permission(client):
    """Its rows are communications: a user who may open the batch but not look at the
    Communication Log does not get them."""
    batch, _ = batch_with_every_kind(S.PARTIALLY_SENT)
    url = reverse(f"{APP}_batch:failures_csv", args=[batch.pk])
    batch_only = [factories.ADMIN_ACCESS, f"{APP}.view_batch", f"{APP}.complete_batch"]
    client.force_login(factories.user("batchonly", perms=batch_only))
    response = client.get(url)
    assert response.status_code in (302, 403)
    assert b"550" not in response.content
    client.force_login(factories.user("withlog", perms=[*batch_only, f"{APP}.view_communication"]))
    response = client.get(url)
    assert response.status_code == 200
    assert (
        b"550" in b"".join(response.streaming_content)
        if response.streaming
        else b"550" in response.content
    )
