"""A big export goes to a real qcluster: the listing's request only queues it, a worker
writes the file with its progress, and the task delivered again changes nothing."""

from __future__ import annotations

import csv
import io

import factories
import pytest
from django.urls import reverse
from workers import wait_until

from wagtail_batchcomms.models import ExportRun, ExportStatus

pytestmark = [pytest.mark.slow]

LIST_URL = reverse("wagtailsnippets_wagtail_batchcomms_assembly:list")


def _run() -> ExportRun | None:
    return ExportRun.objects.order_by("-pk").first()


def test_a_worker_writes_the_export_and_a_second_delivery_changes_nothing(
    qcluster, client, app_settings, private_root
):
    app_settings(EXPORT_BACKGROUND_ROWS=10)
    area = factories.service_area(name="Riverside", code="RV")
    for i in range(60):
        location = factories.location(
            account_number=f"RB-{i:04d}", service_area=area if i % 2 else None
        )
        factories.assembly(location, serial_number=f"S{i:04d}", placement="=HYPERLINK(1)")
    client.force_login(factories.user("admin", superuser=True))
    cluster = qcluster(settings={"PRIVATE_ROOT": str(private_root)})

    response = client.get(LIST_URL, {"service_area": area.pk, "export": "csv"})
    run = _run()
    assert response.status_code == 302 and response["Location"] == run.get_admin_url()
    wait_until(
        lambda: _run().status in (ExportStatus.READY, ExportStatus.FAILED), clusters=[cluster]
    )
    run = _run()
    assert run.status == ExportStatus.READY, run.error
    assert run.row_count == run.progress_done == 30
    progress = client.get(reverse("wagtail_batchcomms_export:progress", args=[run.pk])).json()
    assert progress == {
        "status": "ready",
        "status_label": "Ready",
        "busy": False,
        "done": 30,
        "total": 30,
    }
    download = client.get(reverse("wagtail_batchcomms_export:download", args=[run.pk]))
    header, *rows = list(csv.reader(io.StringIO(b"".join(download.streaming_content).decode())))
    assert sorted(row[0] for row in rows) == [f"S{i:04d}" for i in range(1, 60, 2)]
    assert {row[header.index("Placement")] for row in rows} == {"'=HYPERLINK(1)"}

    written = (run.file, run.finished_at)
    cluster.async_task("wagtail_batchcomms.tasks.write_export", run.pk)
    # The task's own record says what it did: nothing (the run is done).
    from django_q.models import Task

    wait_until(
        lambda: Task.objects.filter(func="wagtail_batchcomms.tasks.write_export").count() == 2,
        clusters=[cluster],
    )
    results = set(
        Task.objects.filter(func="wagtail_batchcomms.tasks.write_export").values_list(
            "result", flat=True
        )
    )
    assert results == {"ready: 30 rows", "not claimed (running elsewhere or done)"}
    run.refresh_from_db()
    assert (run.file, run.finished_at) == written
