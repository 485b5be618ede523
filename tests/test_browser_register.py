"""The Assemblies listing in a real browser: AJAX filtering as an admin clicks it."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from browser import browser, login, page, shots  # noqa: F401  (fixtures)
from wagtail_batchcomms.models import Assembly

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_filter_assemblies_in_the_browser(page, shots):  # noqa: F811
    call_command("seed_demo", "--assemblies", "300", "--seed", "3", verbosity=0)
    login(page, "orgadmin", "orgadmin")
    page.goto("/admin/snippets/wagtail_batchcomms/assembly/")
    shots(page, "assemblies")
    expected = Assembly.objects.in_compliance_status("overdue").filter(
        location__property_type="commercial"
    )
    page.get_by_role("button", name="Show filters").click()
    page.get_by_label("Overdue").check()
    page.get_by_label("Commercial").check()
    page.wait_for_load_state("networkidle")
    rows = page.locator("table.listing tbody tr")
    rows.first.wait_for()
    shots(page, "assemblies-filtered")
    assert page.url.count("compliance=overdue") == 1
    assert "property_type=commercial" in page.url
    shown = min(expected.count(), 50)
    assert rows.count() == shown
    assert not page.js_errors
