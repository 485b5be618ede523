"""CSV and XLSX exports of the register listings: the filtered rows, parsed back."""

from __future__ import annotations

import csv
import datetime
import io
import re
from decimal import Decimal

import factories
import openpyxl
import pytest
from django.urls import reverse
from django.utils import timezone

pytestmark = pytest.mark.django_db

LIST_URL = reverse("wagtailsnippets_wagtail_batchcomms_assembly:list")
TODAY = timezone.localdate()

HEADINGS = [
    "Serial number",
    "Type code",
    "Type",
    "Size",
    "Manufacturer",
    "Model",
    "Placement",
    "Hazard",
    "Service type",
    "Status",
    "Installed on",
    "Last tested on",
    "Last test result",
    "Test frequency (months)",
    "Next test due",
    "Compliance status",
    "Account number",
    "Location name",
    "Service address",
    "Property type",
    "Service area",
    "Last notice",
    "Last notice was",
]


@pytest.fixture
def register():
    area = factories.service_area(name="Riverside", code="RV")
    shop = factories.location(
        account_number="RB-000001",
        name="Oak Bakery",
        address_line1="400 Mill St",
        city="Riverbend",
        state="IL",
        postal_code="62704",
        property_type="commercial",
        service_area=area,
    )
    house = factories.location(account_number="RB-000002", property_type="residential")
    factories.role(shop, factories.contact(name="Jane Torres"), "owner", primary=True)
    return {
        "overdue": factories.assembly(
            shop,
            serial_number="W0000001",
            assembly_type="RP",
            size=Decimal("0.75"),
            manufacturer="Watts",
            model_number="LF009",
            placement='Basement, by the 2" main',
            installed_on=datetime.date(2015, 4, 1),
            last_tested_on=datetime.date(2020, 5, 2),
            last_test_result="fail",
        ),
        "compliant": factories.assembly(
            shop,
            serial_number="F0000002",
            assembly_type="DCDA",
            size=Decimal("6.00"),
            hazard="non_health",
            service_type="fire",
            last_tested_on=TODAY,
        ),
        "never": factories.assembly(
            house,
            serial_number="A0000003",
            assembly_type="PVB",
            last_tested_on=None,
            last_test_result="none",
            manufacturer="Ames",
        ),
    }


def get_csv(client, **params) -> list[dict[str, str]]:
    response = client.get(LIST_URL, {**params, "export": "csv"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "assemblies.csv" in response["Content-Disposition"]
    text = b"".join(response.streaming_content).decode("utf-8")
    reader = csv.reader(io.StringIO(text))
    header = next(reader)
    assert header == HEADINGS
    return [dict(zip(header, row, strict=True)) for row in reader]


def test_csv_export_has_every_column(admin_client, register):
    rows = {row["Serial number"]: row for row in get_csv(admin_client)}
    assert set(rows) == {"W0000001", "F0000002", "A0000003"}
    row = rows["W0000001"]
    assert row == {
        "Serial number": "W0000001",
        "Type code": "RP",
        "Type": "RP: reduced pressure principle",
        "Size": '3/4"',
        "Manufacturer": "Watts",
        "Model": "LF009",
        "Placement": 'Basement, by the 2" main',
        "Hazard": "Health hazard",
        "Service type": "Domestic",
        "Status": "Active",
        "Installed on": "2015-04-01",
        "Last tested on": "2020-05-02",
        "Last test result": "Fail",
        "Test frequency (months)": "12",
        "Next test due": "2021-05-02",
        # Its last test failed (and it is overdue too): the failure comes first.
        "Compliance status": "Failed last test",
        "Account number": "RB-000001",
        "Location name": "Oak Bakery",
        "Service address": "400 Mill St, Riverbend, IL 62704",
        "Property type": "Commercial",
        "Service area": "Riverside",
        "Last notice": "",
        "Last notice was": "",
    }
    assert rows["A0000003"]["Compliance status"] == "Never tested"
    assert rows["A0000003"]["Last tested on"] == ""
    assert rows["A0000003"]["Service area"] == ""
    assert rows["F0000002"]["Compliance status"] == "Compliant"


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"compliance": "failed_test"}, ["W0000001"]),
        ({"compliance": "overdue"}, []),
        ({"property_type": "commercial"}, ["F0000002", "W0000001"]),
        ({"compliance": ["compliant", "never_tested"]}, ["A0000003", "F0000002"]),
        ({"q": "torres"}, ["F0000002", "W0000001"]),
        ({"q": "torres", "hazard": "non_health"}, ["F0000002"]),
        ({"assembly_type": "AG"}, []),
    ],
)
def test_csv_export_respects_filters_and_search(admin_client, register, params, expected):
    assert sorted(row["Serial number"] for row in get_csv(admin_client, **params)) == expected


def test_export_holds_every_row_not_one_page(admin_client, register, settings):
    settings.WAGTAIL_BATCHCOMMS = {**settings.WAGTAIL_BATCHCOMMS, "LISTING_PAGE_SIZE": 2}
    html = admin_client.get(LIST_URL).content.decode()
    assert len(re.findall(r'id="snippet_\d+_title"', html)) == 2  # one page of two rows
    assert len(get_csv(admin_client)) == 3


def test_csv_export_respects_ordering(admin_client, register):
    rows = get_csv(admin_client, ordering="-next_test_due", status="active")
    dues = [row["Next test due"] for row in rows if row["Next test due"]]
    assert dues == sorted(dues, reverse=True) and len(dues) == 2


def test_xlsx_export(admin_client, register):
    response = admin_client.get(LIST_URL, {"export": "xlsx", "property_type": "commercial"})
    assert response.status_code == 200
    assert "assemblies.xlsx" in response["Content-Disposition"]
    content = b"".join(response.streaming_content)
    sheet = openpyxl.load_workbook(io.BytesIO(content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert list(rows[0]) == HEADINGS
    by_serial = {row[0]: dict(zip(HEADINGS, row, strict=True)) for row in rows[1:]}
    assert set(by_serial) == {"W0000001", "F0000002"}
    overdue = by_serial["W0000001"]
    # Dates are real spreadsheet dates, not text.
    assert overdue["Next test due"] in (datetime.date(2021, 5, 2), datetime.datetime(2021, 5, 2))
    assert overdue["Compliance status"] == "Failed last test"  # its last test failed
    assert overdue["Service address"] == "400 Mill St, Riverbend, IL 62704"


def test_export_buttons_carry_the_filters(admin_client, register):
    html = admin_client.get(LIST_URL, {"compliance": "overdue"}).content.decode()
    assert "export=csv" in html and "export=xlsx" in html
    assert (
        "compliance=overdue&amp;export=csv" in html or "export=csv&amp;compliance=overdue" in html
    )


def test_location_and_contact_exports(admin_client, register):
    response = admin_client.get(
        reverse("wagtailsnippets_wagtail_batchcomms_location:list"), {"export": "csv"}
    )
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    shop = next(row for row in rows if row["Account number"] == "RB-000001")
    assert shop["Assemblies"] == "2"
    assert shop["Service area"] == "Riverside"
    assert shop["Property type"] == "Commercial"
    response = admin_client.get(
        reverse("wagtailsnippets_wagtail_batchcomms_contact:list"), {"export": "csv"}
    )
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [row["Locations"] for row in rows if row["Name"] == "Jane Torres"] == ["1"]
