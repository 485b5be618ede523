"""The Assemblies listing in a real browser: AJAX filtering, the header button that follows it,
and the bulk action whose "select all N in listing" keeps the filters."""

from __future__ import annotations

import datetime
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from browser import (
    assert_clean,
    close_filters,
    fill_date,
    filter_listing,
    login,
    seed_demo_with_logins,
)
from playwright.sync_api import expect

from wagtail_batchcomms.models import Assembly, Batch, BatchAssembly, BatchStatus

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LISTING = "/admin/snippets/wagtail_batchcomms/assembly/"


@pytest.fixture
def register(transactional_db):
    seed_demo_with_logins(300, 3)


def query_of(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


def test_filter_assemblies_in_the_browser(register, page, shots):
    login(page, "orgadmin", "orgadmin")
    page.goto(LISTING)
    shots(page, "assemblies")
    button = page.get_by_role("link", name="Add To Batch Communication", exact=True)
    assert urlsplit(button.get_attribute("href")).query == ""
    page.evaluate("window.stillTheSameDocument = true")

    filter_listing(page, "Compliance status", "Overdue")
    filter_listing(page, "Property type", "Commercial")
    close_filters(page)
    shots(page, "assemblies-filtered", readme="assemblies-filtered")

    expected = Assembly.objects.in_compliance_status("overdue").filter(
        location__property_type="commercial"
    )
    assert 0 < expected.count() < 50, "seed_demo changed: pick other filters"
    # Filtered through AJAX: the document was never reloaded, only its URL updated.
    assert page.evaluate("window.stillTheSameDocument") is True
    assert query_of(page.url) == {"compliance": ["overdue"], "property_type": ["commercial"]}
    expect(page.get_by_text(f"There are {expected.count()} matches")).to_be_visible()
    rows = page.locator("table.listing tbody tr")
    assert rows.count() == expected.count()
    listed = page.locator("table.listing tbody").inner_text()
    assert all(serial in listed for serial in expected.values_list("serial_number", flat=True))
    # The header button was re-rendered with the results and carries the filters.
    href = button.get_attribute("href")
    assert href.startswith("/admin/batchcomms/batches/new/?")
    assert query_of(href) == {"compliance": ["overdue"], "property_type": ["commercial"]}
    assert_clean(page)


def test_select_all_in_listing_keeps_the_filters(register, page, shots):
    login(page, "orgadmin", "orgadmin")
    page.goto(LISTING)
    filter_listing(page, "Hazard", "Non-health hazard")
    filter_listing(page, "Assembly status", "Active")
    close_filters(page)
    expected = set(
        Assembly.objects.filter(hazard="non_health", status="active").values_list("pk", flat=True)
    )
    # More than one page: "select all N in listing" is what takes the rest, and Wagtail's
    # own version would take every assembly in the register.
    assert len(expected) > 50 and len(expected) < Assembly.objects.count()

    page.locator("thead input[type=checkbox]").check()
    page.get_by_role("button", name=re.compile(r"Select all .* in listing")).click()
    expect(page.get_by_text("All snippets in listing selected.")).to_be_visible()
    shots(page, "all-in-listing-selected")
    page.get_by_role(
        "link", name="Add the selected assemblies to a batch communication", exact=True
    ).click()
    page.wait_for_url(re.compile(r"/bulk/wagtail_batchcomms/assembly/add_to_batch/"))
    params = query_of(page.url)
    assert params["id"] == ["all"]
    assert params["hazard"] == ["non_health"] and params["status"] == ["active"]
    expect(page.get_by_text(f"{len(expected)} assemblies selected")).to_be_visible()
    shots(page, "bulk-add-to-batch", full_page=True, readme="bulk-select-all")

    page.get_by_label("A new batch communication").check()
    page.fill("#id_name", "Non-health, active")
    page.select_option("#id_template", label="Annual test reminder")
    fill_date(page, "#id_due_date", (datetime.date.today() + datetime.timedelta(30)).isoformat())
    page.get_by_role("button", name="Add", exact=True).click()
    page.wait_for_url(re.compile(r"/admin/batchcomms/batches/\d+/$"))
    shots(page, "bulk-batch-created")

    # The demo also seeded its automatic notices' batches: this is the one made here.
    batch = Batch.objects.get(communication_type__isnull=True)
    assert batch.status == BatchStatus.OPEN and batch.name == "Non-health, active"
    members = set(BatchAssembly.objects.filter(batch=batch).values_list("assembly_id", flat=True))
    assert members == expected
    assert f"/batches/{batch.pk}/" in page.url
    expect(page.get_by_text(f"created with {len(expected)} assemblies")).to_be_visible()
    assert_clean(page)
