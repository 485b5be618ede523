"""The letter file views: permission checks, streaming, the 404/409/410 pages, re-request,
and the one-letter PDF preview. Real requests through Django's test client and Wagtail's
admin URLconf; PDFs read back with pypdf."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import factories
import letters_data as data
import pypdf
import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from django_q.models import OrmQ
from wagtail.models import ModelLogEntry

from wagtail_batchcomms import history as history_ids
from wagtail_batchcomms.letters import chunks as letter_chunks
from wagtail_batchcomms.letters import downloads
from wagtail_batchcomms.models import BatchStatus, DownloadStatus, LetterDownload
from wagtail_batchcomms.storage import letter_storage

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("private_root")]

ACCESS = factories.ADMIN_ACCESS
VIEW = "wagtail_batchcomms.view_batch"
SEND = "wagtail_batchcomms.send_batch"
# A letter's preview shows its recipient: the Communication Log's permission too.
LOG = "wagtail_batchcomms.view_communication"


@pytest.fixture
def users(db):
    return {
        "none": factories.user("noperm", perms=[ACCESS]),
        "viewer": factories.user("viewer", perms=[ACCESS, VIEW, LOG]),
        "sender": factories.user("sender", perms=[ACCESS, VIEW, SEND, LOG]),
    }


def client_for(client, user):
    if user is not None:
        client.force_login(user)
    return client


def url(name: str, pk: int) -> str:
    return reverse(f"wagtail_batchcomms_letters:{name}", args=[pk])


def body_of(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


# --- permissions on every view -----------------------------------------------------------------


@pytest.mark.parametrize("name", ["download", "mailing_list", "preview"])
def test_anonymous_is_sent_to_login(client, users, name):
    download = data.ready_download(users["sender"])
    pk = download.chunks.get().communication_ids[0] if name == "preview" else download.pk
    response = client.get(url(name, pk))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("wagtailadmin_login"))


def test_anonymous_rerequest_is_sent_to_login(client, users):
    download = data.ready_download(users["sender"])
    response = client.post(url("rerequest", download.pk))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("wagtailadmin_login"))
    assert LetterDownload.objects.count() == 1


@pytest.mark.parametrize("who", ["none", "viewer"])
@pytest.mark.parametrize("name", ["download", "mailing_list"])
def test_files_need_send_permission(client, users, who, name):
    download = data.ready_download(users["sender"])
    response = client_for(client, users[who]).get(url(name, download.pk))
    assert response.status_code == 302
    assert response["Location"] == reverse("wagtailadmin_home")
    assert not response.streaming


@pytest.mark.parametrize("who", ["none", "viewer"])
def test_rerequest_needs_send_permission(client, users, who):
    download = data.ready_download(users["sender"])
    LetterDownload.objects.filter(pk=download.pk).update(status=DownloadStatus.EXPIRED)
    response = client_for(client, users[who]).post(url("rerequest", download.pk))
    assert response.status_code == 302
    assert response["Location"] == reverse("wagtailadmin_home")
    assert LetterDownload.objects.count() == 1


def test_preview_needs_view_permission(client, users):
    download = data.ready_download(users["sender"])
    pk = download.chunks.get().communication_ids[0]
    response = client_for(client, users["none"]).get(url("preview", pk))
    assert response.status_code == 302 and response["Location"] == reverse("wagtailadmin_home")
    client.logout()
    response = client_for(client, users["viewer"]).get(url("preview", pk))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"


# --- serving --------------------------------------------------------------------------------


def test_sender_downloads_the_pdf_as_a_private_attachment(client, users):
    download = data.ready_download(users["sender"], count=4)
    response = client_for(client, users["sender"]).get(url("download", download.pk))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("attachment;")
    assert f"-{download.pk}.pdf" in response["Content-Disposition"]
    assert {"private", "no-store"} <= set(response["Cache-Control"].replace(" ", "").split(","))
    content = body_of(response)
    assert len(content) == download.size
    reader = pypdf.PdfReader(io.BytesIO(content))
    assert len(data.split_letters(reader)) == 4


def test_sender_downloads_the_mailing_list(client, users):
    download = data.ready_download(users["sender"], count=4)
    response = client_for(client, users["sender"]).get(url("mailing_list", download.pk))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith("attachment;")
    assert "mailing-list.csv" in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(body_of(response).decode("utf-8-sig"))))
    assert sorted(int(r["communication_id"]) for r in rows) == sorted(
        data.letters(download.batch).values_list("pk", flat=True)
    )


def test_each_download_is_in_the_batch_history_with_who_took_it(client, users):
    download = data.ready_download(users["sender"], count=4)
    web = client_for(client, users["sender"])
    assert web.get(url("download", download.pk)).status_code == 200
    assert web.get(url("mailing_list", download.pk)).status_code == 200
    entries = ModelLogEntry.objects.for_instance(download.batch).filter(
        action=history_ids.LETTERS_DOWNLOADED
    )
    assert [(e.user_id, e.data["kind"]) for e in entries.order_by("pk")] == [
        (users["sender"].pk, "pdf"),
        (users["sender"].pk, "csv"),
    ]
    history = web.get(reverse("wagtail_batchcomms_batch:history", args=[download.batch.pk]))
    page = history.content.decode()
    assert "Downloaded the letters PDF of 4 letters" in page
    assert "Downloaded the mailing list of 4 letters" in page
    # A refused or unavailable download is not a download.
    LetterDownload.objects.filter(pk=download.pk).update(expires_at=timezone.now())
    assert web.get(url("download", download.pk)).status_code == 410
    assert entries.count() == 2


def test_files_are_not_under_a_public_url(users):
    download = data.ready_download(users["sender"])
    storage = letter_storage()
    with pytest.raises(ValueError, match="no public URL"):
        storage.url(download.file)
    media = str(settings.MEDIA_ROOT)
    assert not storage.path(download.file).startswith(media)


# --- not available -------------------------------------------------------------------------


def test_forged_id_answers_404_with_a_page(client, users):
    response = client_for(client, users["sender"]).get(url("download", 987654))
    assert response.status_code == 404
    assert b"Download not found" in response.content
    assert b"w-header" in response.content or b"nice-padding" in response.content  # admin page


def test_queued_download_answers_409(client, users):
    batch = data.letter_batch(2)
    download = downloads.request_letter_download(batch.pk, user=users["sender"])
    response = client_for(client, users["sender"]).get(url("download", download.pk))
    assert response.status_code == 409
    assert b"still being prepared" in response.content
    assert b"data-rerequest-form" not in response.content


def expired_page(client, users, download):
    response = client_for(client, users["sender"]).get(url("download", download.pk))
    assert response.status_code == 410
    assert not response.streaming
    return response.content.decode()


def test_expired_download_answers_410_with_a_rerequest_button(client, users):
    download = data.ready_download(users["sender"])
    # Past its expiry but not purged yet: the file still exists, and is not served.
    LetterDownload.objects.filter(pk=download.pk).update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )
    assert letter_storage().exists(download.file)
    page = expired_page(client, users, download)
    assert "expired on" in page
    assert "data-rerequest-form" in page
    assert f'action="{url("rerequest", download.pk)}"' in page
    assert 'method="post"' in page
    # The mailing list is gone too.
    assert client.get(url("mailing_list", download.pk)).status_code == 410


def test_purged_download_answers_410_and_rerequest_queues_a_new_one(
    client, users, django_capture_on_commit_callbacks
):
    download = data.ready_download(users["sender"], count=3)
    LetterDownload.objects.filter(pk=download.pk).update(expires_at=timezone.now())
    assert downloads.purge_expired_downloads() == 1
    assert not letter_storage().exists(download.file)
    page = expired_page(client, users, download)
    assert "data-rerequest-form" in page

    OrmQ.objects.all().delete()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url("rerequest", download.pk))
    assert response.status_code == 302
    assert response["Location"] == reverse(
        "wagtail_batchcomms_batch:detail", args=[download.batch_id]
    )
    new = LetterDownload.objects.exclude(pk=download.pk).get()
    assert new.batch_id == download.batch_id and new.status == DownloadStatus.QUEUED
    assert new.requested_by == users["sender"]
    assert [row.func() for row in OrmQ.objects.all()] == [downloads.CHUNK_TASK]
    # Once rendered, its link serves the PDF.
    letter_chunks.run_download_here(new.pk)
    response = client.get(url("download", new.pk))
    assert response.status_code == 200 and body_of(response).startswith(b"%PDF")


def test_rerequest_is_post_only_and_a_second_click_queues_nothing(client, users):
    download = data.ready_download(users["sender"])
    LetterDownload.objects.filter(pk=download.pk).update(status=DownloadStatus.EXPIRED)
    client_for(client, users["sender"])
    assert client.get(url("rerequest", download.pk)).status_code == 405
    client.post(url("rerequest", download.pk))
    client.post(url("rerequest", download.pk))
    assert LetterDownload.objects.filter(status=DownloadStatus.QUEUED).count() == 1


def test_failed_download_answers_410_with_its_error(client, users):
    batch = data.letter_batch(2)
    download = downloads.request_letter_download(batch.pk, user=users["sender"])
    letter_chunks.fail_download(download.pk, "The printer font is missing.")
    page = expired_page(client, users, download)
    assert "The printer font is missing." in page
    assert "data-rerequest-form" in page


def test_missing_file_answers_410(client, users):
    download = data.ready_download(users["sender"])
    letter_storage().delete(download.file)
    page = expired_page(client, users, download)
    assert "no longer stored" in page


def test_closed_batch_offers_no_rerequest(client, users):
    download = data.ready_download(users["sender"])
    LetterDownload.objects.filter(pk=download.pk).update(status=DownloadStatus.EXPIRED)
    type(download.batch).objects.filter(pk=download.batch_id).update(status=BatchStatus.COMPLETE)
    page = expired_page(client, users, download)
    assert "data-rerequest-form" not in page
    assert "cannot be requested again" in page
    response = client.post(url("rerequest", download.pk))
    assert response.status_code == 302
    assert LetterDownload.objects.count() == 1


# --- preview --------------------------------------------------------------------------------


def test_preview_shows_one_letter_inline(client, users):
    batch = data.letter_batch(3)
    letter = data.letters(batch).last()
    response = client_for(client, users["viewer"]).get(url("preview", letter.pk))
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("inline;")
    assert {"private", "no-store"} <= set(response["Cache-Control"].replace(" ", "").split(","))
    reader = pypdf.PdfReader(io.BytesIO(response.content))
    (pages,) = data.split_letters(reader)
    assert letter.recipient_name in pages[0] and letter.address_line1 in pages[0]


def test_preview_of_a_missing_or_unrenderable_letter(client, users):
    client_for(client, users["viewer"])
    response = client.get(url("preview", 424242))
    assert response.status_code == 404 and b"Letter not found" in response.content
    template = data.unrenderable_template()
    letter = data.letters(data.letter_batch(1, template=template)).get()
    response = client.get(url("preview", letter.pk))
    assert response.status_code == 422
    assert b"repeats more than" in response.content
