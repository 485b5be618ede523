"""Screens that tell the truth (issue 8, items 11-14), through the test client: the batch
page's failed box and its "everything went" hint, the communication page and every register
inspect page as an admin reads them, the email preview page, and letter progress that moves
inside a chunk with an estimate of the time left."""

from __future__ import annotations

import datetime
import html as html_module
import re

import pytest
from batch_admin_data import generate, make_batch, org_admin
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format

from wagtail_batchcomms.emails import sending
from wagtail_batchcomms.jobs import worker_id
from wagtail_batchcomms.letters import chunks as letter_chunks
from wagtail_batchcomms.letters import downloads as letters
from wagtail_batchcomms.letters import rendering as letter_rendering
from wagtail_batchcomms.models import (
    Assembly,
    BatchStatus,
    Channel,
    Communication,
    CommunicationStatus,
    Contact,
    LetterChunk,
    LetterDownload,
    Location,
    ServiceArea,
)

pytestmark = pytest.mark.django_db
NS = "wagtail_batchcomms_batch"


@pytest.fixture
def sent_batch(register, admin):
    """Generated, its emails sent (Django's locmem backend), its letters still pending."""
    batch = generate(make_batch(admin), admin)
    result = sending.send_pending_emails(batch.pk, worker_id())
    assert result.sent
    batch.refresh_from_db()
    assert batch.status == BatchStatus.PARTIALLY_SENT
    return batch


def detail(batch) -> str:
    return reverse(f"{NS}:detail", args=[batch.pk])


def visible(page: str) -> str:
    """The page's HTML without the sandboxed email frames (whose srcdoc holds the email's
    escaped markup on purpose), scripts and styles."""
    page = re.sub(r"<iframe\b.*?</iframe>", "", page, flags=re.S)
    return re.sub(r"<(script|style)\b.*?</\1>", "", page, flags=re.S)


def dl_text(page: str) -> str:
    """The text of the page's definition lists (the inspect pages' fields)."""
    text = " ".join(re.findall(r"<dl\b.*?</dl>", visible(page), flags=re.S))
    return html_module.unescape(re.sub(r"<[^>]+>", " ", text))


# Python's and Django's spellings that must never reach an admin.
DEVELOPER_WORDS = re.compile(
    r"\bNone\b|\bTrue\b|\bFalse\b|line1|line2|claimed|vm:|body_html|body_text|_at\b|_by\b"
)


def words(page: str) -> str:
    """The page's text, one space between words (the estimate's no-break space too)."""
    text = html_module.unescape(re.sub(r"<[^>]+>", " ", page))
    return " ".join(text.replace("\xa0", " ").split())


def local(moment: datetime.datetime) -> str:
    return date_format(timezone.localtime(moment), "DATETIME_FORMAT")


def utc(moment: datetime.datetime) -> str:
    return date_format(moment.astimezone(datetime.UTC).replace(tzinfo=None), "DATETIME_FORMAT")


# --- 11: the failed box -----------------------------------------------------------------------


def test_the_failed_box_lists_its_rows_with_status_tags(web, sent_batch):
    emails = list(sent_batch.communications.filter(channel=Channel.EMAIL).order_by("pk"))
    Communication.objects.filter(pk=emails[0].pk).update(
        status=CommunicationStatus.FAILED, error_code="550", error="Mailbox unavailable"
    )
    Communication.objects.filter(pk=emails[1].pk).update(
        status=CommunicationStatus.UNKNOWN, error="The worker stopped before it recorded it."
    )
    page = web.get(detail(sent_batch)).content.decode()
    box = re.search(r'<section[^>]*id="batch-problems-section".*?</section>', page, re.S)
    assert box, "no Failed or delivery unknown box"
    box = box[0]
    assert "Failed or delivery unknown" in box
    rows = re.findall(r"<tr>.*?</tr>", box.split("<tbody>")[1], re.S)
    assert len(rows) == 2
    for row, communication, label in zip(
        rows, emails[:2], ["Failed", "Delivery unknown"], strict=True
    ):
        assert communication.recipient_name in row
        assert re.search(rf'class="w-status w-status--primary"[^>]*>\s*{label}\s*<', row), row
    assert "<code>550</code>" in box and "Mailbox unavailable" in box
    link = re.search(r'href="([^"]*)"[^>]*data-problems-link', box)
    listed = web.get(html_module.unescape(link[1])).context["object_list"]
    assert {c.pk for c in listed} == {emails[0].pk, emails[1].pk}


def test_no_failed_box_when_nothing_failed(web, sent_batch):
    page = web.get(detail(sent_batch)).content.decode()
    assert 'id="batch-problems-section"' not in page


# --- 14: Partially sent at 100% ---------------------------------------------------------------


def test_partially_sent_with_everything_gone_says_it_can_be_completed(web, admin, sent_batch):
    page = web.get(detail(sent_batch)).content.decode()
    assert "data-all-sent" not in page  # the letters are still to be mailed
    mailed = letters.mark_letters_mailed(sent_batch.pk, user=admin)
    assert mailed
    emails = sent_batch.communications.filter(channel=Channel.EMAIL).count()
    response = web.get(detail(sent_batch))
    page = response.content.decode()
    hint = re.search(r"<p data-all-sent>(.*?)</p>", page, re.S)
    assert hint, "no hint that everything went"
    text = " ".join(html_module.unescape(re.sub(r"<[^>]+>", " ", hint[1])).split())
    assert f"All {emails} emails were sent and all {mailed} letters were marked as mailed" in text
    assert "complete the batch" in text
    # And Complete is a main header button now, not hidden under the "Actions" menu.
    main_buttons = response.context["view"].header_buttons
    assert "complete" in [button.attrs.get("data-batch-action") for button in main_buttons]
    link = re.search(r'href="([^"]*)"[^>]*data-complete-link', page)
    assert link[1] == reverse(f"{NS}:complete", args=[sent_batch.pk])
    assert web.get(link[1]).status_code == 200


# --- 13: the communication page --------------------------------------------------------------


def communication_page(web, communication) -> str:
    url = reverse("wagtail_batchcomms_communication:inspect", args=[communication.pk])
    response = web.get(url)
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.parametrize("case", ["email sent", "email failed", "letter pending", "letter mailed"])
def test_the_communication_page_reads_like_a_page(web, admin, sent_batch, case):
    channel, state = case.split()
    communication = (
        sent_batch.communications.filter(channel=channel).select_related("contact").first()
    )
    if state == "failed":
        Communication.objects.filter(pk=communication.pk).update(
            status=CommunicationStatus.FAILED,
            error_code="550",
            error="No such mailbox",
            claimed_by="vm:1234:abcd",
            body_html="",
            body_text="",
        )
    if state == "mailed":
        letters.mark_letters_mailed(sent_batch.pk, user=admin)
    communication.refresh_from_db()
    page = communication_page(web, communication)
    shown = dl_text(page)
    assert not DEVELOPER_WORDS.search(shown), DEVELOPER_WORDS.search(shown)
    assert not DEVELOPER_WORDS.search(visible(page).split("</header>")[-1].split("<footer")[0])
    # No markup source anywhere a person reads it.
    assert "&lt;p" not in visible(page) and "&lt;table" not in visible(page)
    assert communication.recipient_name in shown
    assert "Generated" in shown and local(communication.created_at) in shown
    if communication.sent_at:
        assert local(communication.sent_at) in shown
        assert utc(communication.sent_at) not in shown
    else:
        assert "Not yet" in shown
    if channel == "email":
        assert communication.email in shown
        frame = re.search(r'<iframe[^>]*sandbox=""[^>]*srcdoc="([^"]*)"', page)
        if state == "sent":
            # The email as sent, in a sandboxed frame; its plain text beside it.
            assert frame and "Dear" in html_module.unescape(frame[1])
            assert html_module.unescape(frame[1]) == communication.body_html
            assert "Plain-text version" in page
            assert f"<dd data-email-subject>{communication.subject}</dd>" in page
        else:
            assert frame is None and "Not sent yet" in page
            assert "<code>550</code> No such mailbox" in page
        assert reverse(f"{NS}:preview_email", args=[communication.pk]) in page
    else:
        for line in communication.address_lines:
            assert line in shown
        assert reverse("wagtail_batchcomms_letters:preview", args=[communication.pk]) in page
        if state == "mailed":
            assert "Marked as mailed by" in shown
            assert (admin.get_full_name() or admin.get_username()) in shown


# --- 13/14: every register inspect page ---------------------------------------------------------


INSPECT_PAGES = {
    "assembly": lambda: (
        Assembly.objects.filter(last_tested_on__isnull=True).first() or Assembly.objects.first()
    ),
    "location": lambda: Location.objects.filter(is_active=True).first(),
    "contact": lambda: Contact.objects.filter(prefers_paper=False).first(),
    "contact on paper": lambda: Contact.objects.filter(prefers_paper=True).first(),
    "service area": lambda: ServiceArea.objects.first(),
}


@pytest.mark.parametrize("kind", list(INSPECT_PAGES))
def test_every_register_inspect_page_reads_like_a_page(client, sent_batch, kind):
    web = client
    web.force_login(org_admin("registrar", extra=["wagtail_batchcomms.view_servicearea"]))
    obj = INSPECT_PAGES[kind]()
    Assembly.objects.filter(pk=Assembly.objects.first().pk).update(installed_on=None)
    url = reverse(
        f"wagtailsnippets_wagtail_batchcomms_{type(obj)._meta.model_name}:inspect", args=[obj.pk]
    )
    response = web.get(url)
    assert response.status_code == 200
    shown = dl_text(response.content.decode())
    assert str(obj) in shown or getattr(obj, "name", "") in shown
    assert not DEVELOPER_WORDS.search(shown), (kind, DEVELOPER_WORDS.search(shown))
    assert "Mailing address line" not in shown and "Address line" not in shown
    if kind.startswith("contact"):
        answer = "Yes" if obj.prefers_paper else "No"
        assert re.search(rf"Prefers paper\s+{answer}\b", " ".join(shown.split()))
    if kind == "location":
        assert re.search(r"Active\s+Yes\b", " ".join(shown.split()))


# --- 14: the email preview ---------------------------------------------------------------------


@pytest.mark.parametrize("sent", [True, False])
def test_the_email_preview_shows_subject_to_and_a_way_back(register, web, admin, sent):
    batch = generate(make_batch(admin), admin)
    if sent:
        sending.send_pending_emails(batch.pk, worker_id())
    email = batch.communications.filter(channel=Channel.EMAIL).first()
    response = web.get(reverse(f"{NS}:preview_email", args=[email.pk]))
    assert response.status_code == 200
    page = response.content.decode()
    email.refresh_from_db()
    subject = re.search(r"<dd data-email-subject>(.*?)</dd>", page)[1]
    assert html_module.unescape(subject).startswith("Backflow")
    if sent:
        assert html_module.unescape(subject) == email.subject
    to = html_module.unescape(re.search(r"<dd data-email-to>(.*?)</dd>", page)[1])
    assert to == f"{email.recipient_name} <{email.email}>"
    frame = re.search(r'<iframe[^>]*sandbox=""[^>]*srcdoc="([^"]*)"', page)
    assert f"Dear {email.contact.name}" in html_module.unescape(frame[1])
    assert "&lt;p" not in visible(page)
    back = re.search(r'href="([^"]*)"[^>]*data-back-to-batch', page)
    assert back[1] == detail(batch)
    notice = re.search(r'href="([^"]*)"[^>]*data-back-to-notice', page)
    assert web.get(notice[1]).status_code == 200
    assert ("as its recipient got it" in page) is sent


@pytest.mark.parametrize("sees_batches", [True, False])
def test_an_email_that_cannot_render_shows_why_on_an_admin_page(
    register, client, admin, sees_batches
):
    """The batch lost its template revision: the preview of an unsent email is the admin
    page (breadcrumbs, a critical help block naming the error, the way back to the notice),
    and links to the batch only for users who may look at batches."""
    import factories

    batch = generate(make_batch(admin), admin)
    email = batch.communications.filter(channel=Channel.EMAIL).first()
    batch.template_revision.delete()
    if sees_batches:
        viewer = org_admin("batchreader")
    else:
        viewer = factories.user(
            "logreader",
            perms=[factories.ADMIN_ACCESS, "wagtail_batchcomms.view_communication"],
        )
    client.force_login(viewer)
    response = client.get(reverse(f"{NS}:preview_email", args=[email.pk]))
    assert response.status_code == 422
    page = response.content.decode()
    assert "w-breadcrumbs" in page
    critical = re.search(r'<div class="help-block help-critical"[^>]*>(.*?)</div>', page, re.S)
    assert critical, "no critical help block"
    assert "no pinned template revision" in html_module.unescape(critical[1])
    notice = re.search(r'href="([^"]*)"[^>]*data-back-to-notice', page)
    assert client.get(notice[1]).status_code == 200
    back = re.search(r'href="([^"]*)"[^>]*data-back-to-batch', page)
    if sees_batches:
        assert back[1] == detail(batch)
        assert str(batch) in words(page)
    else:
        assert back is None
        assert detail(batch) not in page
        assert reverse(f"{NS}:index") not in page


# --- 12: letter progress inside a chunk, and the time left ------------------------------------


def test_letter_progress_moves_inside_a_chunk_with_time_left(
    web, admin, private_root, app_settings, monkeypatch, tmp_path
):
    import letters_data

    app_settings(LETTER_CHUNK_SIZE=1000)
    batch = letters_data.letter_batch(60)
    download = letters.request_letter_download(batch.pk, user=admin)
    [chunk] = download.chunks.all()
    worker = "test-worker"
    assert letter_chunks.claim_chunk(chunk.pk, worker)
    LetterDownload.objects.filter(pk=download.pk).update(status="rendering")
    # Every render group records (the throttle is what keeps a real chunk to a few updates).
    monkeypatch.setattr(letter_chunks, "PROGRESS_EVERY", 0)
    recorder = letter_chunks._progress_recorder(chunk.pk, worker)
    seen = []

    def progress(done: int) -> None:
        recorder(done)
        download.refresh_from_db()
        seen.append(letters.download_progress(download)["letters_done"])

    communications = letter_chunks._communications(chunk.communication_ids)
    pages = letter_rendering.render_letters(communications, tmp_path / "x.pdf", progress)
    assert pages == 60
    group = letter_rendering.RENDER_GROUP
    assert seen == [min(60, n) for n in range(group, 60 + group, group)]
    assert seen[0] < 60  # it moved before the chunk finished

    # The estimate: half done after 30 s -> about 30 s left; shown on the batch page.
    LetterChunk.objects.filter(pk=chunk.pk).update(
        letters_done=30, claimed_at=timezone.now() - datetime.timedelta(seconds=120)
    )
    download.refresh_from_db()
    progress_now = letters.download_progress(download)
    assert progress_now["letters_done"] == 30
    assert 115 <= progress_now["seconds_left"] <= 125
    page = web.get(detail(batch)).content.decode()
    text = words(page)
    assert "30 / 60 letters" in text and "About 2 minutes left" in text
    data = web.get(reverse(f"{NS}:progress", args=[batch.pk])).json()
    assert data["downloads"][0]["done"] == 30
    assert data["downloads"][0]["time_left"].replace("\xa0", " ") == "About 2 minutes left"

    # The download's own page while it is prepared: the same bar and estimate, polled.
    response = web.get(reverse("wagtail_batchcomms_letters:download", args=[download.pk]))
    assert response.status_code == 409
    page = response.content.decode()
    text = words(page)
    assert "30 / 60 letters" in text and "About 2 minutes left" in text
    assert 'data-done-url="' + detail(batch) + '"' in page
    assert "batch-progress.js" in page

    # A re-claim (a dead worker's chunk taken over) starts its count again.
    LetterChunk.objects.filter(pk=chunk.pk).update(
        claimed_at=timezone.now() - datetime.timedelta(days=1)
    )
    assert letter_chunks.claim_chunk(chunk.pk, "another-worker")
    download.refresh_from_db()
    assert letters.download_progress(download)["letters_done"] == 0
