"""A big file goes to a real qcluster: the dry run and the import run there, the page's
progress endpoint moves, and a second delivery of the import task changes nothing."""

from __future__ import annotations

import factories
import pytest
from django.conf import settings
from django.test import override_settings
from import_data import csv_bytes, row, upload
from workers import wait_until

from wagtail_batchcomms.imports import runs
from wagtail_batchcomms.models import Assembly, ImportRun, ImportStatus, Location

pytestmark = [pytest.mark.slow]


def _status(run) -> str:
    return ImportRun.objects.values_list("status", flat=True).get(pk=run.pk)


def test_a_big_file_is_checked_and_imported_by_workers(qcluster, tmp_path, monkeypatch):
    values = {"PRIVATE_ROOT": str(tmp_path / "private")}
    # A small "big" file: the inline limit lowered here only (the workers never read it).
    monkeypatch.setattr(runs, "INLINE_MAX_BYTES", 1000)
    rows = [row(account_number=f"A-{n // 3:04d}", serial_number=f"S-{n:05d}") for n in range(600)]
    user = factories.user("importer", superuser=True)
    cluster = qcluster(settings=values)
    with override_settings(WAGTAIL_BATCHCOMMS={**settings.WAGTAIL_BATCHCOMMS, **values}):
        run = runs.start_import(upload(csv_bytes(rows)), user)
        runs.request_check(run, user)
        assert _status(run) == ImportStatus.CHECKING, "queued, not run in the request"
        wait_until(lambda: _status(run) == ImportStatus.CHECKED, clusters=[cluster])
        run.refresh_from_db()
        assert run.results["rows"]["created"] == 600
        assert run.progress_done == run.progress_total == 600
        runs.request_import(run, user)
        wait_until(
            lambda: _status(run) in (ImportStatus.IMPORTED, ImportStatus.FAILED), clusters=[cluster]
        )
        run.refresh_from_db()
        assert run.status == ImportStatus.IMPORTED, run.error
        assert Assembly.objects.count() == 600 and Location.objects.count() == 200
        # Everything written was counted in the progress.
        assert run.progress_done == run.progress_total == 200 + 1 + 200 + 600

        # The task delivered again (django-q2 may): the run is done, nothing is doubled; and
        # an import interrupted after writing (status back to importing, "writing" kept) is
        # resumed by the next delivery without doubling either.
        ImportRun.objects.filter(pk=run.pk).update(
            status=ImportStatus.IMPORTING, results={**run.results, "writing": True}
        )
        cluster.async_task("wagtail_batchcomms.tasks.run_register_import", run.pk)
        wait_until(lambda: _status(run) == ImportStatus.IMPORTED, clusters=[cluster])
        assert Assembly.objects.count() == 600 and Location.objects.count() == 200
