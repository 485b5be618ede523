"""What an admin sees (issue 8, items 11-14), in a real browser: the batch page's failed box
with its rows and status tags, the "everything went" hint, the communication page, the email
preview with its way back, every register inspect page, and letter progress with the time
left. Screenshots land in test-artifacts/screenshots/."""

from __future__ import annotations

import datetime
import re

import pytest
from batch_admin_data import build_register, generate, make_batch, org_admin
from browser import assert_clean, login
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from playwright.sync_api import expect

from wagtail_batchcomms.emails import sending
from wagtail_batchcomms.letters import chunks as letter_chunks
from wagtail_batchcomms.letters import downloads
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

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# What must never reach a person reading an admin page.
DEVELOPER_WORDS = re.compile(
    r"\bNone\b|\bTrue\b|\bFalse\b|line1|line2|claimed|vm:|body_html|body_text|<p>|</p>|<table"
)


@pytest.fixture
def world(transactional_db):
    build_register()
    user = org_admin(extra=["wagtail_batchcomms.view_servicearea"])
    batch = generate(make_batch(user, name="Spring notices"), user)
    assert sending.send_pending_emails(batch.pk, sending.new_worker_id()).sent
    emails = list(batch.communications.filter(channel=Channel.EMAIL).order_by("pk"))
    # As a refusing server and a worker that died mid-send leave them.
    Communication.objects.filter(pk=emails[0].pk).update(
        status=CommunicationStatus.FAILED,
        error_code="550",
        error="5.1.1 No such mailbox",
        body_html="",
        body_text="",
        sent_at=None,
    )
    Communication.objects.filter(pk=emails[1].pk).update(
        status=CommunicationStatus.UNKNOWN,
        error="The worker stopped before it recorded the server's answer.",
        claimed_by="vm:4242:deadbeef",
        body_html="",
        body_text="",
        sent_at=None,
    )
    done = generate(make_batch(user, name="Autumn notices"), user)
    sending.send_pending_emails(done.pk, sending.new_worker_id())
    downloads.mark_letters_mailed(done.pk, user=user)
    done.refresh_from_db()
    assert done.status == BatchStatus.PARTIALLY_SENT
    return {"user": user, "batch": batch, "emails": emails, "done": done}


def main_text(page) -> str:
    return page.locator("main").inner_text()


def test_what_an_admin_sees(world, page, shots):
    batch, emails = world["batch"], world["emails"]
    login(page, world["user"].username, "password")

    # --- 11: the failed box shows its rows with status tags ------------------------------------
    page.goto(reverse("wagtail_batchcomms_batch:detail", args=[batch.pk]))
    box = page.locator("#batch-problems-section")
    expect(box).to_be_visible()
    rows = box.locator("tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0).locator(".w-status.w-status--primary")).to_have_text("Failed")
    expect(rows.nth(1).locator(".w-status.w-status--primary")).to_have_text("Delivery unknown")
    expect(rows.nth(0)).to_contain_text(emails[0].recipient_name)
    expect(rows.nth(0)).to_contain_text("550")
    assert box.bounding_box()["height"] > 150  # a box with its rows, not an empty one
    shots(page, "batch-failed-box", focus=box)
    with page.expect_navigation():
        box.locator("[data-problems-link]").click()
    expect(page.locator("table.listing tbody tr")).to_have_count(2)
    page.go_back()

    # --- 13: the communication page ------------------------------------------------------------
    sent = Communication.objects.filter(batch=batch, status=CommunicationStatus.SENT).first()
    page.locator("#batch-communications-section").get_by_role(
        "link", name=sent.recipient_name, exact=True
    ).first.click()
    page.wait_for_url(re.compile(r"/communications/inspect/\d+/$"))
    shown = main_text(page)
    assert not DEVELOPER_WORDS.search(shown), DEVELOPER_WORDS.search(shown)
    local = date_format(timezone.localtime(sent.sent_at), "DATETIME_FORMAT")
    expect(page.locator("main")).to_contain_text(local)
    frame = page.frame_locator("iframe[data-email-body]")
    expect(frame.locator("body")).to_contain_text("Dear")
    shots(page, "communication-sent-email", full_page=True)

    unknown = page.context.new_page()
    unknown.goto(reverse("wagtail_batchcomms_communication:inspect", args=[emails[1].pk]))
    shown = main_text(unknown)
    assert not DEVELOPER_WORDS.search(shown), DEVELOPER_WORDS.search(shown)
    expect(unknown.locator("main .w-status--primary")).to_have_text("Delivery unknown")
    shots(unknown, "communication-delivery-unknown", full_page=True)
    letter = Communication.objects.filter(batch=world["done"], channel=Channel.LETTER).first()
    unknown.goto(reverse("wagtail_batchcomms_communication:inspect", args=[letter.pk]))
    shown = main_text(unknown)
    assert not DEVELOPER_WORDS.search(shown), DEVELOPER_WORDS.search(shown)
    assert "Marked as mailed by" in shown and letter.address_line1 in shown
    shots(unknown, "communication-letter-mailed", full_page=True)
    unknown.close()

    # --- 14: the email preview, with subject, To and a way back ---------------------------------
    page.get_by_role("link", name="Email preview").first.click()
    page.wait_for_url(re.compile(r"/email/$"))
    expect(page.locator("[data-email-subject]")).to_have_text(sent.subject)
    expect(page.locator("[data-email-to]")).to_have_text(f"{sent.recipient_name} <{sent.email}>")
    expect(page.frame_locator("iframe[data-email-body]").locator("body")).to_contain_text("Dear")
    assert not DEVELOPER_WORDS.search(main_text(page))
    shots(page, "email-preview", full_page=True)
    page.locator("[data-back-to-notice]").click()
    page.wait_for_url(re.compile(r"/communications/inspect/\d+/$"))

    # --- 14: Partially sent with everything gone ------------------------------------------------
    page.goto(reverse("wagtail_batchcomms_batch:detail", args=[world["done"].pk]))
    hint = page.locator("[data-all-sent]")
    expect(hint).to_contain_text("Everything has gone out.")
    expect(hint).to_contain_text("complete the batch")
    expect(page.locator("#w-slim-header-buttons > a", has_text="Complete")).to_be_visible()
    shots(page, "partially-sent-all-gone")
    page.locator("[data-complete-link]").click()
    page.wait_for_url(re.compile(r"/complete/$"))

    # --- 13/14: every register inspect page --------------------------------------------------
    pages = {
        "assembly": Assembly.objects.first(),
        "location": Location.objects.first(),
        "contact-email": Contact.objects.filter(prefers_paper=False).first(),
        "contact-paper": Contact.objects.filter(prefers_paper=True).first(),
        "service-area": ServiceArea.objects.first(),
    }
    for name, obj in pages.items():
        model = type(obj)._meta.model_name
        page.goto(reverse(f"wagtailsnippets_wagtail_batchcomms_{model}:inspect", args=[obj.pk]))
        shown = main_text(page)
        assert not DEVELOPER_WORDS.search(shown), (name, DEVELOPER_WORDS.search(shown))
        assert "Address line" not in shown and "Mailing address line" not in shown, name
        if model == "contact":
            answer = "Yes" if obj.prefers_paper else "No"
            assert re.search(rf"Prefers paper\s*\n?\s*{answer}\b", shown), shown
        shots(page, f"inspect-{name}", full_page=True)
    assert_clean(page)


def test_letter_progress_moves_with_the_time_left(world, page, shots, private_root, app_settings):
    app_settings(LETTER_CHUNK_SIZE=1000)
    batch = world["batch"]
    download = downloads.request_letter_download(batch.pk, user=world["user"])
    [chunk] = download.chunks.all()
    # A worker has laid out part of the chunk (what _progress_recorder writes), two minutes in.
    assert letter_chunks.claim_chunk(chunk.pk, "worker-1")
    LetterDownload.objects.filter(pk=download.pk).update(status="rendering")
    total = chunk.letter_count
    half = max(1, total // 2)
    LetterChunk.objects.filter(pk=chunk.pk).update(
        letters_done=half, claimed_at=timezone.now() - datetime.timedelta(minutes=2)
    )
    login(page, world["user"].username, "password")
    page.goto(reverse("wagtail_batchcomms_batch:detail", args=[batch.pk]))
    key = f"download-{download.pk}"
    text = page.locator(f'[data-progress-text="{key}"]')
    eta = page.locator(f'[data-progress-eta="{key}"]')
    expect(text).to_have_text(f"{half} / {total} letters")
    expect(eta).to_contain_text("left")
    shots(page, "letters-progress", focus=page.locator("#batch-progress"))

    # The page's polling moves the bar as the worker records more letters, without a reload.
    page.evaluate("window.stillTheSameDocument = true")
    LetterChunk.objects.filter(pk=chunk.pk).update(letters_done=total - 1)
    expect(text).to_have_text(f"{total - 1} / {total} letters", timeout=10_000)
    assert page.evaluate("window.stillTheSameDocument") is True

    # The download's own page while it is prepared: the same bar, then the batch page when done.
    page.goto(reverse("wagtail_batchcomms_letters:download", args=[download.pk]))
    expect(page.locator(f'[data-progress-text="{key}"]')).to_have_text(
        f"{total - 1} / {total} letters"
    )
    expect(page.locator(f'[data-progress-eta="{key}"]')).to_contain_text("left")
    shots(page, "download-being-prepared")
    LetterDownload.objects.filter(pk=download.pk).update(status="failed", error="Stopped.")
    page.wait_for_url(re.compile(rf"/batches/{batch.pk}/$"), timeout=10_000)
    assert not page.js_errors, page.js_errors
