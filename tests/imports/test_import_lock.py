"""One import writes at a time: a second one is refused with a clear message, by the database
(a partial unique constraint on the "importing" status), also for two requests at once."""

from __future__ import annotations

import factories
import pytest
from concurrency import run_at_once
from django.db import IntegrityError, connection, transaction
from import_data import checked, row

from wagtail_batchcomms.exceptions import ImportFileError
from wagtail_batchcomms.imports import runs
from wagtail_batchcomms.models import Assembly, ImportRun, ImportStatus


@pytest.fixture(autouse=True)
def _private(private_root):
    return private_root


def _two_checked():
    first = checked([row()])
    second = checked([row(account_number="100-002", serial_number="SN-2")])
    return first, second


@pytest.mark.django_db
def test_a_second_import_is_refused_while_one_is_writing(client):
    first, second = _two_checked()
    ImportRun.objects.filter(pk=first.pk).update(status=ImportStatus.IMPORTING)
    with pytest.raises(ImportFileError, match=r"Another import \(register\.csv\) is being written"):
        runs.request_import(second, None)
    second.refresh_from_db()
    assert second.status == ImportStatus.CHECKED  # still ready: nothing lost
    assert Assembly.objects.count() == 0
    # The database itself refuses a second run in "importing".
    with pytest.raises(IntegrityError), transaction.atomic():
        ImportRun.objects.filter(pk=second.pk).update(status=ImportStatus.IMPORTING)
    # The page says so.
    user = factories.user(
        "importer", perms=[factories.ADMIN_ACCESS, "wagtail_batchcomms.import_importrun"]
    )
    client.force_login(user)
    response = client.post(f"{second.get_admin_url()}import/", follow=True)
    assert "is being written" in response.content.decode()
    # Once the first is done, the second goes.
    ImportRun.objects.filter(pk=first.pk).update(status=ImportStatus.IMPORTED)
    runs.request_import(second, None)
    second.refresh_from_db()
    assert second.status == ImportStatus.IMPORTED and Assembly.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_requests_at_once_one_imports(monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("concurrent requests race on PostgreSQL (DATABASE_URL=postgres://...)")
    first, second = _two_checked()
    # Queued, not run in the request: both requests race to start writing.
    monkeypatch.setattr(runs, "INLINE_MAX_BYTES", 0)
    monkeypatch.setattr(runs.jobs, "enqueue", lambda *args, **kwargs: None)

    def request(run):
        def go():
            try:
                runs.request_import(ImportRun.objects.get(pk=run.pk), None)
            except ImportFileError as error:
                return str(error)
            return "started"

        return go

    pending = [request(first), request(second)]
    results = run_at_once(2, lambda: pending.pop()())
    assert sorted(r == "started" for r in results) == [False, True], results
    assert any("is being written" in r for r in results)
    assert ImportRun.objects.filter(status=ImportStatus.IMPORTING).count() == 1
    assert ImportRun.objects.filter(status=ImportStatus.CHECKED).count() == 1
