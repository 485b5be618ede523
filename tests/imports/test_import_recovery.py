"""A register import whose task was lost, or whose worker died, is queued again by the
scheduled housekeeping and completes, writing each row once; a run just requested or with a
live worker is left alone; a task delivered twice claims the run once. The tasks run here
(``test_import_workers`` runs them on a real qcluster)."""

from __future__ import annotations

import datetime

import pytest
from concurrency import run_at_once
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from import_data import checked, housekeeping, owned_rows, requeued, row
from wagtail.models import ModelLogEntry

from wagtail_batchcomms import history, tasks
from wagtail_batchcomms.imports import recovery, runs, stored
from wagtail_batchcomms.imports.applying import apply_writes
from wagtail_batchcomms.models import (
    Assembly,
    Contact,
    ImportRun,
    ImportStatus,
    Location,
    LocationContact,
)

LONG_AGO = datetime.timedelta(hours=1)


@pytest.fixture(autouse=True)
def _private(private_root):
    return private_root


def _checked(rows: list[dict]) -> ImportRun:
    """Uploaded, and its dry run done by its task."""
    run = checked(rows)
    assert tasks.check_register_import(run.pk) == "checked"
    run.refresh_from_db()
    return run


def _register() -> tuple[int, int, int, int]:
    return (
        Location.objects.count(),
        Contact.objects.count(),
        LocationContact.objects.count(),
        Assembly.objects.count(),
    )


def _page(client, run) -> str:
    return client.get(run.get_admin_url()).content.decode()


class WorkerDied(Exception):
    pass


def _dies_after(chunks: int):
    """A progress callback that stops the writing after ``chunks`` committed chunks."""
    seen = []

    def progress(done: int) -> None:
        seen.append(done)
        if len(seen) == chunks:
            raise WorkerDied

    return progress


@pytest.mark.django_db
def test_an_import_whose_task_was_lost_is_queued_again_and_writes_each_row_once(
    admin_client, queued, django_capture_on_commit_callbacks
):
    run = _checked(owned_rows())
    dry_run = run.results
    runs.request_import(run, None)
    run.refresh_from_db()
    assert run.status == ImportStatus.IMPORTING and run.claimed_at is None
    assert "data-import-waiting" in _page(admin_client, run)

    # Just requested: its task may still be on its way.
    assert housekeeping(django_capture_on_commit_callbacks) == (
        {"requeued": 0, "failed": 0, "purged": 0},
        [],
    )
    # Still waiting half an hour later: the task was lost (the lock is still held).
    ImportRun.objects.filter(pk=run.pk).update(requested_at=timezone.now() - LONG_AGO)
    assert housekeeping(django_capture_on_commit_callbacks) == (
        {"requeued": 1, "failed": 0, "purged": 0},
        [("wagtail_batchcomms.tasks.run_register_import", [run.pk])],
    )
    assert requeued(run) == [{"step": "importing", "reason": "lost"}]
    run.refresh_from_db()
    assert timezone.now() - run.requested_at < datetime.timedelta(minutes=1)
    history_page = admin_client.get(reverse("wagtail_batchcomms_import:history", args=[run.pk]))
    assert "No worker started the import (its task was lost); queued again" in (
        history_page.content.decode()
    )
    # Queued again once: the next housekeeping waits for the task it queued.
    assert housekeeping(django_capture_on_commit_callbacks)[0]["requeued"] == 0

    assert tasks.run_register_import(run.pk) == "imported"
    assert _register() == (10, 10, 10, 30)
    # The lost task turning up after all, or queued twice: nothing more is written.
    assert tasks.run_register_import(run.pk).startswith("not claimed")
    assert _register() == (10, 10, 10, 30)
    run.refresh_from_db()
    assert run.status == ImportStatus.IMPORTED and run.results == dry_run
    assert ModelLogEntry.objects.filter(action=history.IMPORT_DONE).count() == 1
    assert housekeeping(django_capture_on_commit_callbacks)[0]["requeued"] == 0


@pytest.mark.django_db
def test_a_dry_run_whose_task_was_lost_is_queued_again(
    admin_client, queued, django_capture_on_commit_callbacks
):
    run = checked(owned_rows())
    assert run.status == ImportStatus.CHECKING
    ImportRun.objects.filter(pk=run.pk).update(requested_at=timezone.now() - LONG_AGO)
    assert housekeeping(django_capture_on_commit_callbacks) == (
        {"requeued": 1, "failed": 0, "purged": 0},
        [("wagtail_batchcomms.tasks.check_register_import", [run.pk])],
    )
    assert requeued(run) == [{"step": "checking", "reason": "lost"}]
    assert tasks.check_register_import(run.pk) == "checked"
    assert tasks.check_register_import(run.pk).startswith("not claimed")
    run.refresh_from_db()
    assert run.status == ImportStatus.CHECKED and run.results["rows"]["created"] == 30
    assert _register() == (0, 0, 0, 0)


@pytest.mark.django_db
def test_an_import_whose_worker_died_is_resumed_with_the_right_counts(
    admin_client, queued, django_capture_on_commit_callbacks
):
    run = _checked(owned_rows())
    dry_run = run.results
    runs.request_import(run, None)
    # A worker took it, wrote the locations and the contacts (each chunk committed), died.
    assert recovery.claim(run.pk, ImportStatus.IMPORTING, "dead-host:1:abc")
    writes, _keys = stored.load(run.file)
    ImportRun.objects.filter(pk=run.pk).update(
        results={**dry_run, "writing": True}, progress_total=writes.total
    )
    with pytest.raises(WorkerDied):
        apply_writes(writes, _dies_after(2))
    assert _register() == (10, 10, 0, 0)

    # While its heartbeat is fresh, another delivery of the task leaves it to that worker.
    assert tasks.run_register_import(run.pk).startswith("not claimed")
    assert housekeeping(django_capture_on_commit_callbacks)[0]["requeued"] == 0
    page = _page(admin_client, run)
    assert "data-import-stopped" not in page and "data-import-waiting" not in page

    # No heartbeat for STALE_AFTER: the page says so, and the housekeeping queues it again.
    last_beat = timezone.now() - datetime.timedelta(seconds=recovery.STALE_AFTER + 60)
    ImportRun.objects.filter(pk=run.pk).update(claimed_at=last_beat)
    page = _page(admin_client, run)
    assert "data-import-stopped" in page and "No progress since" in page
    assert housekeeping(django_capture_on_commit_callbacks) == (
        {"requeued": 1, "failed": 0, "purged": 0},
        [("wagtail_batchcomms.tasks.run_register_import", [run.pk])],
    )
    assert requeued(run) == [{"step": "importing", "reason": "stopped"}]
    run.refresh_from_db()
    assert (run.claimed_by, run.claimed_at) == ("", None)
    assert "data-import-waiting" in _page(admin_client, run)

    assert tasks.run_register_import(run.pk) == "imported"
    # Each location and contact once, and what was left written.
    assert _register() == (10, 10, 10, 30)
    assert Contact.objects.values("email").distinct().count() == 10
    run.refresh_from_db()
    assert run.status == ImportStatus.IMPORTED and run.results == dry_run
    assert run.progress_done == run.progress_total
    assert tasks.run_register_import(run.pk).startswith("not claimed")
    assert _register() == (10, 10, 10, 30)
    # The lock is released: the next import writes.
    other = _checked([row(account_number="B-001", serial_number="T-001")])
    runs.request_import(other, None)
    assert tasks.run_register_import(other.pk) == "imported"
    assert Assembly.objects.count() == 31


@pytest.mark.django_db
def test_a_run_left_busy_before_its_request_time_was_recorded_is_queued_again(
    queued, django_capture_on_commit_callbacks
):
    run = checked(owned_rows())
    ImportRun.objects.filter(pk=run.pk).update(requested_at=None)
    assert housekeeping(django_capture_on_commit_callbacks)[0]["requeued"] == 1
    assert tasks.check_register_import(run.pk) == "checked"


@pytest.mark.django_db(transaction=True)
def test_two_deliveries_at_once_claim_the_run_once(monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("concurrent deliveries race on PostgreSQL (DATABASE_URL=postgres://...)")
    monkeypatch.setattr(runs, "INLINE_MAX_BYTES", 0)
    run = checked(owned_rows())
    results = run_at_once(2, lambda: tasks.check_register_import(run.pk))
    assert sorted(result.split(" (")[0] for result in results) == ["checked", "not claimed"]
    runs.request_import(ImportRun.objects.get(pk=run.pk), None)
    results = run_at_once(2, lambda: tasks.run_register_import(run.pk))
    assert sorted(result.split(" (")[0] for result in results) == ["imported", "not claimed"]
    assert _register() == (10, 10, 10, 30)
    assert ModelLogEntry.objects.filter(action=history.IMPORT_CHECKED).count() == 1
    assert ModelLogEntry.objects.filter(action=history.IMPORT_DONE).count() == 1
