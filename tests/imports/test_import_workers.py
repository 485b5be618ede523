"""A big file goes to a real qcluster: the dry run and the import run there, the page's
progress endpoint moves, and a second delivery of the import task changes nothing. An import
whose worker died, or whose task the broker lost, is queued again by the housekeeping and a
worker completes it, writing each row once."""

from __future__ import annotations

from datetime import timedelta

import factories
import pytest
from django.conf import settings
from django.test import override_settings
from django.utils import timezone
from django_q.models import OrmQ, Task
from import_data import checked, csv_bytes, row, upload
from wagtail.models import ModelLogEntry
from workers import wait_until

from wagtail_batchcomms import history
from wagtail_batchcomms.imports import recovery, runs
from wagtail_batchcomms.models import Assembly, ImportRun, ImportStatus, Location

pytestmark = [pytest.mark.slow]


def _status(run) -> str:
    return ImportRun.objects.values_list("status", flat=True).get(pk=run.pk)


def _requeued(run) -> list[dict]:
    """The history's "queued again" entries of ``run`` (one per time it was queued again)."""
    entries = ModelLogEntry.objects.for_instance(run).filter(action=history.IMPORT_REQUEUED)
    return list(entries.values_list("data", flat=True))


def _result(task_id: str, cluster):
    """What the task queued as ``task_id`` returned, once a worker ran it."""
    done = wait_until(lambda: Task.objects.filter(id=task_id).first(), clusters=[cluster])
    assert done.success, done.result
    return done.result


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

        # An import whose worker died after writing (status back to importing, "writing"
        # kept): while its heartbeat is fresh, a delivery of the task claims nothing; once it
        # is STALE_AFTER old, the housekeeping queues the run again and a worker resumes it
        # without doubling anything.
        ImportRun.objects.filter(pk=run.pk).update(
            status=ImportStatus.IMPORTING,
            results={**run.results, "writing": True},
            claimed_by="dead-host:1:abc",
            claimed_at=timezone.now(),
        )
        task = cluster.async_task("wagtail_batchcomms.tasks.run_register_import", run.pk)
        assert _result(task, cluster).startswith("not claimed")
        assert _status(run) == ImportStatus.IMPORTING
        ImportRun.objects.filter(pk=run.pk).update(
            claimed_at=timezone.now() - timedelta(seconds=recovery.STALE_AFTER + 60)
        )
        # (The schedule's own run may be the one that queues it: either way, once.)
        cluster.async_task("wagtail_batchcomms.tasks.imports_housekeeping")
        wait_until(lambda: _status(run) == ImportStatus.IMPORTED, clusters=[cluster])
        assert Assembly.objects.count() == 600 and Location.objects.count() == 200
        assert _requeued(run) == [{"step": "importing", "reason": "stopped"}]


def test_an_import_whose_task_was_lost_is_queued_again_and_written_once(
    qcluster, tmp_path, monkeypatch
):
    values = {"PRIVATE_ROOT": str(tmp_path / "private")}
    rows = [row(account_number=f"A-{n // 3:04d}", serial_number=f"S-{n:05d}") for n in range(300)]
    with override_settings(WAGTAIL_BATCHCOMMS={**settings.WAGTAIL_BATCHCOMMS, **values}):
        run = checked(rows)  # in the request (a small file)
        assert run.status == ImportStatus.CHECKED
        monkeypatch.setattr(runs, "INLINE_MAX_BYTES", 1000)
        runs.request_import(run, None)
        # The broker lost the task message: the run is left importing, holding the lock.
        assert OrmQ.objects.count() == 1
        OrmQ.objects.all().delete()
        cluster = qcluster(settings=values)
        # Just requested: the housekeeping leaves it (its task may still be on its way).
        task = cluster.async_task("wagtail_batchcomms.tasks.imports_housekeeping")
        assert _result(task, cluster)["requeued"] == 0
        assert _status(run) == ImportStatus.IMPORTING and Assembly.objects.count() == 0
        # Half an hour on, nothing started it: queued again, and a worker writes it.
        ImportRun.objects.filter(pk=run.pk).update(
            requested_at=timezone.now() - timedelta(seconds=recovery.QUEUED_LOST_AFTER + 60)
        )
        cluster.async_task("wagtail_batchcomms.tasks.imports_housekeeping")
        wait_until(
            lambda: _status(run) in (ImportStatus.IMPORTED, ImportStatus.FAILED), clusters=[cluster]
        )
        run.refresh_from_db()
        assert run.status == ImportStatus.IMPORTED, run.error
        assert Assembly.objects.count() == 300 and Location.objects.count() == 100
        assert run.results["rows"]["created"] == 300
        assert _requeued(run) == [{"step": "importing", "reason": "lost"}]
