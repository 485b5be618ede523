"""The dry run: created / updated / unchanged / error per row, for CSV and XLSX, nothing
written; and the import writing exactly that."""

from __future__ import annotations

import datetime
from decimal import Decimal

import factories
import pytest
from import_data import checked, csv_bytes, row, xlsx_bytes

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


def _register_counts():
    return (
        Location.objects.count(),
        Contact.objects.count(),
        LocationContact.objects.count(),
        Assembly.objects.count(),
    )


def _file_rows():
    """Four rows: a new location with two assemblies (the second repeats the location and
    its owner), an update of an existing assembly's test, an unchanged row, a bad row."""
    existing = factories.location(account_number="200-002", property_type="residential")
    owner = factories.contact(name="Bo Owner", email="bo@example.com")
    factories.role(existing, owner, "owner", primary=True)
    factories.assembly(
        existing,
        serial_number="OLD-1",
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
    same = {
        "account_number": "200-002",
        "contact_name": "Bo Owner",
        "email": "bo@example.com",
        "role": "owner",
        "primary": "yes",
        "location_name": "",
        "address_line1": "",
        "city": "",
        "state": "",
        "postal_code": "",
        "property_type": "residential",
        "serial_number": "OLD-1",
        "manufacturer": "Febco",
        "assembly_type": "DC",
        "size": "1",
        "hazard": "non_health",
        "service_type": "fire",
        "last_tested_on": "2024-05-01",
        "last_test_result": "pass",
    }
    return [
        row(),
        row(serial_number="SN-0002", assembly_type="DCDA", size="2"),
        {**same, "last_tested_on": "2025-04-15", "last_test_result": "fail"},
        same,
        row(account_number="300-003", serial_number="SN-9", size="7/8"),
    ]


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_dry_run_counts_each_row_and_writes_nothing(kind):
    rows = _file_rows()
    before = _register_counts()
    content = csv_bytes(rows) if kind == "csv" else xlsx_bytes(rows)
    run = checked(rows, name=f"register.{kind}", content=content)

    assert run.status == ImportStatus.CHECKED
    assert run.row_count == 5
    # Row 5's size is an error; row 4 repeats the register as it will be after row 3? No:
    # the dry run compares with the register as it is, so rows 3 and 4 disagree on the test.
    assert run.results["rows"]["created"] == 2
    assert run.results["location"] == {"created": 1, "updated": 0, "unchanged": 1}
    assert run.results["assembly"]["created"] == 2
    assert [e["column"] for e in run.errors].count("size") == 1
    assert _register_counts() == before, "a dry run writes nothing"
