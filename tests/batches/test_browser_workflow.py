"""The org admin's whole workflow, clicked in a real browser.

From the filtered Assemblies listing to a completed batch, with a real ``qcluster`` worker
doing the background work (generation, sending, letter rendering) against the live server's
database, emails sent to a loopback SMTP server the test reads, and the letters PDF
downloaded through the browser and parsed back.
"""

from __future__ import annotations

import datetime
import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import generation_data
import pytest
from browser import (
    WORKER_TIMEOUT,
    assert_clean,
    close_filters,
    fill_date,
    filter_listing,
    header_action,
    login,
    seed_demo_with_logins,
)
from django.contrib.auth import get_user_model
from django.utils import timezone
from django.utils.formats import date_format
from letters_data import read_pdf, split_letters
from playwright.sync_api import expect
from workers import wait_until

from wagtail_batchcomms.models import (
    Assembly,
    Batch,
    BatchAssembly,
    BatchStatus,
    Channel,
    Communication,
    CommunicationStatus,
    LetterDownload,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

LISTING = "/admin/snippets/wagtail_batchcomms/assembly/"
BATCH_PAGE = re.compile(r"/admin/batchcomms/batches/(\d+)/$")
TEMPLATE = "Annual test reminder"


def batch_id_of(url: str) -> int:
    match = BATCH_PAGE.search(urlsplit(url).path)
    assert match, url
    return int(match[1])


def counts_row(page, channel: str):
    """The cells of one channel's row in the batch page's counts table:
    pending, sending, sent, failed, delivery unknown, total."""
    heading = page.locator("th", has_text=re.compile(rf"^\s*{channel}\s*$"))
    return page.locator("[data-batch-counts] tbody tr").filter(has=heading)


def expect_counts(page, channel: str, *, timeout: float = 5_000, **cells: int) -> None:
    columns = ["pending", "sending", "sent", "failed", "unknown", "total"]
    row = counts_row(page, channel)
    for name, value in cells.items():
        cell = row.locator("td").nth(columns.index(name))
        expect(cell).to_have_text(f"{value:,}", timeout=timeout)


def expect_state(page, status: str, *, timeout: float = 5_000) -> None:
    """The batch page shows ``status`` (it reloads itself while background work runs)."""
    expect(page.locator("[data-batch-page]")).to_have_attribute(
        "data-batch-status", status, timeout=timeout
    )


def test_org_admin_workflow_in_the_browser(page, shots, qcluster, smtp_server):
    seed_demo_with_logins(300, 3)
    orgadmin = get_user_model().objects.get(username="orgadmin")
    worker = qcluster(smtp_port=smtp_server.port)
    due = timezone.localdate() + datetime.timedelta(days=45)

    # --- filter the Assemblies listing (AJAX) ---------------------------------------------
    login(page, "orgadmin", "orgadmin")
    page.goto(LISTING)
    filter_listing(page, "Compliance status", "Overdue")
    filter_listing(page, "Property type", "Commercial")
    close_filters(page)
    shots(page, "assemblies-filtered")
    expected_assemblies = set(
        Assembly.objects.in_compliance_status("overdue")
        .filter(location__property_type="commercial")
        .values_list("pk", flat=True)
    )
    assert 5 <= len(expected_assemblies) < Assembly.objects.count()
    button = page.get_by_role("link", name="Add To Batch Communication", exact=True)
    filters = {"compliance": ["overdue"], "property_type": ["commercial"]}
    assert parse_qs(urlsplit(button.get_attribute("href")).query) == filters

    # --- Add To Batch Communication -------------------------------------------------------
    button.click()
    page.wait_for_url(re.compile(r"/admin/batchcomms/batches/new/\?"))
    expect(page.locator("[data-assembly-count]")).to_have_attribute(
        "data-assembly-count", str(len(expected_assemblies))
    )
    page.fill("#id_name", "Overdue commercial, browser")
    page.select_option("#id_template", label=TEMPLATE)
    fill_date(page, "#id_due_date", due.isoformat())
    shots(page, "add-to-batch", readme="add-to-batch")
    page.get_by_role("button", name="Create the batch").click()
    page.wait_for_url(BATCH_PAGE)
    batch = Batch.objects.get(pk=batch_id_of(page.url))
    assert batch.status == BatchStatus.OPEN
    assert batch.name == "Overdue commercial, browser"
    assert batch.template.name == TEMPLATE and batch.due_date == due
    assert parse_qs(batch.filter_query) == filters
    members = set(BatchAssembly.objects.filter(batch=batch).values_list("assembly_id", flat=True))
    assert members == expected_assemblies
    expect_state(page, BatchStatus.OPEN)
    shots(page, "batch-open")

    # --- generate: the confirm page's dry run, then the worker ----------------------------
    expected_rows, expected_skipped = generation_data.expected(batch, batch.template)
    expected_channels = generation_data.count_channels(expected_rows)
    assert expected_channels["email"] and expected_channels["letter"], "seed_demo changed"
    header_action(page, "Generate").click()
    page.wait_for_url(re.compile(r"/generate/$"))
    preview = page.locator("[data-generation-preview]")
    expect(preview.locator("[data-count=assemblies]")).to_have_text(str(len(members)))
    expect(preview.locator("[data-count=emails]")).to_have_text(str(expected_channels["email"]))
    expect(preview.locator("[data-count=letters]")).to_have_text(str(expected_channels["letter"]))
    expect(preview.locator("[data-count=skipped]")).to_have_text(str(len(expected_skipped)))
    shots(page, "generate-confirm", readme="generate-confirm")
    page.get_by_role("button", name="Generate the notices").click()
    page.wait_for_url(BATCH_PAGE)
    shots(page, "batch-generating")
    # The page polls and reloads itself: no reload by the test.
    expect_state(page, BatchStatus.GENERATED, timeout=WORKER_TIMEOUT)
    batch.refresh_from_db()
    assert batch.status == BatchStatus.GENERATED
    assert generation_data.actual(batch) == (expected_rows, expected_skipped)
    emails = Communication.objects.filter(batch=batch, channel=Channel.EMAIL)
    letters = Communication.objects.filter(batch=batch, channel=Channel.LETTER)
    n_emails, n_letters = emails.count(), letters.count()
    total = Communication.objects.filter(batch=batch).count()
    assert (n_emails, n_letters) == (expected_channels["email"], expected_channels["letter"])
    expect_counts(page, "Email", pending=n_emails, sent=0, total=n_emails)
    expect_counts(page, "Letter", pending=n_letters, sent=0, total=n_letters)
    expect_counts(page, "Total", total=total)
    shots(page, "batch-generated", readme="batch-generated")

    # --- send the emails (to the loopback SMTP server) ------------------------------------
    header_action(page, "Send emails").click()
    page.wait_for_url(re.compile(r"/send/$"))
    expect(page.get_by_text(f"{n_emails} emails will be sent")).to_be_visible()
    shots(page, "send-confirm")
    page.get_by_role("button", name="Send the emails").click()
    page.wait_for_url(BATCH_PAGE)
    expect_state(page, BatchStatus.PARTIALLY_SENT, timeout=WORKER_TIMEOUT)
    expect_counts(page, "Email", pending=0, sending=0, sent=n_emails, timeout=WORKER_TIMEOUT)
    expect_counts(page, "Letter", pending=n_letters, sent=0)
    shots(page, "batch-partially-sent", readme="batch-partially-sent")
    assert set(emails.values_list("status", flat=True)) == {CommunicationStatus.SENT}
    received = smtp_server.messages
    by_id = {c.message_id: c for c in emails}
    # Each email exactly once, to its recipient, with the subject kept as the record.
    assert sorted(m.message_id for m in received) == sorted(by_id)
    for message in received:
        communication = by_id[message.message_id]
        assert message.rcpt_tos == [communication.email]
        assert message.message["Subject"] == communication.subject
        assert communication.subject.startswith("Backflow test due by")

    # --- the letters: rendered by the worker, downloaded by clicking ----------------------
    header_action(page, "Download letters").click()
    page.wait_for_url(re.compile(r"/download-letters/$"))
    shots(page, "letters-confirm")
    page.get_by_role("button", name="Prepare the letters PDF").click()
    page.wait_for_url(BATCH_PAGE)
    link = page.get_by_role("link", name="Download PDF")
    link.wait_for(timeout=WORKER_TIMEOUT)
    shots(
        page, "letters-ready", focus=page.locator("[data-letter-downloads]"), readme="letters-ready"
    )
    download = LetterDownload.objects.get(batch=batch)
    assert download.expires_at - timezone.now() > datetime.timedelta(days=6)
    expires = date_format(timezone.localtime(download.expires_at), "DATETIME_FORMAT")
    expect(page.locator("[data-letter-downloads] [data-expires]")).to_have_text(expires)
    with page.expect_download() as download_info:
        link.click()
    pdf = Path(download_info.value.path()).read_bytes()
    assert pdf.startswith(b"%PDF")
    printed = split_letters(read_pdf(pdf))
    assert len(printed) == n_letters
    texts = ["\n".join(pages) for pages in printed]
    for letter in letters:
        address = [letter.recipient_name, letter.address_line1, letter.postal_code]
        matching = [text for text in texts if all(part in text for part in address)]
        assert len(matching) == 1, (address, texts)

    # --- mark the letters as mailed, complete ---------------------------------------------
    header_action(page, "Mark letters as mailed").click()
    page.wait_for_url(re.compile(r"/mark-mailed/$"))
    shots(page, "mark-mailed-confirm")
    page.get_by_role("button", name="Mark them as mailed").click()
    page.wait_for_url(BATCH_PAGE)
    expect(page.get_by_text(f"{n_letters} letters recorded as mailed.")).to_be_visible()
    expect_counts(page, "Letter", pending=0, sent=n_letters)
    assert set(letters.values_list("status", "sent_by")) == {
        (CommunicationStatus.SENT, orgadmin.pk)
    }

    header_action(page, "Complete").click()
    page.wait_for_url(re.compile(r"/complete/$"))
    page.get_by_role("button", name="Yes, complete it").click()
    page.wait_for_url(BATCH_PAGE)
    expect_state(page, BatchStatus.COMPLETE)
    expect(page.get_by_text("is complete.")).to_be_visible()
    shots(page, "batch-complete", full_page=True, readme="batch-complete")
    batch.refresh_from_db()
    assert batch.status == BatchStatus.COMPLETE
    # Everything was sent, so completing removed nothing: the record stays.
    assert Communication.objects.filter(batch=batch).count() == total

    # --- clone the completed batch, archive the clone -------------------------------------
    header_action(page, "Clone").click()
    page.wait_for_url(re.compile(r"/clone/$"))
    expect(page.locator("#id_name")).to_have_value(f"{batch.name} (copy)")
    page.get_by_role("button", name="Clone", exact=True).click()
    page.wait_for_url(lambda url: BATCH_PAGE.search(url) and batch_id_of(url) != batch.pk)
    clone = Batch.objects.get(pk=batch_id_of(page.url))
    expect_state(page, BatchStatus.OPEN)
    shots(page, "batch-cloned")
    assert clone.cloned_from_id == batch.pk and clone.status == BatchStatus.OPEN
    assert (clone.template_id, clone.due_date) == (batch.template_id, batch.due_date)
    clone_members = BatchAssembly.objects.filter(batch=clone).values_list("assembly_id", flat=True)
    assert set(clone_members) == expected_assemblies
    assert not Communication.objects.filter(batch=clone).exists()

    header_action(page, "Archive").click()
    page.wait_for_url(re.compile(r"/archive/$"))
    page.get_by_role("button", name="Yes, archive it").click()
    page.wait_for_url(BATCH_PAGE)
    expect_state(page, BatchStatus.ARCHIVED)
    shots(page, "clone-archived")
    clone.refresh_from_db()
    batch.refresh_from_db()
    assert clone.status == BatchStatus.ARCHIVED
    assert batch.status == BatchStatus.COMPLETE

    # Nothing more was sent while the test clicked on, and the worker is still alive.
    wait_until(lambda: worker.alive, timeout=1, clusters=[worker])
    assert len(smtp_server.messages) == n_emails
    assert_clean(page)
