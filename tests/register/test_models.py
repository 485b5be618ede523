"""The register's models: database constraints, clean() rules and the computed due date."""

from __future__ import annotations

import datetime
from decimal import Decimal

import factories
import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError
from django.utils import timezone

from wagtail_batchcomms.models import Assembly, Contact, LocationContact, ServiceArea

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()
DAY = datetime.timedelta(days=1)


def integrity_error(create) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        create()


# --- service areas and locations -------------------------------------------------------


def test_service_area_name_and_code_are_unique():
    factories.service_area(name="Downtown", code="DT")
    integrity_error(lambda: ServiceArea.objects.create(name="Downtown", code="D2"))
    integrity_error(lambda: ServiceArea.objects.create(name="Downtown 2", code="DT"))
    assert str(ServiceArea.objects.get()) == "Downtown (DT)"


def test_location_account_number_is_unique():
    factories.location(account_number="RB-1")
    integrity_error(lambda: factories.location(account_number="RB-1"))


def test_a_service_area_with_locations_cannot_be_deleted():
    area = factories.service_area()
    factories.location(service_area=area)
    with pytest.raises(ProtectedError):
        area.delete()


def test_location_address_and_label():
    location = factories.location(
        account_number="RB-9",
        name="",
        address_line1="12 Mill St",
        address_line2="Unit 1",
        city="Riverbend",
        state="IL",
        postal_code="62704",
    )
    assert location.address_lines == ["12 Mill St", "Unit 1", "Riverbend, IL 62704"]
    assert location.address == "12 Mill St, Unit 1, Riverbend, IL 62704"
    assert location.has_address
    assert str(location) == "RB-9: 12 Mill St"
    meter = factories.location(account_number="RB-10", name="Oak Park", address_line1="")
    assert not meter.has_address
    assert str(meter) == "RB-10: Oak Park"
    assert str(factories.location(account_number="RB-11", address_line1="")).startswith("RB-11: (")


def test_a_location_with_assemblies_cannot_be_deleted():
    asm = factories.assembly()
    with pytest.raises(ProtectedError):
        asm.location.delete()


# --- contacts and roles ----------------------------------------------------------------


@pytest.mark.parametrize(
    "mailing",
    [
        {"mailing_address_line1": "PO Box 1"},
        {"mailing_address_line1": "PO Box 1", "mailing_city": "Riverbend"},
        {"mailing_city": "Riverbend", "mailing_postal_code": "62701"},
    ],
)
def test_contact_partial_mailing_address_is_refused(mailing):
    contact = Contact(name="Ann Lee", **mailing)
    with pytest.raises(ValidationError, match="mailing address needs"):
        contact.full_clean()


@pytest.mark.parametrize(
    "mailing",
    [
        {},
        {
            "mailing_address_line1": "PO Box 1",
            "mailing_city": "Riverbend",
            "mailing_postal_code": "62701",
        },
    ],
)
def test_contact_without_or_with_a_full_mailing_address_is_valid(mailing):
    contact = Contact(name="Ann Lee", **mailing)
    contact.full_clean()
    assert contact.has_mailing_address is bool(mailing)


def test_contact_can_email_only_with_an_address_and_no_paper_preference():
    assert Contact(name="a", email="a@example.com").can_email
    assert not Contact(name="a", email="").can_email
    assert not Contact(name="a", email="a@example.com", prefers_paper=True).can_email
    assert str(Contact(name="Ann", organisation="Oak LLC")) == "Ann (Oak LLC)"


def test_a_contact_holds_a_role_once_per_location():
    location, contact = factories.location(), factories.contact()
    factories.role(location, contact, "owner")
    integrity_error(lambda: factories.role(location, contact, "owner"))
    factories.role(location, contact, "billing")  # another role: fine
    factories.role(factories.location(), contact, "owner")  # another location: fine
    assert contact.locations.distinct().count() == 2


def test_one_primary_contact_per_location_and_role():
    location = factories.location()
    factories.role(location, factories.contact(), "owner", primary=True)
    integrity_error(lambda: factories.role(location, factories.contact(), "owner", primary=True))
    factories.role(location, factories.contact(), "owner", primary=False)
    factories.role(location, factories.contact(), "owner", primary=False)
    factories.role(location, factories.contact(), "tenant", primary=True)
    factories.role(factories.location(), factories.contact(), "owner", primary=True)
    assert LocationContact.objects.filter(location=location, is_primary=True).count() == 2


def test_second_primary_is_a_validation_error_in_forms():
    location = factories.location()
    factories.role(location, factories.contact(), "owner", primary=True)
    second = LocationContact(
        location=location, contact=factories.contact(), role="owner", is_primary=True
    )
    with pytest.raises(ValidationError, match="already has a primary contact"):
        second.validate_constraints()


def test_deleting_a_location_deletes_its_roles_not_its_contacts():
    location, contact = factories.location(), factories.contact()
    factories.role(location, contact)
    location.delete()
    assert not LocationContact.objects.exists()
    assert Contact.objects.filter(pk=contact.pk).exists()


# --- assemblies ------------------------------------------------------------------------


def test_serial_number_is_unique_per_manufacturer():
    location = factories.location()
    factories.assembly(location, serial_number="X1", manufacturer="Watts")
    integrity_error(lambda: factories.assembly(location, serial_number="X1", manufacturer="Watts"))
    factories.assembly(location, serial_number="X1", manufacturer="Febco")


def test_a_test_result_needs_a_test_date_in_the_database():
    integrity_error(lambda: factories.assembly(last_tested_on=None, last_test_result="pass"))
    untested = factories.assembly(last_tested_on=None, last_test_result="none")
    assert untested.next_test_due is None


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"last_tested_on": None, "last_test_result": "fail"}, "last_tested_on"),
        ({"last_tested_on": TODAY + DAY}, "last_tested_on"),
        (
            {"installed_on": TODAY + DAY, "last_tested_on": None, "last_test_result": "none"},
            "installed_on",
        ),
        ({"installed_on": TODAY - DAY, "last_tested_on": TODAY - 2 * DAY}, "last_tested_on"),
    ],
)
def test_assembly_clean_refuses_impossible_dates(fields, field):
    location = factories.location()
    values = {
        "serial_number": "C1",
        "location": location,
        "assembly_type": "RP",
        "size": Decimal("1.00"),
        "hazard": "health",
        "service_type": "domestic",
        "last_tested_on": TODAY - 10 * DAY,
        "last_test_result": "pass",
        **fields,
    }
    with pytest.raises(ValidationError) as error:
        Assembly(**values).full_clean()
    assert field in error.value.message_dict


def test_assembly_clean_accepts_a_plausible_record():
    Assembly(
        serial_number="C2",
        location=factories.location(),
        assembly_type="DCDA",
        size=Decimal("6.00"),
        hazard="non_health",
        service_type="fire",
        installed_on=TODAY - 400 * DAY,
        last_tested_on=TODAY,
        last_test_result="pass",
    ).full_clean()


@pytest.mark.parametrize(
    ("tested", "months", "due"),
    [
        (datetime.date(2024, 3, 15), 12, datetime.date(2025, 3, 15)),
        (datetime.date(2024, 1, 31), 1, datetime.date(2024, 2, 29)),  # clamped, leap year
        (datetime.date(2023, 8, 31), 6, datetime.date(2024, 2, 29)),
        (datetime.date(2024, 2, 29), 12, datetime.date(2025, 2, 28)),
        (datetime.date(2024, 5, 2), 24, datetime.date(2026, 5, 2)),
    ],
)
def test_next_test_due_is_computed_from_the_last_test(tested, months, due):
    asm = factories.assembly(last_tested_on=tested, test_frequency_months=months)
    asm.refresh_from_db()
    assert asm.next_test_due == due


def test_an_entered_next_test_due_is_kept():
    entered = TODAY + 5 * DAY
    asm = factories.assembly(next_test_due=entered)
    asm.refresh_from_db()
    assert asm.next_test_due == entered


def test_a_new_test_date_moves_the_due_date_when_it_is_cleared():
    asm = factories.assembly(last_tested_on=datetime.date(2023, 6, 1))
    asm.last_tested_on = datetime.date(2024, 6, 1)
    asm.next_test_due = None
    asm.save()
    asm.refresh_from_db()
    assert asm.next_test_due == datetime.date(2025, 6, 1)


def test_test_frequency_is_bounded():
    asm = factories.assembly()
    for months in (0, 121):
        asm.test_frequency_months = months
        with pytest.raises(ValidationError) as error:
            asm.full_clean()
        assert "test_frequency_months" in error.value.message_dict


def test_assembly_labels():
    asm = factories.assembly(serial_number="W123", assembly_type="RP", size=Decimal("0.75"))
    assert str(asm) == "RP W123"
    assert asm.size_label == '3/4"'
    assert asm.compliance_label == ""  # not annotated
    annotated = Assembly.objects.with_compliance().get(pk=asm.pk)
    assert annotated.compliance_label == "Compliant"


def test_next_test_due_cannot_precede_the_last_test():
    asm = factories.assembly(last_tested_on=TODAY - 10 * DAY)
    asm.next_test_due = TODAY - 20 * DAY
    with pytest.raises(ValidationError) as error:
        asm.full_clean()
    assert "next_test_due" in error.value.message_dict
