"""Every kind of row error the dry run reports: the row, the file's column, the value and a
clear message; the row is left out and nothing is written."""

from __future__ import annotations

import datetime

import factories
import pytest
from import_data import checked, row

from wagtail_batchcomms.models import Assembly, Location

pytestmark = pytest.mark.django_db

TOMORROW = (datetime.date.today() + datetime.timedelta(days=2)).isoformat()


@pytest.fixture(autouse=True)
def _private(private_root):
    return private_root


CASES = [
    ("bad date", row(last_tested_on="31/31/2025"), "last_tested_on", "is not a date"),
    ("unknown type", row(assembly_type="XYZ"), "assembly_type", "'XYZ' is not one of RP"),
    ("bad size", row(size="7/8"), "size", "is not an assembly size"),
    ("size not a number", row(size="big"), "size", "is not an assembly size"),
    ("no account number", row(account_number=""), "account_number", "No account number"),
    ("no serial", row(serial_number=""), "serial_number", "No serial number"),
    ("unknown area", row(service_area="Z99"), "service_area", "not the code or name"),
    ("bad email", row(email="not-an-email"), "email", "is not an email address"),
    ("bad yes/no", row(primary="maybe"), "primary", "is not yes or no"),
    ("bad frequency", row(test_frequency_months="0"), "test_frequency_months", "from 1 to 120"),
    ("bad hazard", row(hazard="radioactive"), "hazard", "is not one of"),
    ("bad property type", row(property_type="castle"), "property_type", "is not one of"),
    ("new location without type", row(property_type=""), "property_type", "A new location needs"),
    ("new assembly without size", row(size=""), "size", "A new assembly needs its size"),
    ("result without date", row(last_tested_on=""), "last_test_result", "needs the date"),
    ("test in the future", row(last_tested_on=TOMORROW), "last_tested_on", "in the future"),
    (
        "installed in the future",
        row(installed_on=TOMORROW, last_tested_on="", last_test_result=""),
        "installed_on",
        "in the future",
    ),
    (
        "tested before installed",
        row(installed_on="2025-04-01", last_tested_on="2025-03-01"),
        "last_tested_on",
        "before the installation",
    ),
    (
        "due before the test",
        row(next_test_due="2025-01-01"),
        "next_test_due",
        "cannot be due before the last test",
    ),
    ("contact without role", row(role=""), "role", "needs its role"),
    ("unknown role", row(role="landlord"), "role", "is not one of"),
    (
        "contact without name or email",
        row(contact_name="", email=""),
        "contact_name",
        "needs a name or an email",
    ),
    ("text too long", row(city="x" * 101), "city", "at most 100 fit"),
]


@pytest.mark.parametrize(
    ("bad", "column", "message"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_each_error_names_row_column_and_problem(bad, column, message):
    factories.service_area(name="North", code="Z1")
    run = checked([row(serial_number="GOOD-1", account_number="900-001"), bad])
    assert run.results["rows"]["error"] == 1
    assert [e["row"] for e in run.errors] == [3]
    assert run.errors[0]["column"] == column
    assert message in run.errors[0]["message"], run.errors
    assert Location.objects.count() == 0 and Assembly.objects.count() == 0


def test_a_row_contradicting_an_earlier_row_about_the_same_record():
    run = checked([row(city="Riverbend"), row(serial_number="SN-2", city="Lakeside")])
    assert [(e["row"], e["column"], e["value"]) for e in run.errors] == [(3, "city", "Lakeside")]
    assert "Row 2 gave Riverbend for the same location" in run.errors[0]["message"]


def test_a_second_primary_contact_in_one_role():
    run = checked(
        [row(), row(serial_number="SN-2", contact_name="Cy Other", email="cy@example.com")]
    )
    assert [(e["row"], e["column"]) for e in run.errors] == [(3, "primary")]
    assert "already has a primary contact" in run.errors[0]["message"]


def test_two_contacts_with_the_same_email_in_the_register():
    factories.contact(name="Ada One", email="ada@bakery.example")
    factories.contact(name="Ada Two", email="ADA@bakery.example")
    run = checked([row()])
    assert run.errors[0]["column"] == "email"
    assert "2 contacts in the register have this email" in run.errors[0]["message"]


def test_an_unreadable_file_is_refused_with_a_message(tmp_path):
    from import_data import upload

    from wagtail_batchcomms.exceptions import ImportFileError
    from wagtail_batchcomms.imports import runs

    with pytest.raises(ImportFileError, match="not an XLSX workbook"):
        runs.start_import(upload(b"not a zip", "register.xlsx"), None)
    with pytest.raises(ImportFileError, match=r"\.csv or \.xlsx"):
        runs.start_import(upload(b"a,b\n", "register.txt"), None)
    with pytest.raises(ImportFileError, match="empty"):
        runs.start_import(upload(b"\n\n", "register.csv"), None)
    with pytest.raises(ImportFileError, match="repeats 'city'"):
        runs.start_import(upload(b"account_number,city,city\n1,a,b\n", "register.csv"), None)
