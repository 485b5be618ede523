"""The import writes the dry run's stored plan after re-reading only the register's records the
file names: it refuses when one of them changed, writes nothing when nothing changes, and
reads back only a plan's plain types."""

from __future__ import annotations

import pickle
import zlib

import pytest
from django.core.files.base import ContentFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from import_data import checked, imported, row

from wagtail_batchcomms.imports import runs, stored
from wagtail_batchcomms.models import Assembly, Contact, ImportStatus, Location, LocationContact
from wagtail_batchcomms.storage import letter_storage

pytestmark = pytest.mark.django_db

TABLES = [m._meta.db_table for m in (Location, Contact, LocationContact, Assembly)]


@pytest.fixture(autouse=True)
def _private(private_root):
    return private_root


def _rows():
    return [
        row(),
        row(serial_number="SN-0002", size='1"', last_tested_on="03/01/2025"),
        row(account_number="100-002", email="", contact_name="Bo Smith", serial_number="SN-3"),
    ]


def test_a_reimport_that_changes_nothing_writes_nothing():
    imported(_rows())
    run = checked(_rows())
    with CaptureQueriesContext(connection) as queries:
        runs.request_import(run, None)
    run.refresh_from_db()
    assert run.status == ImportStatus.IMPORTED, run.error
    writes = [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE", "WITH"))
        and any(table in q["sql"] for table in TABLES)
    ]
    assert writes == []


def test_updates_are_written_field_by_field():
    imported(_rows())
    area_free = _rows()
    area_free[1] = row(serial_number="SN-0002", size='2"', last_tested_on="2025-04-02")
    area_free[2] = row(
        account_number="100-002",
        email="",
        contact_name="Bo Smith",
        serial_number="SN-3",
        phone="555-0199",
        property_type="residential",
    )
    run = imported(area_free)
    assert run.results["assembly"] == {"created": 0, "updated": 1, "unchanged": 2}
    moved = Assembly.objects.get(serial_number="SN-0002")
    assert str(moved.size) == "2.00" and moved.last_tested_on.isoformat() == "2025-04-02"
    assert moved.next_test_due.isoformat() == "2026-04-02"
    assert Location.objects.get(account_number="100-002").property_type == "residential"
    assert Contact.objects.get(name="Bo Smith").phone == "555-0199"


@pytest.mark.parametrize("change", ["assembly", "contact", "role"])
def test_the_import_refuses_when_a_record_the_dry_run_read_changed(change):
    imported(_rows())
    run = checked([*_rows(), row(serial_number="SN-4")])
    if change == "assembly":
        Assembly.objects.filter(serial_number="SN-3").update(model_number="X-1")
    elif change == "contact":
        Contact.objects.filter(name="Bo Smith").update(phone="555-0000")
    else:
        LocationContact.objects.update(is_primary=False)
    runs.request_import(run, None)
    run.refresh_from_db()
    assert run.status == ImportStatus.UPLOADED
    assert "changed since the dry run" in run.error
    assert not Assembly.objects.filter(serial_number="SN-4").exists()


def test_a_dry_run_of_an_earlier_day_asks_for_a_new_one():
    """Dates in the file were checked against the dry run's day: a dry run left overnight is
    refused with its date, not as "the register changed"."""
    import datetime

    from wagtail_batchcomms.models import ImportRun

    run = checked([row(serial_number="SN-9")])
    yesterday = run.checked_at - datetime.timedelta(days=1)
    ImportRun.objects.filter(pk=run.pk).update(checked_at=yesterday)
    run.refresh_from_db()
    runs.request_import(run, None)
    run.refresh_from_db()
    assert run.status == ImportStatus.UPLOADED
    assert "The dry run was made on" in run.error and "run the dry run again" in run.error
    assert "changed since" not in run.error
    assert not Assembly.objects.filter(serial_number="SN-9").exists()
    # A new dry run today imports it.
    runs.request_check(run, None)
    run.refresh_from_db()
    runs.request_import(run, None)
    run.refresh_from_db()
    assert run.status == ImportStatus.IMPORTED, run.error
    assert Assembly.objects.filter(serial_number="SN-9").exists()


def test_a_stored_plan_holds_only_a_plans_types():
    run = checked([row()])
    name = stored.plan_name(run.file)
    storage = letter_storage()
    storage.delete(name)
    evil = zlib.compress(pickle.dumps((print, ((), (), ()))))
    storage.save(name, ContentFile(evil))
    runs.request_import(run, None)
    run.refresh_from_db()
    assert run.status == ImportStatus.UPLOADED and "dry run" in run.error.lower()
    assert Assembly.objects.count() == 0
