"""The register's admin pages: listings, add/edit/inspect, the location's contacts inline,
and the links between assemblies, locations and contacts."""

from __future__ import annotations

import datetime
import re

import factories
import pytest
from django.urls import reverse
from django.utils import timezone
from wagtail.test.utils.form_data import inline_formset, nested_form_data

from wagtail_batchcomms.demo.accounts import ensure_demo_accounts
from wagtail_batchcomms.models import Assembly, Contact, Location, LocationContact, ServiceArea

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()


def url(model: str, view: str, *args) -> str:
    return reverse(f"wagtailsnippets_wagtail_batchcomms_{model}:{view}", args=args)


def shown_serials(html: str) -> list[str]:
    return re.findall(r'id="snippet_\d+_title">\s*(?:<a[^>]*>)?\s*([A-Z0-9-]+)', html)


@pytest.fixture
def site():
    area = factories.service_area(name="Riverside", code="RV")
    bakery = factories.location(
        account_number="RB-000001", name="Oak Bakery", service_area=area, address_line1="1 Mill St"
    )
    house = factories.location(account_number="RB-000002", property_type="residential")
    owner = factories.contact(name="Jane Torres", organisation="Torres LLC")
    manager = factories.contact(name="Sam Keystone", email="")
    factories.role(bakery, owner, "owner", primary=True)
    factories.role(bakery, manager, "property_manager", primary=True)
    factories.role(house, manager, "property_manager", primary=True)
    assemblies = [
        factories.assembly(
            bakery, serial_number="B-1", next_test_due=TODAY + datetime.timedelta(days=5)
        ),
        factories.assembly(
            bakery, serial_number="B-2", next_test_due=TODAY - datetime.timedelta(days=5)
        ),
        factories.assembly(
            house, serial_number="H-1", last_tested_on=None, last_test_result="none"
        ),
    ]
    return {
        "area": area,
        "bakery": bakery,
        "house": house,
        "owner": owner,
        "manager": manager,
        "assemblies": assemblies,
    }


# --- listings ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ordering", "expected"),
    [
        ("serial_number", ["B-1", "B-2", "H-1"]),
        ("-serial_number", ["H-1", "B-2", "B-1"]),
        # H-1 has no due date: last both ways, on SQLite and PostgreSQL alike.
        ("next_test_due", ["B-2", "B-1", "H-1"]),
        ("-next_test_due", ["B-1", "B-2", "H-1"]),
        ("compliance_rank", ["B-2", "B-1", "H-1"]),  # overdue, due within 30, never tested
        # B-1 and B-2 share a location: ties follow the primary key, the same way round.
        ("-location__account_number", ["H-1", "B-2", "B-1"]),
        ("location__account_number", ["B-1", "B-2", "H-1"]),
    ],
)
def test_assembly_listing_sorts(admin_client, site, ordering, expected):
    html = admin_client.get(url("assembly", "list"), {"ordering": ordering}).content.decode()
    assert shown_serials(html) == expected


def test_pages_of_a_sort_with_ties_hold_every_row_once(admin_client, app_settings):
    app_settings(LISTING_PAGE_SIZE=7)
    place = factories.location()
    due = TODAY + datetime.timedelta(days=40)
    for number in range(23):
        factories.assembly(place, serial_number=f"T-{number:02d}", next_test_due=due)
    for ordering in ("next_test_due", "-next_test_due", "hazard", "-status"):
        seen = []
        for page in (1, 2, 3, 4):
            html = admin_client.get(
                url("assembly", "list"), {"ordering": ordering, "p": page}
            ).content.decode()
            seen += shown_serials(html)
        assert sorted(seen) == [f"T-{number:02d}" for number in range(23)], ordering


def test_assembly_listing_shows_the_register(admin_client, site):
    response = admin_client.get(url("assembly", "list"))
    html = response.content.decode()
    assert response.status_code == 200
    # Filters, search, export and the columns are on the page.
    for name in ("compliance", "property_type", "service_area", "next_test_due_from", "q"):
        assert f'name="{name}"' in html, name
    assert "export=csv" in html
    assert ">Overdue</span>" in html and "w-status--primary" in html
    bakery = site["bakery"]
    assert f'href="{bakery.get_admin_url()}">{bakery}</a>' in html.replace("&#x27;", "'")
    assert "RV" in html  # the service area code


@pytest.mark.parametrize("model", ["location", "contact", "servicearea"])
def test_other_listings_render_with_counts(admin_client, site, model):
    html = admin_client.get(url(model, "list")).content.decode()
    if model == "location":
        row = html[html.index("RB-000001") :]
        assert re.search(r"<td[^>]*>\s*2\s*</td>", row)  # two assemblies
    if model == "contact":
        row = html[html.index("Sam Keystone") :]
        assert re.search(r"<td[^>]*>\s*2\s*</td>", row)  # two locations
    if model == "servicearea":
        assert "Riverside" in html


@pytest.mark.parametrize(
    ("model", "ordering"),
    [
        ("location", "-assembly_total"),
        ("location", "service_area__code"),
        ("contact", "-location_total"),
        ("servicearea", "location_total"),
    ],
)
def test_other_listings_sort(admin_client, site, model, ordering):
    assert admin_client.get(url(model, "list"), {"ordering": ordering}).status_code == 200


# --- add, edit, inspect ------------------------------------------------------------------


@pytest.mark.parametrize("model", ["assembly", "location", "contact", "servicearea"])
def test_add_and_edit_pages_render(admin_client, site, model):
    obj = {
        "assembly": site["assemblies"][0],
        "location": site["bakery"],
        "contact": site["owner"],
        "servicearea": site["area"],
    }[model]
    assert admin_client.get(url(model, "add")).status_code == 200
    assert admin_client.get(url(model, "edit", obj.pk)).status_code == 200
    if model != "servicearea":
        assert admin_client.get(url(model, "inspect", obj.pk)).status_code == 200


def test_create_an_assembly_computes_its_due_date(admin_client, site):
    response = admin_client.post(
        url("assembly", "add"),
        {
            "location": site["house"].pk,
            "serial_number": "NEW-1",
            "assembly_type": "PVB",
            "size": "1.00",
            "manufacturer": "Febco",
            "model_number": "765",
            "placement": "Front yard",
            "hazard": "health",
            "service_type": "irrigation",
            "status": "active",
            "installed_on": "2020-04-01",
            "last_tested_on": "2024-06-15",
            "last_test_result": "pass",
            "test_frequency_months": "12",
            "next_test_due": "",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    created = Assembly.objects.get(serial_number="NEW-1")
    assert created.next_test_due == datetime.date(2025, 6, 15)
    assert created.location == site["house"]


def test_create_an_assembly_refuses_a_future_test(admin_client, site):
    response = admin_client.post(
        url("assembly", "add"),
        {
            "location": site["house"].pk,
            "serial_number": "NEW-2",
            "assembly_type": "DC",
            "size": "1.00",
            "hazard": "non_health",
            "service_type": "domestic",
            "status": "active",
            "last_tested_on": (TODAY + datetime.timedelta(days=3)).isoformat(),
            "last_test_result": "pass",
            "test_frequency_months": "12",
        },
    )
    assert response.status_code == 200
    assert "cannot be in the future" in response.content.decode()
    assert not Assembly.objects.filter(serial_number="NEW-2").exists()


def location_post(location: Location, roles: list[dict], **changes) -> dict:
    data = {
        "account_number": location.account_number,
        "name": location.name,
        "address_line1": location.address_line1,
        "address_line2": "",
        "city": location.city,
        "state": location.state,
        "postal_code": location.postal_code,
        "property_type": location.property_type,
        "service_area": location.service_area_id or "",
        "is_active": "on",
        "location_contacts": inline_formset(roles, initial=len([r for r in roles if r.get("id")])),
        **changes,
    }
    return nested_form_data(data)


def existing_roles(location: Location) -> list[dict]:
    return [
        {
            "id": role.pk,
            "contact": role.contact_id,
            "role": role.role,
            "is_primary": "on" if role.is_primary else "",
        }
        for role in location.location_contacts.order_by("pk")
    ]


def test_location_edit_adds_a_contact_inline(admin_client, site):
    bakery, tenant = site["bakery"], factories.contact(name="Tina Tenant")
    roles = [*existing_roles(bakery), {"contact": tenant.pk, "role": "tenant", "is_primary": "on"}]
    response = admin_client.post(
        url("location", "edit", bakery.pk), location_post(bakery, roles, name="Oak Bakery & Cafe")
    )
    assert response.status_code == 302
    bakery.refresh_from_db()
    assert bakery.name == "Oak Bakery & Cafe"
    assert LocationContact.objects.filter(
        location=bakery, contact=tenant, role="tenant", is_primary=True
    ).exists()
    assert bakery.location_contacts.count() == 3


def test_location_edit_refuses_a_second_primary_for_a_role(admin_client, site):
    bakery, other = site["bakery"], factories.contact(name="Olga Other")
    roles = [*existing_roles(bakery), {"contact": other.pk, "role": "owner", "is_primary": "on"}]
    response = admin_client.post(url("location", "edit", bakery.pk), location_post(bakery, roles))
    assert response.status_code == 200  # the form again, not a database error
    assert "already the primary owner" in response.content.decode()
    assert not LocationContact.objects.filter(contact=other).exists()


def test_location_edit_refuses_the_same_role_twice(admin_client, site):
    bakery = site["bakery"]
    owner = site["owner"]
    roles = [*existing_roles(bakery), {"contact": owner.pk, "role": "owner", "is_primary": ""}]
    response = admin_client.post(url("location", "edit", bakery.pk), location_post(bakery, roles))
    assert response.status_code == 200
    assert bakery.location_contacts.count() == 2


def test_location_edit_removes_a_contact_inline(admin_client, site):
    bakery = site["bakery"]
    roles = existing_roles(bakery)
    roles[1]["DELETE"] = "1"
    response = admin_client.post(url("location", "edit", bakery.pk), location_post(bakery, roles))
    assert response.status_code == 302
    assert list(bakery.location_contacts.values_list("role", flat=True)) == ["owner"]
    assert Contact.objects.filter(pk=site["manager"].pk).exists()  # only the role went


@pytest.mark.parametrize("sent", ["no formset", "an empty formset"])
def test_location_edit_leaves_contacts_out_for_a_user_who_may_not_look_at_them(client, site, sent):
    """``change_location`` without any Contact permission: the edit form neither names the
    location's contacts nor offers the others in its chooser, and saving it (with no rows,
    or an empty formset a crafted POST could send) keeps the roles as they were."""
    clerk = factories.user(
        "clerk",
        perms=[
            factories.ADMIN_ACCESS,
            "wagtail_batchcomms.view_location",
            "wagtail_batchcomms.change_location",
        ],
    )
    client.force_login(clerk)
    bakery = site["bakery"]
    before = existing_roles(bakery)
    page = client.get(url("location", "edit", bakery.pk))
    assert page.status_code == 200
    html = page.content.decode()
    assert 'name="name"' in html and "Oak Bakery" in html  # the form itself is there
    for name in ("Jane Torres", "Torres LLC", "Sam Keystone"):
        assert name not in html
    assert "location_contacts-TOTAL_FORMS" not in html
    data = location_post(bakery, [], name="Oak Bakery & Cafe")
    if sent == "no formset":
        data = {key: value for key, value in data.items() if "location_contacts" not in key}
    response = client.post(url("location", "edit", bakery.pk), data)
    assert response.status_code == 302
    bakery.refresh_from_db()
    assert bakery.name == "Oak Bakery & Cafe"
    assert existing_roles(bakery) == before


def test_create_a_contact_and_a_service_area(admin_client, site):
    response = admin_client.post(
        url("contact", "add"),
        {
            "name": "Pat Paper",
            "email": "",
            "prefers_paper": "on",
            "mailing_address_line1": "PO Box 9",
            "mailing_city": "Riverbend",
            "mailing_postal_code": "62701",
            "mailing_state": "IL",
        },
    )
    assert response.status_code == 302
    assert Contact.objects.get(name="Pat Paper").has_mailing_address
    response = admin_client.post(
        url("contact", "add"), {"name": "Half Address", "mailing_city": "Riverbend"}
    )
    assert response.status_code == 200 and not Contact.objects.filter(name="Half Address").exists()
    response = admin_client.post(url("servicearea", "add"), {"name": "Hillcrest", "code": "HC"})
    assert response.status_code == 302
    assert ServiceArea.objects.filter(code="HC").exists()


# --- links between the register's objects ------------------------------------------------


def test_assembly_inspect_links_to_its_location_and_lists_the_contacts(admin_client, site):
    asm = site["assemblies"][0]
    html = admin_client.get(url("assembly", "inspect", asm.pk)).content.decode()
    assert f'href="{url("location", "inspect", site["bakery"].pk)}"' in html
    assert f'href="{url("contact", "inspect", site["owner"].pk)}"' in html
    assert "Property manager" in html


def test_location_inspect_lists_assemblies_and_contacts(admin_client, site):
    bakery = site["bakery"]
    html = admin_client.get(url("location", "inspect", bakery.pk)).content.decode()
    for asm in site["assemblies"][:2]:
        assert f'href="{url("assembly", "inspect", asm.pk)}">{asm.serial_number}</a>' in html
    assert "H-1" not in html
    assert f'href="{url("contact", "inspect", site["manager"].pk)}"' in html
    assert html.index("Account number") < html.index("Assemblies at this location")
    assert ">Overdue</span>" in html


def test_contact_inspect_and_edit_list_their_locations(admin_client, site):
    manager = site["manager"]
    for view in ("inspect", "edit"):
        html = admin_client.get(url("contact", view, manager.pk)).content.decode()
        assert f'href="{url("location", "inspect", site["bakery"].pk)}"' in html, view
        assert f'href="{url("location", "inspect", site["house"].pk)}"' in html, view
        assert "Locations and roles" in html


def test_location_and_assembly_edit_pages_show_related_objects(admin_client, site):
    html = admin_client.get(url("location", "edit", site["bakery"].pk)).content.decode()
    assert f'href="{url("assembly", "inspect", site["assemblies"][1].pk)}"' in html
    html = admin_client.get(url("assembly", "edit", site["assemblies"][0].pk)).content.decode()
    assert f'href="{url("contact", "inspect", site["owner"].pk)}"' in html
    # Nothing related on an add page.
    assert (
        "Assemblies at this location"
        not in admin_client.get(url("location", "add")).content.decode()
    )


def test_links_only_where_the_user_may_look(client, site):
    ensure_demo_accounts()
    from django.contrib.auth import get_user_model

    client.force_login(get_user_model().objects.get(username="editor"))  # no contact perms
    html = client.get(url("location", "inspect", site["bakery"].pk)).content.decode()
    assert f'href="{url("assembly", "inspect", site["assemblies"][0].pk)}"' in html
    assert f'href="{url("contact", "inspect", site["owner"].pk)}"' not in html
    # Nor named: a location's contacts are the Contacts' data (test_access_matrix).
    assert "Jane Torres" not in html


def test_listing_links_go_where_the_user_may_go(client, admin_client, site):
    bakery = site["bakery"]
    html = admin_client.get(url("assembly", "list")).content.decode()
    assert f'href="{url("location", "edit", bakery.pk)}"' in html
    ensure_demo_accounts()
    from django.contrib.auth import get_user_model

    client.force_login(get_user_model().objects.get(username="editor"))  # may only look
    html = client.get(url("assembly", "list")).content.decode()
    assert f'href="{url("location", "inspect", bakery.pk)}"' in html
    assert f'href="{url("location", "edit", bakery.pk)}"' not in html
