"""Create Log in a real browser, as an org admin works: from an assembly's page, record a phone
call, then send an email now from free text (a real ``qcluster`` worker and SMTP server); both
appear on the assembly's page and in the Communication Log, the email as sent."""

from __future__ import annotations

import re

import logs_data
import pytest
from batch_admin_data import org_admin
from browser import WORKER_TIMEOUT, assert_clean, header_action, login
from playwright.sync_api import expect
from workers import wait_until

from wagtail_batchcomms.models import Communication, CommunicationStatus

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_org_admin_records_a_call_and_sends_an_email_from_an_assembly(
    page, shots, qcluster, smtp_server
):
    site = logs_data.site()
    org_admin("orgadmin", extra=["wagtail_batchcomms.log_communication"])
    qcluster(smtp_port=smtp_server.port)
    inspect = f"/admin/snippets/wagtail_batchcomms/assembly/inspect/{site.assembly.pk}/"

    login(page, "orgadmin", "password")
    page.goto(inspect)
    header_action(page, "Create Log").click()
    page.wait_for_url(re.compile(r"/admin/batchcomms/logs/new/assembly/\d+/$"))
    shots(page, "create-log-form")

    # A phone call with the owner (the default kind), about this assembly.
    page.get_by_label("Contact").select_option(label="Olive Owner")
    page.get_by_label("Subject").fill("Called about the overdue test")
    page.get_by_label("Notes").fill("Spoke to Olive; the tester comes on Friday.")
    page.get_by_label("Outcome").fill("Test booked")
    page.locator("[data-create-log-submit]").click()
    page.wait_for_url(re.compile(re.escape(inspect) + "$"))
    expect(page.locator(".messages")).to_contain_text("Phone call with Olive Owner recorded")
    expect(page.locator("[data-object-communications]")).to_contain_text(
        "Called about the overdue test"
    )

    # An email now, written here.
    header_action(page, "Create Log").click()
    page.get_by_label("Email", exact=True).check()
    page.get_by_label("Contact").select_option(label="Olive Owner")
    page.get_by_label("Subject").fill("Your backflow test")
    page.get_by_label("Send the email or make the letter now").check()
    page.get_by_label("Message").fill("Dear Olive,\n\nThank you for booking the test.")
    shots(page, "create-log-email-now")
    page.locator("[data-create-log-submit]").click()
    page.wait_for_url(re.compile(re.escape(inspect) + "$"))
    expect(page.locator(".messages")).to_contain_text("the email is queued")

    email = Communication.objects.get(kind="email")
    # Its page, straight away: while the email is queued it says so and refreshes itself, so
    # the outcome appears without a reload by the admin.
    page.goto(f"/admin/batchcomms/communications/inspect/{email.pk}/")
    expect(page.locator("#communication-details-content .w-status")).to_have_text(
        "Sent", timeout=WORKER_TIMEOUT
    )
    expect(page.locator("[data-email-waiting]")).to_have_count(0)
    smtp_server.wait_for(1, timeout=WORKER_TIMEOUT / 1000)
    message = smtp_server.by_recipient(site.owner.email)[0].message
    assert message["Subject"] == "Your backflow test"
    assert "Thank you for booking the test." in message.get_body(("plain",)).get_content()

    # The worker writes the outcome right after the server's answer.
    wait_until(
        lambda: Communication.objects.filter(pk=email.pk, status=CommunicationStatus.SENT).exists(),
        message="the email's outcome was not recorded",
    )
    page.goto(f"/admin/batchcomms/communications/inspect/{email.pk}/")
    expect(page.locator("[data-email-waiting]")).to_have_count(0)
    expect(page.locator("#communication-details-content .w-status")).to_have_text("Sent")
    expect(page.locator("#communication-message-content")).to_contain_text(
        "Thank you for booking the test."
    )

    page.goto("/admin/batchcomms/communications/")
    table = page.locator("table.listing")
    expect(table).to_contain_text("Logged: Phone call by orgadmin")
    expect(table).to_contain_text("Logged: Email by orgadmin")
    expect(table).to_contain_text("Test booked")
    shots(page, "communication-log-with-logs")

    page.goto(inspect)
    section = page.locator("[data-object-communications]")
    expect(section).to_contain_text("Your backflow test")
    expect(section).to_contain_text("Called about the overdue test")
    assert_clean(page)
