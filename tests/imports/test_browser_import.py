"""The import in a real browser: upload, map, dry run, import."""

from __future__ import annotations

import factories
import pytest
from browser import assert_clean, login
from import_data import csv_bytes, row

from wagtail_batchcomms.models import Assembly

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_upload_dry_run_and_import(page, tmp_path, private_root):
    # Not a superuser: Wagtail's dashboard would fetch its upgrade notice from the internet.
    factories.user(
        "importer", perms=[factories.ADMIN_ACCESS, "wagtail_batchcomms.import_importrun"]
    )
    path = tmp_path / "register.csv"
    path.write_bytes(
        csv_bytes([row(), row(serial_number="SN-2"), row(serial_number="S3", size="9")])
    )
    login(page, "importer", "password")
    page.goto("/admin/batchcomms/imports/")
    page.get_by_role("link", name="Import a file").first.click()
    page.set_input_files("input[name=file]", str(path))
    page.get_by_role("button", name="Upload and map columns").click()
    page.wait_for_selector("[data-import-mapping]")
    assert page.locator("select[name=serial_number]").input_value() == "serial_number"
    page.get_by_role("button", name="Dry run").click()
    page.wait_for_selector("[data-import-counts]")
    counts = page.locator("[data-import-counts] tbody tr").first.inner_text()
    assert "2" in counts and "1" in counts
    assert "is not an assembly size" in page.locator("[data-import-errors]").inner_text()
    assert Assembly.objects.count() == 0
    page.locator("[data-import-button]").click()
    page.wait_for_selector('[data-import-status="imported"]')
    assert Assembly.objects.count() == 2
    assert_clean(page)
