"""Users without a permission, in a real browser: they see no button for it, and typing or
posting its URL is refused with Wagtail's "permission denied" page, changing nothing."""

from __future__ import annotations

import re

import batch_admin_data as data
import factories
import pytest
from browser import (
    assert_clean,
    header_action_names,
    login,
    post_from_browser,
    seed_demo_with_logins,
)
from django.contrib.auth import get_user_model
from django.urls import reverse
from django_q.models import OrmQ
from playwright.sync_api import expect

from wagtail_batchcomms.models import (
    Assembly,
    Batch,
    BatchStatus,
    Communication,
    CommunicationStatus,
    NoticeTemplate,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DENIED = "Sorry, you do not have permission to access this area."
#: Every action URL of the batch page (URL names of the batch viewset).
ACTIONS = ["generate", "regenerate", "send", "retry", "download_letters", "mark_mailed"]
ACTIONS += ["complete", "archive", "clone", "edit", "delete"]
DASHBOARD = re.compile(r"/admin/$")


@pytest.fixture
def generated_batch(transactional_db):
    """seed_demo's register and logins, and a Generated batch made by the demo org admin."""
    seed_demo_with_logins(60, 5)
    orgadmin = get_user_model().objects.get(username="orgadmin")
    batch = data.make_batch(
        orgadmin,
        template=NoticeTemplate.objects.get(name="Annual test reminder"),
        assemblies=Assembly.objects.filter(status="active")[:20],
        name="Spring reminders",
    )
    batch = data.generate(batch, orgadmin)
    assert batch.status == BatchStatus.GENERATED
    assert batch.communications.filter(status=CommunicationStatus.PENDING).exists()
    OrmQ.objects.all().delete()  # the generation task start_generation queued (run above)
    return batch


def snapshot(batch: Batch):
    batch.refresh_from_db()
    return (
        batch.status,
        batch.name,
        Batch.objects.count(),
        sorted(Communication.objects.values_list("pk", "status")),
        OrmQ.objects.count(),
    )


def action_url(batch: Batch, action: str) -> str:
    return reverse(f"wagtail_batchcomms_batch:{action}", args=[batch.pk])


def expect_denied(page) -> None:
    expect(page).to_have_url(DASHBOARD)
    expect(page.locator(".messages")).to_contain_text(DENIED)


def test_view_only_user_sees_no_actions_and_is_refused_by_url(
    generated_batch,
    page,
    shots,
):
    batch = generated_batch
    factories.user(
        "viewer",
        perms=[
            "wagtailadmin.access_admin",
            "wagtail_batchcomms.view_batch",
            "wagtail_batchcomms.view_communication",
            "wagtail_batchcomms.view_assembly",
        ],
    )
    before = snapshot(batch)
    login(page, "viewer", "password")
    page.goto(reverse("wagtail_batchcomms_batch:detail", args=[batch.pk]))
    expect(page.locator("[data-batch-page]")).to_have_attribute("data-batch-status", "generated")
    shots(page, "batch-page-view-only", readme="batch-view-only")
    # The page shows the batch (its counts), and offers no action at all.
    expect(page.locator("[data-batch-counts]")).to_be_visible()
    assert set(header_action_names(page)) <= {"History"}
    # The Assemblies listing offers no Add To Batch Communication.
    page.goto(reverse("wagtailsnippets_wagtail_batchcomms_assembly:list"))
    expect(page.get_by_role("link", name="Add To Batch Communication")).to_have_count(0)
    shots(page, "assemblies-view-only")

    # Typing an action's URL: Wagtail's "permission denied".
    page.goto(action_url(batch, "send"))
    expect_denied(page)
    shots(page, "send-url-refused")
    # Posting to every action URL (as a crafted form would): refused, nothing changes.
    page.goto(reverse("wagtail_batchcomms_batch:detail", args=[batch.pk]))
    for action in ACTIONS:
        post_from_browser(page, action_url(batch, action), {"name": "Hijacked"})
        expect_denied(page)
        assert snapshot(batch) == before, action
    shots(page, "post-refused")
    add_url = reverse("wagtail_batchcomms_batch:add") + "?hazard=health"
    post_from_browser(page, add_url, {"name": "Hijacked", "due_date": "2030-01-01"})
    expect_denied(page)
    assert snapshot(batch) == before
    assert_clean(page)


def test_editor_sees_no_batch_actions_and_is_refused_by_url(generated_batch, page, shots):
    batch = generated_batch
    before = snapshot(batch)
    login(page, "editor", "editor")  # seed_demo's notice template editor
    page.goto(reverse("wagtailsnippets_wagtail_batchcomms_assembly:list"))
    expect(page.locator("table.listing tbody tr").first).to_be_visible()
    expect(page.get_by_role("link", name="Add To Batch Communication")).to_have_count(0)
    shots(page, "assemblies-editor")
    # Wagtail lists every registered bulk action whatever the user's permissions (its own
    # "Delete" too), so the footer's button is there; using it is refused.
    page.locator("table.listing tbody input[type=checkbox]").first.check()
    bulk_button = "Add the selected assemblies to a batch communication"
    page.get_by_role("link", name=bulk_button).click()
    expect_denied(page)

    page.get_by_role("button", name="Communications").click()
    menu = page.locator("#wagtail-sidebar-submenu-batchcomms-communications, nav")
    expect(menu.get_by_role("link", name="Notice templates")).to_be_visible()
    expect(page.get_by_role("link", name="Batch communications")).to_have_count(0)
    shots(page, "sidebar-editor")

    page.goto(reverse("wagtail_batchcomms_batch:detail", args=[batch.pk]))
    expect_denied(page)
    shots(page, "batch-page-refused")
    for action in ("generate", "send", "complete", "archive", "clone"):
        post_from_browser(page, action_url(batch, action))
        expect_denied(page)
    bulk = reverse("wagtail_bulk_action", args=["wagtail_batchcomms", "assembly", "add_to_batch"])
    post_from_browser(page, f"{bulk}?id=all", {"target": "new", "name": "Hijacked"})
    expect_denied(page)
    assert snapshot(batch) == before
    assert_clean(page)


def test_org_admin_follows_the_template_and_revision_links_to_read_only_pages(
    generated_batch, page, shots
):
    """The demo org admin may view notice templates, not edit them: the batch page's links
    lead to the template's inspect view and the pinned revision's preview, never to
    "Sorry, you do not have permission"."""
    batch = generated_batch
    login(page, "orgadmin", "orgadmin")
    page.goto(reverse("wagtail_batchcomms_batch:detail", args=[batch.pk]))
    page.get_by_role("link", name="Annual test reminder").click()
    expect(page).to_have_url(re.compile(r"/noticetemplate/inspect/\d+/$"))
    expect(page.locator(".messages")).not_to_contain_text(DENIED)
    expect(page.locator("main")).to_contain_text("Grouping")
    expect(page.get_by_role("link", name="Edit")).to_have_count(0)
    shots(page, "template-inspect-orgadmin")

    page.goto(reverse("wagtail_batchcomms_batch:detail", args=[batch.pk]))
    with page.expect_popup() as popup:
        page.locator("[data-revision-link]").click()
    preview = popup.value
    preview.wait_for_load_state()
    assert "/revisions/" in preview.url
    expect(preview.locator("body")).not_to_contain_text(DENIED)
    expect(preview.locator("body")).to_contain_text("Dear")
    assert_clean(page)
