"""In a real browser: filter the Assemblies listing, export XLSX above the threshold, watch
the export's page show its progress while a worker is busy, download the file and open it."""

from __future__ import annotations

import io

import factories
import openpyxl
import pytest
from browser import assert_clean, filter_listing, header_action, login
from workers import wait_until

from wagtail_batchcomms.models import ExportRun, ExportStatus

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_filter_export_xlsx_in_the_background_and_download(
    page, qcluster, app_settings, private_root
):
    app_settings(EXPORT_BACKGROUND_ROWS=5)
    for i in range(30):
        location = factories.location(account_number=f"RB-{i:04d}")
        factories.assembly(
            location,
            serial_number=f"S{i:04d}",
            hazard="non_health" if i % 3 == 0 else "health",
            placement="+SUM(1)" if i == 0 else "Basement",
        )
    factories.user("clerk", perms=[factories.ADMIN_ACCESS, "wagtail_batchcomms.view_assembly"])
    login(page, "clerk", "password")
    page.goto("/admin/snippets/wagtail_batchcomms/assembly/")
    filter_listing(page, "Hazard", "Non-health hazard")
    header_action(page, "Download XLSX").click()

    # No worker yet: the page says the export waits and shows its (empty) progress bar.
    page.wait_for_selector("[data-export-progress] progress")
    assert "10 rows as XLSX" in page.locator("[data-export-status]").inner_text()
    run = ExportRun.objects.get()
    assert run.status == ExportStatus.QUEUED and "hazard=non_health" in run.query_string

    cluster = qcluster(settings={"PRIVATE_ROOT": str(private_root)})
    wait_until(lambda: ExportRun.objects.get().status == ExportStatus.READY, clusters=[cluster])
    # The page polls its progress and shows the link once the file is written.
    link = page.locator("[data-export-download]")
    link.wait_for(timeout=20_000)
    with page.expect_download() as info:
        link.click()
    download = info.value
    assert download.suggested_filename == "assemblies.xlsx"
    sheet = openpyxl.load_workbook(io.BytesIO(download.path().read_bytes())).active
    header, *rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert sorted(row[0] for row in rows) == [f"S{i:04d}" for i in range(0, 30, 3)]
    assert {row[header.index("Hazard")] for row in rows} == {"Non-health hazard"}
    assert "'+SUM(1)" in [row[header.index("Placement")] for row in rows]

    page.goto("/admin/batchcomms/exports/")
    assert "ready" in page.locator("table.listing").inner_text().lower()
    assert_clean(page)
