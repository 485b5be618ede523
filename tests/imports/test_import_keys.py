"""Upsert by natural keys: a location by account number, an assembly by (manufacturer,
serial number), a contact by email (without case) or else by name + mailing address line 1
+ mailing postal code, a service area by code or name."""

from __future__ import annotations

import factories
import pytest
from import_data import imported, row

from wagtail_batchcomms.models import Assembly, Contact, ImportStatus, Location, LocationContact

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _private(private_root):
    return private_root


def test_location_by_account_number():
    location = factories.location(account_number="100-001", name="Old name")
    run = imported([row(location_name="New name")])
    assert run.results["location"] == {"created": 0, "updated": 1, "unchanged": 0}
    location.refresh_from_db()
    assert location.name == "New name"
    assert Location.objects.count() == 1


def test_assembly_by_manufacturer_and_serial_number():
    location = factories.location(account_number="100-001")
    existing = factories.assembly(location, serial_number="SN-0001", manufacturer="Watts")
    run = imported([row(), row(manufacturer="Febco")])
    assert run.results["assembly"]["created"] == 1, "same serial, another maker: another one"
    assert run.results["assembly"]["updated"] == 1
    assert set(Assembly.objects.values_list("manufacturer", "serial_number")) == {
        ("Watts", "SN-0001"),
        ("Febco", "SN-0001"),
    }
    existing.refresh_from_db()
    assert existing.last_test_result == "pass"


def test_an_assembly_moves_to_the_location_the_file_names():
    old = factories.location(account_number="OLD")
    factories.assembly(old, serial_number="SN-0001", manufacturer="Watts")
    imported([row()])
    assert Assembly.objects.get().location.account_number == "100-001"


def test_contact_by_email_without_case():
    contact = factories.contact(name="Ada Baker", email="Ada@Bakery.example")
    run = imported([row()])
    assert run.results["contact"]["created"] == 0
    assert Contact.objects.count() == 1
    assert LocationContact.objects.get().contact == contact


def test_contact_without_email_by_name_mailing_address_and_postal_code():
    kept = factories.contact(
        name="Bo Smith",
        email="",
        mailing_address_line1="PO Box 7",
        mailing_city="Riverbend",
        mailing_postal_code="62701",
    )
    base = {"email": "", "contact_name": "bo  SMITH", "mailing_city": "Riverbend"}
    run = imported(
        [
            row(**base, mailing_address_line1="po box 7", mailing_postal_code="62701"),
            # Same name and town, another address: another person.
            row(
                **base,
                serial_number="SN-2",
                account_number="100-002",
                mailing_address_line1="PO Box 8",
                mailing_postal_code="62701",
            ),
        ]
    )
    assert run.status == ImportStatus.IMPORTED, run.errors
    # Found by its key; its name and address are then written as the file spells them.
    assert run.results["contact"] == {"created": 1, "updated": 1, "unchanged": 0}
    assert LocationContact.objects.get(location__account_number="100-001").contact == kept
    assert Contact.objects.count() == 2


def test_service_area_by_code_or_name_never_created():
    area = factories.service_area(name="North Zone", code="N1")
    run = imported(
        [
            row(service_area="n1"),
            row(account_number="100-002", serial_number="S2", service_area="north zone"),
        ]
    )
    assert run.status == ImportStatus.IMPORTED
    assert set(Location.objects.values_list("service_area", flat=True)) == {area.pk}
