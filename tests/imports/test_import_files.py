"""The uploaded file (and the dry run's stored plan) are removed once imported, or after
IMPORT_FILES_EXPIRY_DAYS for a run never imported; the run and its history stay."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone
from import_data import checked, imported, row
from wagtail.models import ModelLogEntry

from wagtail_batchcomms import jobs, tasks
from wagtail_batchcomms.exceptions import ImportFileError
from wagtail_batchcomms.imports import runs, stored
from wagtail_batchcomms.models import ImportRun, ImportStatus
from wagtail_batchcomms.storage import letter_storage

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _private(private_root):
    return private_root


def _files(run) -> list[bool]:
    storage = letter_storage()
    return [storage.exists(run.file), storage.exists(stored.plan_name(run.file))]


def test_an_imported_runs_file_goes_and_the_run_and_its_history_stay():
    run = checked([row()])
    assert _files(run) == [True, True]  # the upload and the dry run's plan
    runs.request_import(run, None)
    run.refresh_from_db()
    assert run.status == ImportStatus.IMPORTED
    assert stored.purge_files() == 1  # the next scheduled purge
    run.refresh_from_db()
    assert _files(run) == [False, False]
    assert run.file_removed_at is not None
    assert run.results["rows"]["created"] == 1  # the counts stay
    actions = set(ModelLogEntry.objects.for_instance(run).values_list("action", flat=True))
    assert {"wagtail_batchcomms.import_uploaded", "wagtail_batchcomms.import_done"} <= actions
    # Checking it again is refused with a clear message; nothing else changes.
    with pytest.raises(ImportFileError, match="was removed on"):
        runs.request_check(run, None)
    run.refresh_from_db()
    assert run.status == ImportStatus.IMPORTED


def test_abandoned_runs_lose_their_files_after_the_expiry_days():
    old = checked([row()])
    recent = checked([row(account_number="100-002", serial_number="SN-2")])
    busy = checked([row(account_number="100-003", serial_number="SN-3")])
    long_ago = timezone.now() - datetime.timedelta(days=8)
    ImportRun.objects.filter(pk__in=[old.pk, busy.pk]).update(created_at=long_ago)
    ImportRun.objects.filter(pk=busy.pk).update(status=ImportStatus.CHECKING)
    # The scheduled housekeeping purges; the busy run's worker is alive, so it is left alone.
    assert tasks.imports_housekeeping() == {"requeued": 0, "failed": 0, "purged": 1}
    for run in (old, recent, busy):
        run.refresh_from_db()
    assert _files(old) == [False, False] and old.file_removed_at is not None
    assert _files(recent) == [True, True] and recent.file_removed_at is None
    assert _files(busy) == [True, True] and busy.file_removed_at is None
    assert ImportRun.objects.count() == 3  # nothing attempted is deleted
    assert stored.purge_files() == 0  # done once
    assert stored.purge_files(days=0) == 1  # the recent one, with no days to wait


def test_the_page_says_when_the_file_was_removed(admin_client):
    run = imported([row()])
    stored.purge_files()
    page = admin_client.get(run.get_admin_url()).content.decode()
    assert "data-import-file-removed" in page
    assert "Dry run again" not in page


def test_the_purge_is_scheduled():
    func, minutes = jobs.SCHEDULES["wagtail_batchcomms: register import files"]
    assert func == "wagtail_batchcomms.tasks.imports_housekeeping"
    assert callable(tasks.imports_housekeeping) and minutes <= 10
