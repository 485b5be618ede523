"""Listing exports above ``EXPORT_BACKGROUND_ROWS``: queued with the listing exactly as the
admin had it, written by the task (run here; ``test_export_workers`` runs it on a real
qcluster), downloaded only by the requester or a superuser who may still see the listing,
expired after ``EXPORT_EXPIRY_DAYS`` with the record kept; the task is safe to run twice. One
whose worker dies every time (killed at a chosen SQL statement, ``db_faults.killed_at``) or
whose task is lost every time is queued again ``jobs.MAX_REQUEUES`` times, then failed."""

from __future__ import annotations

import csv
import datetime
import io

import factories
import openpyxl
import pytest
from db_faults import killed_at
from django.urls import reverse
from django.utils import timezone
from django_q.models import OrmQ
from wagtail.models import ModelLogEntry

from wagtail_batchcomms import exports, history, jobs
from wagtail_batchcomms.exports.runs import STALE_AFTER, claim
from wagtail_batchcomms.models import ExportRun, ExportStatus, Location

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("private_root")]

LIST_URL = reverse("wagtailsnippets_wagtail_batchcomms_assembly:list")


def download_url(run) -> str:
    return reverse("wagtail_batchcomms_export:download", args=[run.pk])


def body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


@pytest.fixture
def register():
    area = factories.service_area(name="Riverside", code="RV")
    other = factories.service_area(name="Hilltop", code="HT")
    serials = {"RV": [], "HT": []}
    for i in range(12):
        code, zone = ("RV", area) if i % 3 else ("HT", other)
        location = factories.location(account_number=f"RB-{i:06d}", service_area=zone)
        serials[code].append(factories.assembly(location, serial_number=f"S{i:05d}").serial_number)
    return {"areas": {"RV": area, "HT": other}, "serials": serials}


@pytest.fixture
def background(app_settings):
    app_settings(EXPORT_BACKGROUND_ROWS=3)


def queue(client, url, **params):
    response = client.get(url, params)
    assert response.status_code == 302, response.status_code
    run = ExportRun.objects.latest("pk")
    assert response["Location"] == run.get_admin_url()
    return run


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a_filtered_export_is_queued_and_holds_only_the_filtered_rows(
    admin_client, superuser, register, background, fmt
):
    area = register["areas"]["RV"]
    run = queue(
        admin_client,
        LIST_URL,
        service_area=area.pk,
        ordering="-serial_number",
        p="2",
        export=fmt,
    )
    # The listing as the admin had it (the page number aside), nothing written yet.
    assert run.status == ExportStatus.QUEUED and run.requested_by == superuser
    assert run.listing_path == LIST_URL
    assert run.query_string == f"service_area={area.pk}&ordering=-serial_number"
    assert run.row_count == 8 and run.export_format == fmt
    assert run.file_name == f"assemblies.{fmt}"
    page = admin_client.get(run.get_admin_url())
    assert b"data-export-progress" in page.content and b"run-progress.js" in page.content

    assert exports.run_export(run.pk) == "ready: 8 rows"
    run.refresh_from_db()
    assert run.status == ExportStatus.READY and run.progress_done == run.row_count == 8
    assert run.expires_at - run.finished_at == datetime.timedelta(days=7)
    page = admin_client.get(run.get_admin_url())
    assert b"data-export-download" in page.content

    response = admin_client.get(download_url(run))
    assert response.status_code == 200
    assert "private, no-store" in response["Cache-Control"]
    assert f"assemblies.{fmt}" in response["Content-Disposition"]
    content = body(response)
    if fmt == "csv":
        header, *rows = list(csv.reader(io.StringIO(content.decode("utf-8"))))
    else:
        sheet = openpyxl.load_workbook(io.BytesIO(content)).active
        header, *rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert header[0] == "Serial number" and "Service area" in header
    # Only the filtered rows, in the listing's order, with the same columns as in the request.
    assert [row[0] for row in rows] == sorted(register["serials"]["RV"], reverse=True)
    assert {row[header.index("Service area")] for row in rows} == {"Riverside"}
    inline = admin_client.get(LIST_URL, {"service_area": area.pk, "export": "csv"})
    assert inline.status_code == 302, "the same export is queued again, not written inline"

    actions = list(
        ModelLogEntry.objects.filter(object_id=str(run.pk))
        .order_by("pk")
        .values_list("action", flat=True)
    )
    assert actions == [history.EXPORT_REQUESTED, history.EXPORT_READY, history.EXPORT_DOWNLOADED]


def test_an_export_under_the_threshold_is_written_in_the_request(
    admin_client, register, app_settings
):
    app_settings(EXPORT_BACKGROUND_ROWS=4)
    hilltop = register["areas"]["HT"].pk
    response = admin_client.get(LIST_URL, {"service_area": hilltop, "export": "csv"})
    assert response.status_code == 200 and not ExportRun.objects.exists()
    assert len(body(response).decode().splitlines()) == 1 + 4


def test_the_task_is_safe_to_run_twice(admin_client, register, background):
    run = queue(admin_client, LIST_URL, export="csv")
    assert exports.run_export(run.pk).startswith("ready")
    run.refresh_from_db()
    first = (run.file, run.finished_at)
    assert exports.run_export(run.pk).startswith("not claimed")
    run.refresh_from_db()
    assert (run.file, run.finished_at) == first
    assert ModelLogEntry.objects.filter(action=history.EXPORT_READY).count() == 1


def test_a_run_left_by_a_dead_worker_is_taken_over(admin_client, register, background):
    run = queue(admin_client, LIST_URL, export="xlsx")
    long_ago = timezone.now() - datetime.timedelta(hours=1)
    ExportRun.objects.filter(pk=run.pk).update(
        status=ExportStatus.RUNNING, claimed_by="dead", claimed_at=long_ago
    )
    # A live one is left alone.
    ExportRun.objects.filter(pk=run.pk).update(claimed_at=timezone.now())
    assert exports.run_export(run.pk).startswith("not claimed")
    ExportRun.objects.filter(pk=run.pk).update(claimed_at=long_ago)
    assert exports.exports_housekeeping() == {"expired": 0, "requeued": 1, "failed": 0}
    assert exports.run_export(run.pk) == "ready: 12 rows"


def test_a_queued_run_whose_task_was_lost_is_queued_again(admin_client, register, background):
    run = queue(admin_client, LIST_URL, export="csv")
    # Just requested: its task is still on its way.
    assert exports.exports_housekeeping() == {"expired": 0, "requeued": 0, "failed": 0}
    ExportRun.objects.filter(pk=run.pk).update(
        created_at=timezone.now() - datetime.timedelta(hours=1)
    )
    assert exports.exports_housekeeping() == {"expired": 0, "requeued": 1, "failed": 0}
    assert exports.run_export(run.pk) == "ready: 12 rows"
    assert exports.run_export(run.pk).startswith("not claimed")  # the duplicate does nothing
    assert exports.exports_housekeeping() == {"expired": 0, "requeued": 0, "failed": 0}


def test_only_the_requester_or_a_superuser_who_may_see_the_listing_downloads(
    client, register, background
):
    perms = [factories.ADMIN_ACCESS, "wagtail_batchcomms.view_assembly"]
    alice = factories.user("alice", perms=perms)
    bob = factories.user("bob", perms=perms)
    root = factories.user("root", superuser=True)
    client.force_login(alice)
    run = queue(client, LIST_URL, export="csv")
    assert exports.run_export(run.pk).startswith("ready")
    assert client.get(download_url(run)).status_code == 200
    listing = client.get(reverse("wagtail_batchcomms_export:index"))
    assert listing.status_code == 200 and run.get_admin_url().encode() in listing.content

    client.force_login(bob)  # another admin: the export does not exist for him
    assert client.get(run.get_admin_url()).status_code == 404
    assert client.get(download_url(run)).status_code == 404
    assert (
        run.get_admin_url().encode()
        not in client.get(reverse("wagtail_batchcomms_export:index")).content
    )

    client.force_login(root)
    assert client.get(download_url(run)).status_code == 200

    # Alice loses the Assemblies listing: her export's file is no longer hers to take.
    alice.groups.first().permissions.remove(
        *alice.groups.first().permissions.filter(codename="view_assembly")
    )
    client.force_login(alice)
    response = client.get(download_url(run))
    assert response.status_code == 403
    assert b"no longer see this listing" in response.content


def test_a_user_without_the_listing_permission_cannot_queue_an_export(client, register, background):
    client.force_login(factories.user("eve", perms=[factories.ADMIN_ACCESS]))
    response = client.get(LIST_URL, {"export": "csv"})
    assert response.status_code in (302, 403)
    assert not ExportRun.objects.exists()


def test_an_expired_export_says_export_again_and_keeps_its_record(
    admin_client, register, background, private_root
):
    run = queue(admin_client, LIST_URL, export="csv", service_area=register["areas"]["HT"].pk)
    exports.run_export(run.pk)
    run.refresh_from_db()
    path = private_root / run.file
    assert path.exists()
    ExportRun.objects.filter(pk=run.pk).update(expires_at=timezone.now())
    response = admin_client.get(download_url(run))
    assert response.status_code == 403 and b"expired" in response.content
    assert exports.exports_housekeeping() == {"expired": 1, "requeued": 0, "failed": 0}
    run.refresh_from_db()
    assert run.status == ExportStatus.EXPIRED and not path.exists()
    response = admin_client.get(download_url(run))
    assert response.status_code == 410
    assert b"export the listing again" in response.content.lower()
    assert run.listing_url.replace("&", "&amp;").encode() in response.content
    assert exports.exports_housekeeping() == {"expired": 0, "requeued": 0, "failed": 0}
    assert ModelLogEntry.objects.filter(action=history.EXPORT_EXPIRED).count() == 1


def test_an_export_whose_filters_no_longer_validate_fails_with_the_reason(
    admin_client, register, background
):
    area = factories.service_area(name="Gone", code="GN")
    for i in range(5):
        factories.assembly(factories.location(account_number=f"GN-{i}", service_area=area))
    run = queue(admin_client, LIST_URL, export="csv", service_area=area.pk)
    Location.objects.filter(service_area=area).update(service_area=None)
    area.delete()
    result = exports.run_export(run.pk)
    run.refresh_from_db()
    assert run.status == ExportStatus.FAILED and result.startswith("failed")
    assert "Service area" in run.error
    page = admin_client.get(run.get_admin_url())
    assert b"data-export-error" in page.content


# --- a run that cannot finish: started again ``jobs.MAX_REQUEUES`` times, then failed ---------


def _killed(run) -> None:
    """A try of the export task whose worker is killed while it reads the listing's rows
    (``db_faults.killed_at``); no heartbeat since, for ``STALE_AFTER`` and more."""
    with killed_at(r'FROM "wagtail_batchcomms_assembly"'):
        exports.run_export(run.pk)
    run.refresh_from_db()
    assert run.status == ExportStatus.RUNNING
    last_beat = timezone.now() - datetime.timedelta(seconds=STALE_AFTER + 60)
    ExportRun.objects.filter(pk=run.pk).update(claimed_at=last_beat)


def _housekeeping(capture) -> tuple[dict, list]:
    """The scheduled task, and the runs it queued (on commit, to django-q2's ORM broker)."""
    OrmQ.objects.all().delete()
    with capture(execute=True):
        result = exports.exports_housekeeping()
    return result, [list(q.task["args"]) for q in OrmQ.objects.all()]


def _failed_entries(run) -> list[dict]:
    entries = ModelLogEntry.objects.filter(object_id=str(run.pk), action=history.EXPORT_FAILED)
    return list(entries.values_list("data", flat=True))


def test_an_export_whose_worker_dies_every_time_is_failed_after_three_requeues(
    admin_client, register, background, private_root, django_capture_on_commit_callbacks
):
    assert jobs.MAX_REQUEUES == 3
    run = queue(admin_client, LIST_URL, export="csv")
    for time in (1, 2, 3):
        _killed(run)
        assert _housekeeping(django_capture_on_commit_callbacks) == (
            {"expired": 0, "requeued": 1, "failed": 0},
            [[run.pk]],
        )
        run.refresh_from_db()
        # Waiting for a worker again (the page says so).
        assert (run.status, run.requeues, run.claimed_by) == (ExportStatus.QUEUED, time, "")
    _killed(run)
    assert _housekeeping(django_capture_on_commit_callbacks) == (
        {"expired": 0, "requeued": 0, "failed": 1},
        [],
    )
    run.refresh_from_db()
    assert run.status == ExportStatus.FAILED and run.finished_at is not None
    assert run.error == (
        "The worker stopped while writing this export, 4 tries in all (it may be too large "
        "for the worker's memory or time limit: Q_CLUSTER 'timeout'). Nothing more will be "
        "tried and no file was kept; export the listing again with fewer rows (filter it) or "
        "raise the limit."
    )
    assert run.file == "" and not (private_root / "exports").exists()
    assert _failed_entries(run) == [{"error": run.error, "reason": "stopped", "tries": 4}]
    page = admin_client.get(run.get_admin_url()).content.decode()
    assert "data-export-error" in page and "4 tries in all" in page
    assert "data-export-download" not in page and "data-export-progress" not in page
    assert admin_client.get(download_url(run)).status_code == 403
    # The broker delivering the killed task again, or the next housekeeping: nothing.
    assert exports.run_export(run.pk).startswith("not claimed")
    assert _housekeeping(django_capture_on_commit_callbacks) == (
        {"expired": 0, "requeued": 0, "failed": 0},
        [],
    )


def test_an_export_that_completes_on_its_second_requeue_is_not_failed(
    admin_client, register, background, django_capture_on_commit_callbacks
):
    run = queue(admin_client, LIST_URL, export="csv")
    for _ in range(2):
        _killed(run)
        assert _housekeeping(django_capture_on_commit_callbacks)[0]["requeued"] == 1
    assert exports.run_export(run.pk) == "ready: 12 rows"
    run.refresh_from_db()
    assert (run.status, run.requeues, run.error) == (ExportStatus.READY, 2, "")
    assert _failed_entries(run) == []
    assert admin_client.get(download_url(run)).status_code == 200
    assert _housekeeping(django_capture_on_commit_callbacks)[0] == {
        "expired": 0,
        "requeued": 0,
        "failed": 0,
    }


def test_an_export_whose_task_is_lost_every_time_is_failed_after_three_requeues(
    admin_client, register, background, django_capture_on_commit_callbacks
):
    run = queue(admin_client, LIST_URL, export="csv")
    hour_ago = timezone.now() - datetime.timedelta(hours=1)
    ExportRun.objects.filter(pk=run.pk).update(created_at=hour_ago)
    for time in (1, 2, 3):
        assert _housekeeping(django_capture_on_commit_callbacks)[0]["requeued"] == 1
        # Queued again: the next housekeeping waits QUEUED_LOST_AFTER for that task.
        assert _housekeeping(django_capture_on_commit_callbacks)[0]["requeued"] == 0
        run.refresh_from_db()
        assert (run.status, run.requeues) == (ExportStatus.QUEUED, time)
        ExportRun.objects.filter(pk=run.pk).update(requeued_at=hour_ago)
    assert _housekeeping(django_capture_on_commit_callbacks)[0]["failed"] == 1
    run.refresh_from_db()
    assert run.status == ExportStatus.FAILED
    assert run.error.startswith(
        "The export was tried 4 times and no worker started it the last time: is a django-q2 "
        "worker (qcluster) running?"
    )
    assert [entry["reason"] for entry in _failed_entries(run)] == ["lost"]
    assert "no worker started it the last time" in admin_client.get(run.get_admin_url()).text


def test_the_count_does_not_grow_for_a_healthy_export_and_a_redelivery_taking_over_counts(
    admin_client, register, background, django_capture_on_commit_callbacks
):
    run = queue(admin_client, LIST_URL, export="csv")
    assert claim(run.pk, "host:1")
    for _ in range(3):  # a live worker: left alone, another delivery claims nothing
        assert _housekeeping(django_capture_on_commit_callbacks)[0]["requeued"] == 0
        assert exports.run_export(run.pk).startswith("not claimed")
    run.refresh_from_db()
    assert (run.requeues, run.claimed_by) == (0, "host:1")
    # Its worker stopped; the broker hands the task out again before the housekeeping runs:
    # taking the run over is a try too.
    last_beat = timezone.now() - datetime.timedelta(seconds=STALE_AFTER + 60)
    ExportRun.objects.filter(pk=run.pk).update(claimed_at=last_beat)
    for time in (1, 2, 3):
        _killed(run)
        run.refresh_from_db()
        assert run.requeues == time
    assert exports.run_export(run.pk).startswith("not claimed")  # past the cap
    assert _housekeeping(django_capture_on_commit_callbacks)[0]["failed"] == 1
