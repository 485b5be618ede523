"""Closing a batch keeps the record, as the org admin sees it in a real browser: the confirm
page says what will be removed, what stays and which letters PDF is withdrawn; afterwards the
batch page says the PDF can no longer be downloaded (and offers no link), its link answers
410 with the reason, and the failures CSV downloads with the server's answers."""

from __future__ import annotations

import csv
import io
import re

import bulk_data
import factories
import letters_data
import pytest
from browser import assert_clean, header_action, login
from playwright.sync_api import expect

from wagtail_batchcomms.models import BatchStatus, Channel, Communication, DownloadStatus

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("private_root"),
]

APP = "wagtail_batchcomms"
BATCH_PAGE = re.compile(r"/admin/batchcomms/batches/\d+/$")


def test_completing_withdraws_the_letters_pdf_and_keeps_the_failures(page, shots):
    sender = factories.user(
        "closer",
        perms=[
            factories.ADMIN_ACCESS,
            f"{APP}.view_batch",
            f"{APP}.send_batch",
            f"{APP}.complete_batch",
            # The failures box and CSV are the Communication Log's rows.
            f"{APP}.view_communication",
        ],
    )
    download = letters_data.ready_download(sender, count=3)
    batch = download.batch
    # Two emails the mail server refused or may have taken (the send task's outcomes).
    location = letters_data.letters(batch).first().location
    refused, unsure = bulk_data.contacts(
        [("Refused Person", "refused@example.com"), ("Unsure Person", "unsure@example.com")]
    )
    Communication.objects.bulk_create(
        [
            bulk_data.notice(
                batch,
                Channel.EMAIL,
                location,
                refused,
                status="failed",
                attempts=1,
                error_code="550",
                error="5.1.1 <refused@example.com>: Recipient address rejected",
            ),
            bulk_data.notice(
                batch,
                Channel.EMAIL,
                location,
                unsure,
                status="unknown",
                attempts=1,
                error="Connection lost after the message was sent.",
            ),
        ]
    )

    login(page, "closer", "password")
    page.goto(f"/admin/batchcomms/batches/{batch.pk}/")
    expect(page.locator("[data-download-link]")).to_be_visible()

    header_action(page, "Complete").click()
    page.wait_for_url(re.compile(r"/complete/$"))
    expect(page.locator("[data-close-removed]")).to_contain_text(
        "3 notices that were never attempted will be removed: 3 letters not marked as mailed"
    )
    withdrawn = page.locator(f'[data-close-withdrawn="{download.pk}"]')
    expect(withdrawn).to_be_visible()
    expect(withdrawn).to_contain_text("holds 3 of these letters (of its 3)")
    expect(withdrawn).to_contain_text("Do not print or mail it.")
    expect(page.locator('[data-kept="failed"]')).to_have_text("1 failed, with the server's answer")
    expect(page.locator('[data-kept="unknown"]')).to_have_text("1 of unknown delivery")
    shots(page, "complete-confirm", full_page=True)

    page.get_by_role("button", name="Yes, complete it").click()
    page.wait_for_url(BATCH_PAGE)
    expect(page.locator("[data-batch-page]")).to_have_attribute(
        "data-batch-status", BatchStatus.COMPLETE
    )
    notice = page.locator(f'[data-withdrawn-notice="{download.pk}"]')
    expect(notice).to_be_visible()
    expect(notice).to_contain_text("can no longer be downloaded")
    expect(notice).to_contain_text("were never marked as mailed")
    expect(page.locator("[data-download-link]")).to_have_count(0)
    expect(page.locator(f'[data-download="{download.pk}"]')).to_contain_text("Withdrawn")
    shots(page, "complete-done", full_page=True)
    failures_link = page.locator("[data-failures-csv]")
    expect(failures_link).to_have_text("Failures (CSV)")
    # A small button with its icon at text size (a bare icon outside a listing is drawn
    # 300x150 and hides the label).
    for link in (failures_link, page.locator("[data-problems-link]")):
        icon = link.locator("svg").bounding_box()
        assert icon and icon["width"] <= 24 and icon["height"] <= 24, icon
    shots(page, "failures-link", focus=failures_link)

    # The failures, with the server's answers, as CSV from the batch page.
    with page.expect_download() as event:
        page.locator("[data-failures-csv]").click()
    text = open(event.value.path(), encoding="utf-8").read()  # noqa: SIM115 (read at once)
    rows = {row["Recipient"]: row for row in csv.DictReader(io.StringIO(text))}
    assert set(rows) == {"Refused Person", "Unsure Person"}
    assert rows["Refused Person"]["Error code"] == "550"
    assert "Recipient address rejected" in rows["Refused Person"]["Error"]
    assert rows["Unsure Person"]["Status"] == "Delivery unknown"

    # The old link: a page saying why, with the HTTP status that says it is gone.
    response = page.goto(f"/admin/batchcomms/letters/download/{download.pk}/")
    assert response.status == 410
    expect(page.locator("[data-unavailable-message]")).to_contain_text(
        "3 of its 3 letters were never marked as mailed"
    )
    expect(page.locator("[data-rerequest-form]")).to_have_count(0)
    shots(page, "withdrawn-download")

    download.refresh_from_db()
    assert download.status == DownloadStatus.WITHDRAWN
    assert set(batch.communications.values_list("status", flat=True)) == {"failed", "unknown"}
    assert_clean(page)
