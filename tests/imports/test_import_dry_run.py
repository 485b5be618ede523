"""The dry run: created / updated / unchanged / error per row, for CSV and XLSX, nothing
written; the import writing exactly that; a re-import changing nothing."""

from __future__ import annotations

import datetime
from decimal import Decimal

import factories
import pytest
from import_data import checked, csv_bytes, imported, row, xlsx_bytes

from wagtail_batchcomms.imports import runs
from wagtail_batchcomms.models import (
    Assembly,
    Contact,
    ImportStatus,
    Location,
    LocationContact,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _private(private_root):
    return private_root


def _register():
    return (
        Location.objects.count(),
        Contact.objects.count(),
        LocationContact.objects.count(),
        Assembly.objects.count(),
    )


# A row that says exactly what the register holds for account 200-002 (see _existing).
SAME = {
    "account_number": "200-002",
    "property_type": "residential",
    "contact_name": "Bo Owner",
    "email": "bo@example.com",
    "role": "owner",
    "primary": "yes",
    "serial_number": "OLD-1",
    "manufacturer": "Febco",
    "assembly_type": "DC",
    "size": "1",
    "hazard": "non_health",
    "service_type": "fire",
    "last_tested_on": "2024-05-01",
    "last_test_result": "pass",
}


def _existing():
    location = factories.location(account_number="200-002", property_type="residential")
    owner = factories.contact(name="Bo Owner", email="bo@example.com")
    factories.role(location, owner, "owner", primary=True)
    for serial in ("OLD-1", "OLD-2"):
        factories.assembly(
            location,
            serial_number=serial,
            manufacturer="Febco",
            assembly_type="DC",
            size=Decimal("1.00"),
            hazard="non_health",
            service_type="fire",
            last_tested_on=datetime.date(2024, 5, 1),
            last_test_result="pass",
            test_frequency_months=12,
            next_test_due=datetime.date(2025, 5, 1),
        )


def _rows():
    """Rows 2-6 of the file: created, created (same location, second assembly), unchanged,
    updated (a new test of OLD-2), error (bad size)."""
    return [
        row(),
        row(serial_number="SN-0002", assembly_type="DCDA", size="2"),
        SAME,
        {
            **SAME,
            "serial_number": "OLD-2",
            "last_tested_on": "2025-04-15",
            "last_test_result": "fail",
        },
        row(account_number="300-003", serial_number="SN-9", size="7/8"),
    ]


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_dry_run_counts_each_row_and_writes_nothing(kind):
    _existing()
    before = _register()
    content = csv_bytes(_rows()) if kind == "csv" else xlsx_bytes(_rows())
    run = checked([], name=f"register.{kind}", content=content)

    assert run.status == ImportStatus.CHECKED
    assert run.row_count == 5
    assert run.results["rows"] == {"created": 2, "updated": 1, "unchanged": 1, "error": 1}
    assert run.results["location"] == {"created": 1, "updated": 0, "unchanged": 1}
    assert run.results["contact"] == {"created": 1, "updated": 0, "unchanged": 1}
    assert run.results["role"] == {"created": 1, "updated": 0, "unchanged": 1}
    assert run.results["assembly"] == {"created": 2, "updated": 1, "unchanged": 1}
    assert [(e["row"], e["column"]) for e in run.errors] == [(6, "size")]
    assert [(c["row"], c["outcome"]) for c in run.changes] == [
        (2, "created"),
        (3, "created"),
        (5, "updated"),
    ]
    assert _register() == before, "a dry run writes nothing"


def test_import_writes_what_the_dry_run_showed():
    _existing()
    run = imported(_rows())

    assert run.status == ImportStatus.IMPORTED, run.error
    assert _register() == (2, 2, 2, 4)
    new = Assembly.objects.get(serial_number="SN-0001")
    assert new.location.account_number == "100-001"
    assert new.size == Decimal("0.75")
    assert new.last_tested_on == datetime.date(2025, 3, 31)
    # Recomputed as the model does: the last test plus the test frequency (12 months).
    assert new.next_test_due == datetime.date(2026, 3, 31)
    updated = Assembly.objects.get(serial_number="OLD-2")
    assert (updated.last_tested_on, updated.last_test_result) == (
        datetime.date(2025, 4, 15),
        "fail",
    )
    assert updated.next_test_due == datetime.date(2026, 4, 15)
    role = LocationContact.objects.get(location__account_number="100-001")
    assert (role.contact.email, role.role, role.is_primary) == ("ada@bakery.example", "owner", True)
    assert not Location.objects.filter(account_number="300-003").exists(), "error rows left out"


def test_reimporting_the_same_file_changes_nothing():
    first = imported(_rows()[:2])
    assert first.status == ImportStatus.IMPORTED
    before = _register()
    again = imported(_rows()[:2])
    assert again.results["rows"] == {"created": 0, "updated": 0, "unchanged": 2, "error": 0}
    for kind in ("location", "contact", "role", "assembly"):
        assert again.results[kind]["created"] == again.results[kind]["updated"] == 0
    assert _register() == before


def test_an_empty_cell_leaves_the_value_as_it_is():
    imported([row(location_name="Riverside Bakery", phone="555-0100")])
    imported([row(location_name="", phone="")])
    assert Location.objects.get().name == "Riverside Bakery"
    assert Contact.objects.get().phone == "555-0100"


def test_the_import_refuses_when_the_register_changed_since_the_dry_run():
    run = checked([row()])
    factories.location(account_number="100-001", property_type="commercial", name="Other")
    before = _register()
    runs.request_import(run, None)
    run.refresh_from_db()
    assert run.status == ImportStatus.UPLOADED
    assert "changed since the dry run" in run.error
    assert _register() == before


def test_xlsx_date_cells_and_numbers():
    content = xlsx_bytes(
        [row(account_number=None, size=None)],
        typed={
            (0, "last_tested_on"): datetime.date(2025, 1, 2),
            (0, "account_number"): 1234.0,
            (0, "size"): 0.75,
        },
    )
    run = imported([], content=content, name="register.xlsx")
    assert run.status == ImportStatus.IMPORTED, (run.error, run.errors)
    assembly = Assembly.objects.get()
    assert assembly.last_tested_on == datetime.date(2025, 1, 2)
    assert assembly.location.account_number == "1234"
    assert assembly.size == Decimal("0.75")


def test_history_records_upload_dry_run_and_import():
    from wagtail.models import ModelLogEntry

    user = factories.user("importer", superuser=True)
    run = imported([row()], user)
    actions = list(
        ModelLogEntry.objects.filter(object_id=str(run.pk))
        .order_by("pk")
        .values_list("action", "user")
    )
    assert actions == [
        ("wagtail_batchcomms.import_uploaded", user.pk),
        ("wagtail_batchcomms.import_checked", user.pk),
        ("wagtail_batchcomms.import_done", user.pk),
    ]
