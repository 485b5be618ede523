"""Search on the register listings: serial, account number, address, contact name."""

from __future__ import annotations

import factories
import pytest
from django.urls import reverse

from wagtail_batchcomms.models import Assembly
from wagtail_batchcomms.register.filters import search_assemblies

pytestmark = pytest.mark.django_db

LIST_URL = reverse("wagtailsnippets_wagtail_batchcomms_assembly:list")


@pytest.fixture
def register():
    bakery = factories.location(
        account_number="RB-000111", name="Oak Bakery", address_line1="400 Mill St"
    )
    house = factories.location(account_number="RB-000222", name="", address_line1="12 Elm St")
    meter = factories.location(account_number="RB-000333", name="Cedar Park", address_line1="")
    # Two contacts at the bakery match "torres"; one at the house matches "whitfield".
    factories.role(bakery, factories.contact(name="Jane Torres"), "owner", primary=True)
    factories.role(bakery, factories.contact(name="Tom Torres"), "tenant")
    factories.role(house, factories.contact(name="Dana Whitfield"), "owner", primary=True)
    return {
        "B1": factories.assembly(bakery, serial_number="W0012345"),
        "B2": factories.assembly(bakery, serial_number="F7000001"),
        "H1": factories.assembly(house, serial_number="ZW5550001"),
        "M1": factories.assembly(meter, serial_number="A0000777"),
    }


def search(query: str) -> list[str]:
    return sorted(
        search_assemblies(Assembly.objects.all(), query).values_list("serial_number", flat=True)
    )


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("W0012345", ["W0012345"]),
        ("w00123", ["W0012345"]),  # part of a serial, any case
        ("0001", ["F7000001", "W0012345", "ZW5550001"]),  # two serials, RB-000111
        ("RB-000222", ["ZW5550001"]),  # account number
        ("000111", ["F7000001", "W0012345"]),
        ("mill st", ["F7000001", "W0012345"]),  # street address
        ("Cedar Park", ["A0000777"]),  # location name
        ("torres", ["F7000001", "W0012345"]),  # contact name: each assembly once
        ("Dana", ["ZW5550001"]),
        ("  whitfield  ", ["ZW5550001"]),  # surrounding spaces ignored
        ("no such thing", []),
    ],
)
def test_search_assemblies(register, query, expected):
    assert search(query) == expected


def test_empty_search_changes_nothing(register):
    assert search("") == search("   ") == sorted(a.serial_number for a in register.values())


def test_two_matching_contacts_do_not_repeat_an_assembly(register):
    found = list(search_assemblies(Assembly.objects.all(), "Torres"))
    assert len(found) == len({a.pk for a in found}) == 2


def test_listing_search(admin_client, register):
    html = admin_client.get(LIST_URL, {"q": "torres"}).content.decode()
    assert html.count(">W0012345<") == 1
    assert html.count(">F7000001<") == 1
    assert ">ZW5550001<" not in html and ">A0000777<" not in html


def test_listing_search_with_filters_and_ordering(admin_client, register):
    Assembly.objects.filter(serial_number="F7000001").update(assembly_type="DC")
    html = admin_client.get(
        LIST_URL, {"q": "torres", "assembly_type": "DC", "ordering": "-next_test_due"}
    ).content.decode()
    assert ">F7000001<" in html
    assert ">W0012345<" not in html


def test_listing_search_results_fragment(admin_client, register):
    """The AJAX request the search box makes returns the results only."""
    url = reverse("wagtailsnippets_wagtail_batchcomms_assembly:list_results")
    response = admin_client.get(url, {"q": "RB-000222"})
    assert response.status_code == 200
    html = response.content.decode()
    assert ">ZW5550001<" in html and "<html" not in html


def test_location_and_contact_listing_search(admin_client, register):
    html = admin_client.get(
        reverse("wagtailsnippets_wagtail_batchcomms_location:list"), {"q": "mill"}
    ).content.decode()
    assert "RB-000111" in html and "RB-000222" not in html
    html = admin_client.get(
        reverse("wagtailsnippets_wagtail_batchcomms_contact:list"), {"q": "torres"}
    ).content.decode()
    assert "Jane Torres" in html and "Tom Torres" in html and "Dana Whitfield" not in html
