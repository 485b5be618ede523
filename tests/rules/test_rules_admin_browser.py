"""The automatic notices clicked in a real browser: an org admin creates a type that holds
its notices for review, previews it, activates it, runs it now (a real qcluster worker), opens
the batch awaiting review, releases it, and the emails arrive at a loopback SMTP server."""

from __future__ import annotations

import re

import factories
import pytest
from browser import WORKER_TIMEOUT, assert_clean, header_action, login
from playwright.sync_api import expect
from rules_admin_data import due_locations
from workers import wait_until

from wagtail_batchcomms.demo.accounts import ORG_ADMINS, ensure_demo_groups
from wagtail_batchcomms.models import (
    Batch,
    BatchStatus,
    Channel,
    Communication,
    CommunicationStatus,
    CommunicationType,
    RuleRun,
    RuleRunStatus,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

TYPES = "/admin/snippets/wagtail_batchcomms/communicationtype/"
BATCH_PAGE = re.compile(r"/admin/batchcomms/batches/(\d+)/$")


def test_org_admin_runs_and_releases_held_notices(page, shots, qcluster, smtp_server):
    template = factories.notice_template(name="First notice letter")
    due_locations(3, due_in=20)  # 3 emails
    due_locations(1, due_in=20, email=False)  # 1 letter
    due_locations(2, due_in=90)  # not yet
    groups = ensure_demo_groups()
    olivia = factories.user("olivia")
    olivia.groups.add(groups[ORG_ADMINS])
    worker = qcluster(smtp_port=smtp_server.port)

    # --- create a type that holds its notices for review ---------------------------------
    login(page, "olivia", "password")
    page.goto(TYPES)
    page.get_by_role("link", name=re.compile("Add communication type")).first.click()
    page.fill("#id_name", "First notice")
    page.select_option("#id_template", label=template.name)
    page.select_option("#id_trigger", value="before_due")
    page.fill("#id_days", "30")
    page.select_option("#id_mode", value="review")
    # The Assemblies listing's own filter widget.
    page.locator("#id_scope-hazard").get_by_label("Health hazard", exact=True).check()
    shots(page, "type-form")
    page.get_by_role("button", name="Save").first.click()
    page.wait_for_url(re.compile(re.escape(TYPES) + r"(\?.*)?$"))
    ctype = CommunicationType.objects.get(name="First notice")
    assert ctype.scope == "hazard=health" and not ctype.active

    # --- preview the next run ------------------------------------------------------------
    page.goto(f"{TYPES}edit/{ctype.pk}/")
    expect(page.get_by_role("link", name="See these assemblies")).to_have_attribute(
        "href", re.compile(r"hazard=health")
    )
    header_action(page, "Preview next run").click()
    expect(page.locator('[data-count="assemblies"]')).to_have_text("4")
    expect(page.locator('[data-count="emails"]')).to_have_text("3")
    expect(page.locator('[data-count="letters"]')).to_have_text("1")
    shots(page, "preview")
    assert_clean(page)

    # --- activate it (held for review: no confirmation asked) ----------------------------
    page.get_by_role("link", name="Back to the type").click()
    page.locator("#id_active").check()
    page.get_by_role("button", name="Save").first.click()
    page.wait_for_url(re.compile(re.escape(TYPES) + r"(\?.*)?$"))
    ctype.refresh_from_db()
    assert ctype.active

    # --- run now: a real worker runs the day's notices -----------------------------------
    page.goto("/admin/batchcomms/automatic-runs/")
    page.get_by_role("link", name="Run now").click()
    page.locator("[data-run-now-confirm]").click()
    page.wait_for_url(re.compile(r"/admin/batchcomms/automatic-runs/$"))
    wait_until(
        lambda: (
            RuleRun.objects.filter(status=RuleRunStatus.FINISHED).exists()
            and Batch.objects.filter(
                communication_type=ctype, status=BatchStatus.GENERATED
            ).exists()
        ),
        timeout=WORKER_TIMEOUT / 1000,
        message="the run and its batch",
        clusters=[worker],
    )
    batch = Batch.objects.get(communication_type=ctype)
    assert batch.awaiting_review
    assert not smtp_server.messages  # held: nothing sent yet

    # --- review: the awaiting-review list, the batch page, Release emails ----------------
    page.goto("/admin/batchcomms/awaiting-review/")
    page.locator("[data-open-batch]").first.click()
    page.wait_for_url(BATCH_PAGE)
    expect(page.locator("[data-awaiting-review]")).to_be_visible()
    expect(page.locator("[data-automatic-notices]")).to_contain_text("First notice")
    shots(page, "awaiting-review")
    header_action(page, "Release emails").click()
    page.locator("[data-batch-confirm]").click()
    page.wait_for_url(BATCH_PAGE)
    wait_until(
        lambda: len(smtp_server.messages) == 3,
        timeout=WORKER_TIMEOUT / 1000,
        message="3 emails at the SMTP server",
        clusters=[worker],
    )
    batch.refresh_from_db()
    assert not batch.awaiting_review and batch.reviewed_by == olivia
    sent = Communication.objects.filter(
        batch=batch, channel=Channel.EMAIL, status=CommunicationStatus.SENT
    )
    wait_until(lambda: sent.count() == 3, timeout=30, message="3 sent", clusters=[worker])
    page.reload()
    shots(page, "released")
    assert_clean(page)
