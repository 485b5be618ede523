"""A register import whose task kills its worker every time (a file too big for the worker's
memory, Q_CLUSTER's "timeout") is started again ``jobs.MAX_REQUEUES`` times, then failed with
what happened, how much was written and what to do, releasing the one-import lock; so is one
whose task is lost every time. One that completes on a later try is not failed, and the count
does not grow for a healthy run. The tasks and the housekeeping run here, as in
``test_import_recovery``; a try's worker is killed at a chosen SQL statement
(``db_faults.killed_at``)."""

from __future__ import annotations

import datetime

import pytest
from db_faults import killed_at
from django.urls import reverse
from django.utils import timezone
from import_data import checked, housekeeping, owned_rows, requeued, row
from wagtail.models import ModelLogEntry

from wagtail_batchcomms import history, jobs, tasks
from wagtail_batchcomms.imports import recovery, runs
from wagtail_batchcomms.models import Assembly, Contact, ImportRun, ImportStatus, Location

IMPORT_TASK = "wagtail_batchcomms.tasks.run_register_import"
CHECK_TASK = "wagtail_batchcomms.tasks.check_register_import"


@pytest.fixture(autouse=True)
def _private(private_root):
    return private_root


def _importing() -> ImportRun:
    """Checked by its task, then its import requested (queued, holding the lock)."""
    run = checked(owned_rows())
    assert tasks.check_register_import(run.pk) == "checked"
    runs.request_import(ImportRun.objects.get(pk=run.pk), None)
    run.refresh_from_db()
    assert run.status == ImportStatus.IMPORTING
    return run


def _killed_writing(run: ImportRun, table: str) -> None:
    """A try of the import task whose worker is killed as it starts writing ``table``
    (what it committed before stays); no heartbeat since, for ``STALE_AFTER`` and more."""
    with killed_at(f'INSERT INTO "wagtail_batchcomms_{table}"'):
        tasks.run_register_import(run.pk)
    _no_heartbeat_since(run)


def _no_heartbeat_since(run: ImportRun) -> None:
    last_beat = timezone.now() - datetime.timedelta(seconds=recovery.STALE_AFTER + 60)
    ImportRun.objects.filter(pk=run.pk).update(claimed_at=last_beat)


def _register() -> tuple[int, int, int]:
    return Location.objects.count(), Contact.objects.count(), Assembly.objects.count()


def _failed_entries(run) -> list[dict]:
    entries = ModelLogEntry.objects.for_instance(run).filter(action=history.IMPORT_FAILED)
    return list(entries.values_list("data", flat=True))


def _page(client, run) -> str:
    return client.get(run.get_admin_url()).content.decode()


@pytest.mark.django_db
def test_an_import_whose_worker_dies_every_time_is_failed_after_three_requeues(
    admin_client, queued, django_capture_on_commit_callbacks
):
    assert jobs.MAX_REQUEUES == 3
    run = _importing()
    # Each try is killed as it writes the contacts: the first one wrote the locations.
    _killed_writing(run, "contact")
    assert _register() == (10, 0, 0)
    for time in (1, 2, 3):
        assert housekeeping(django_capture_on_commit_callbacks) == (
            {"requeued": 1, "failed": 0, "purged": 0},
            [(IMPORT_TASK, [run.pk])],
        )
        run.refresh_from_db()
        assert (run.status, run.requeues) == (ImportStatus.IMPORTING, time)
        _killed_writing(run, "contact")
    assert requeued(run) == [{"step": "importing", "reason": "stopped"}] * 3
    page = _page(admin_client, run)
    assert "data-import-last-try" in page and "will not be again" in page

    # Stopped once more: failed, not queued again.
    assert housekeeping(django_capture_on_commit_callbacks) == (
        {"requeued": 0, "failed": 1, "purged": 0},
        [],
    )
    run.refresh_from_db()
    assert run.status == ImportStatus.FAILED and run.requeues == 3
    assert run.error == (
        "The worker stopped while importing this file, 4 tries in all (it may be too large "
        "for the worker's memory or time limit: Q_CLUSTER 'timeout'). Nothing more will be "
        "tried; 10 of the 60 records to write were written and stay in the register (a new "
        "dry run shows them as unchanged). Split the file or raise the limit, then check it "
        "and import it again."
    )
    assert _register() == (10, 0, 0), "what was written stays"
    assert _failed_entries(run) == [
        {"error": run.error, "step": "importing", "reason": "stopped", "tries": 4}
    ]
    page = _page(admin_client, run)
    assert "data-import-error" in page and "4 tries in all" in page
    assert "data-import-stopped" not in page and "data-import-waiting" not in page
    history_page = admin_client.get(reverse("wagtail_batchcomms_import:history", args=[run.pk]))
    assert "The import stopped: The worker stopped while importing this file, 4 tries" in (
        history_page.content.decode()
    )

    # The broker delivering the killed task again, or the next housekeeping: nothing.
    assert tasks.run_register_import(run.pk).startswith("not claimed")
    assert housekeeping(django_capture_on_commit_callbacks) == (
        {"requeued": 0, "failed": 0, "purged": 0},
        [],
    )
    # The lock is released: the next import writes.
    other = checked([row(account_number="B-001", serial_number="T-001")])
    assert tasks.check_register_import(other.pk) == "checked"
    runs.request_import(ImportRun.objects.get(pk=other.pk), None)
    assert tasks.run_register_import(other.pk) == "imported"
    assert Assembly.objects.count() == 1


@pytest.mark.django_db
def test_a_dry_run_whose_task_is_lost_every_time_is_failed_after_three_requeues(
    admin_client, queued, django_capture_on_commit_callbacks
):
    run = checked(owned_rows())
    assert run.status == ImportStatus.CHECKING
    for time in (1, 2, 3, 4):
        # No worker started it half an hour after it was (queued again and) requested.
        ImportRun.objects.filter(pk=run.pk).update(
            requested_at=timezone.now() - datetime.timedelta(hours=1)
        )
        result, queued_tasks = housekeeping(django_capture_on_commit_callbacks)
        run.refresh_from_db()
        if time <= 3:
            assert (result, queued_tasks) == (
                {"requeued": 1, "failed": 0, "purged": 0},
                [(CHECK_TASK, [run.pk])],
            )
            assert (run.status, run.requeues) == (ImportStatus.CHECKING, time)
            # The next housekeeping waits for the task it queued.
            assert housekeeping(django_capture_on_commit_callbacks)[0]["requeued"] == 0
    assert (result, queued_tasks) == ({"requeued": 0, "failed": 1, "purged": 0}, [])
    # A dry run that cannot run goes back to "uploaded", as a dry run that failed does.
    assert run.status == ImportStatus.UPLOADED and run.requeues == 3
    assert run.error.startswith(
        "The dry run was tried 4 times and no worker started it the last time: is a django-q2 "
        "worker (qcluster) running? Nothing more will be tried, and nothing was written"
    )
    assert requeued(run) == [{"step": "checking", "reason": "lost"}] * 3
    assert [entry["reason"] for entry in _failed_entries(run)] == ["lost"]
    assert "no worker started it the last time" in _page(admin_client, run)
    assert tasks.check_register_import(run.pk).startswith("not claimed")
    # Checked again by the admin: counted from 0 again, and done by its task.
    runs.request_check(run, None)
    run.refresh_from_db()
    assert run.requeues == 0
    assert tasks.check_register_import(run.pk) == "checked"
    assert _register() == (0, 0, 0)


@pytest.mark.django_db
def test_an_import_that_completes_on_its_second_requeue_is_not_failed(
    admin_client, queued, django_capture_on_commit_callbacks
):
    run = _importing()
    dry_run = run.results
    _killed_writing(run, "locationcontact")  # the locations and the contacts written
    assert _register() == (10, 10, 0)
    assert housekeeping(django_capture_on_commit_callbacks)[0] == {
        "requeued": 1,
        "failed": 0,
        "purged": 0,
    }
    _killed_writing(run, "assembly")  # and the roles
    assert housekeeping(django_capture_on_commit_callbacks)[0] == {
        "requeued": 1,
        "failed": 0,
        "purged": 0,
    }
    assert tasks.run_register_import(run.pk) == "imported"
    run.refresh_from_db()
    assert (run.status, run.requeues, run.error) == (ImportStatus.IMPORTED, 2, "")
    assert run.results == dry_run
    # The last try wrote what was left: the assemblies.
    assert run.progress_done == run.progress_total == 30
    assert _register() == (10, 10, 30)
    assert _failed_entries(run) == []
    assert housekeeping(django_capture_on_commit_callbacks)[0] == {
        "requeued": 0,
        "failed": 0,
        "purged": 1,  # the imported file
    }


@pytest.mark.django_db
def test_the_count_does_not_grow_for_a_healthy_run(
    admin_client, queued, django_capture_on_commit_callbacks
):
    run = _importing()
    # Waiting for its worker, then worked on with a fresh heartbeat: left alone.
    assert housekeeping(django_capture_on_commit_callbacks)[0]["requeued"] == 0
    assert recovery.claim(run.pk, ImportStatus.IMPORTING, "host:1")
    recovery.heartbeat(run, "host:1")(5)
    for _ in range(3):
        assert housekeeping(django_capture_on_commit_callbacks)[0]["requeued"] == 0
        # Another delivery of its task while it is alive: not claimed, not counted.
        assert tasks.run_register_import(run.pk).startswith("not claimed")
    run.refresh_from_db()
    assert (run.requeues, run.claimed_by, run.progress_done) == (0, "host:1", 5)
    assert requeued(run) == []


@pytest.mark.django_db
def test_a_task_delivered_again_that_takes_over_a_stopped_run_counts_and_stops_at_the_cap(
    admin_client, queued, django_capture_on_commit_callbacks
):
    """The broker hands a killed task out again after Q_CLUSTER's ``retry``: taking the run
    over is a try too, so the cap holds whoever starts the run again."""
    run = _importing()
    _killed_writing(run, "location")
    for time in (1, 2, 3):
        # The redelivered task takes the stopped run over (and is killed in turn).
        _killed_writing(run, "location")
        run.refresh_from_db()
        assert run.requeues == time
    assert requeued(run) == [{"step": "importing", "reason": "taken over"}] * 3
    history_page = admin_client.get(reverse("wagtail_batchcomms_import:history", args=[run.pk]))
    assert "its task, delivered again, resumed it" in history_page.content.decode()
    # A fourth delivery is refused; the housekeeping fails the run.
    assert tasks.run_register_import(run.pk).startswith("not claimed")
    assert housekeeping(django_capture_on_commit_callbacks) == (
        {"requeued": 0, "failed": 1, "purged": 0},
        [],
    )
    run.refresh_from_db()
    assert run.status == ImportStatus.FAILED
    assert "4 tries in all" in run.error and "nothing was written to the register" in run.error


@pytest.mark.django_db
def test_a_resumed_try_that_is_killed_while_it_plans_keeps_the_count_of_what_was_written(
    queued,
):
    """A resumed try plans the file again (the heartbeat every 5,000 rows) before it writes:
    its heartbeat then leaves the progress what the last try wrote, which the failure's
    message counts from."""
    run = _importing()
    _killed_writing(run, "contact")
    run.refresh_from_db()
    assert (run.progress_done, run.progress_total) == (10, 60)
    ImportRun.objects.filter(pk=run.pk).update(claimed_at=None)
    assert recovery.claim(run.pk, ImportStatus.IMPORTING, "host:2")
    before = ImportRun.objects.values_list("claimed_at", flat=True).get(pk=run.pk)
    recovery.heartbeat(run, "host:2", saves_progress=False)(5000)
    run.refresh_from_db()
    assert run.claimed_at > before and (run.progress_done, run.progress_total) == (10, 60)
    assert recovery.written(run) == (10, 60)
