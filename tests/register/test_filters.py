"""The listings' filters, alone and combined, against sets worked out in Python."""

from __future__ import annotations

import datetime
import random
from dataclasses import dataclass
from decimal import Decimal

import factories
import pytest
from django.http import QueryDict
from django.urls import reverse
from django.utils import timezone

from wagtail_batchcomms.models import Assembly, Contact, Location
from wagtail_batchcomms.register.filters import (
    AssemblyFilterSet,
    ContactFilterSet,
    LocationFilterSet,
)

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()
LIST_URL = reverse("wagtailsnippets_wagtail_batchcomms_assembly:list")


@dataclass
class Row:
    """What the test knows about an assembly, independently of the database."""

    serial: str
    area: str
    property_type: str
    assembly_type: str
    hazard: str
    service_type: str
    status: str
    last_tested_on: datetime.date | None
    result: str
    next_test_due: datetime.date | None
    location_active: bool
    city: str
    postal_code: str

    @property
    def compliance(self) -> str:
        """The rules, written out plainly (not the code under test)."""
        if self.status != "active":
            return "inactive"
        if self.last_tested_on is None:
            return "never_tested"
        if self.result == "fail":  # until a passing test, whatever the dates
            return "failed_test"
        if self.next_test_due is None or self.next_test_due < TODAY:
            return "overdue"
        days = (self.next_test_due - TODAY).days
        if days <= 30:
            return "due_30"
        if days <= 60:
            return "due_60"
        if days <= 90:
            return "due_90"
        return "compliant"


@pytest.fixture
def register():
    """Forty assemblies at twenty locations in three areas, attributes drawn at random."""
    rng = random.Random(20240601)
    areas = {code: factories.service_area(name=f"Area {code}", code=code) for code in "ABC"}
    rows: list[Row] = []
    for n in range(20):
        area = rng.choice("ABC")
        location = factories.location(
            service_area=areas[area],
            property_type=rng.choice(
                [
                    "residential",
                    "commercial",
                    "industrial",
                    "multi_family",
                    "institutional",
                    "irrigation",
                ]
            ),
            is_active=rng.random() > 0.2,
            city=rng.choice(["Riverbend", "Riverbend Township", "riverbend"]),
            postal_code=rng.choice(["62701", "62704", "62710", "61602"]),
        )
        for k in range(2):
            tested = rng.random() > 0.15
            last = TODAY - datetime.timedelta(days=rng.randint(1, 700)) if tested else None
            months = rng.choice([12, 12, 6, 24])
            asm = factories.assembly(
                location,
                serial_number=f"F{n:02d}{k}",
                assembly_type=rng.choice(["RP", "RPDA", "DC", "DCDA", "PVB", "SVB", "AVB", "AG"]),
                size=Decimal("1.00"),
                hazard=rng.choice(["health", "non_health"]),
                service_type=rng.choice(["domestic", "fire", "irrigation", "process"]),
                status=rng.choice(["active"] * 6 + ["inactive", "removed"]),
                last_tested_on=last,
                last_test_result=rng.choice(["pass", "pass", "fail", "none"]) if tested else "none",
                test_frequency_months=months,
            )
            asm.refresh_from_db()
            rows.append(
                Row(
                    serial=asm.serial_number,
                    area=area,
                    property_type=location.property_type,
                    assembly_type=asm.assembly_type,
                    hazard=asm.hazard,
                    service_type=asm.service_type,
                    status=asm.status,
                    last_tested_on=last,
                    result=asm.last_test_result,
                    next_test_due=asm.next_test_due,
                    location_active=location.is_active,
                    city=location.city,
                    postal_code=location.postal_code,
                )
            )
    return areas, rows


def filtered(params: dict, areas) -> set[str]:
    data = QueryDict(mutable=True)
    for key, value in params.items():
        values = value if isinstance(value, list) else [value]
        if key == "service_area":
            values = [str(areas[code].pk) for code in values]
        data.setlist(key, values)
    filterset = AssemblyFilterSet(data, queryset=Assembly.objects.all())
    assert filterset.is_valid(), filterset.errors
    return set(filterset.qs.values_list("serial_number", flat=True))


def due(days: int) -> str:
    return (TODAY + datetime.timedelta(days=days)).isoformat()


# (query parameters, the rows that should match)
SINGLE = [
    ({"service_area": ["A"]}, lambda r: r.area == "A"),
    ({"service_area": ["A", "C"]}, lambda r: r.area in "AC"),
    ({"property_type": ["commercial"]}, lambda r: r.property_type == "commercial"),
    (
        {"property_type": ["residential", "irrigation"]},
        lambda r: r.property_type in ("residential", "irrigation"),
    ),
    ({"assembly_type": ["RP"]}, lambda r: r.assembly_type == "RP"),
    ({"assembly_type": ["DC", "DCDA", "AG"]}, lambda r: r.assembly_type in ("DC", "DCDA", "AG")),
    ({"hazard": "health"}, lambda r: r.hazard == "health"),
    ({"hazard": "non_health"}, lambda r: r.hazard == "non_health"),
    ({"service_type": ["fire", "process"]}, lambda r: r.service_type in ("fire", "process")),
    ({"status": ["inactive", "removed"]}, lambda r: r.status != "active"),
    ({"status": ["active"]}, lambda r: r.status == "active"),
    ({"compliance": ["overdue"]}, lambda r: r.compliance == "overdue"),
    ({"compliance": ["due_30", "due_60", "due_90"]}, lambda r: r.compliance.startswith("due")),
    (
        {"compliance": ["never_tested", "inactive"]},
        lambda r: r.compliance in ("never_tested", "inactive"),
    ),
    ({"compliance": ["compliant"]}, lambda r: r.compliance == "compliant"),
    ({"compliance": ["failed_test"]}, lambda r: r.compliance == "failed_test"),
    (
        {"compliance": ["failed_test", "overdue"]},
        lambda r: r.compliance in ("failed_test", "overdue"),
    ),
    (
        {"next_test_due_from": due(-30), "next_test_due_to": due(60)},
        lambda r: (
            r.next_test_due is not None and due(-30) <= r.next_test_due.isoformat() <= due(60)
        ),
    ),
    (
        {"next_test_due_to": due(0)},
        lambda r: r.next_test_due is not None and r.next_test_due <= TODAY,
    ),
    (
        {"next_test_due_from": due(200)},
        lambda r: r.next_test_due is not None and r.next_test_due.isoformat() >= due(200),
    ),
    ({"last_test_result": ["fail"]}, lambda r: r.result == "fail"),
    ({"last_test_result": ["pass", "none"]}, lambda r: r.result in ("pass", "none")),
    ({"location_active": "true"}, lambda r: r.location_active),
    ({"location_active": "false"}, lambda r: not r.location_active),
    ({"city": "RIVERBEND"}, lambda r: r.city.lower() == "riverbend"),
    ({"city": "Riverbend Township"}, lambda r: r.city == "Riverbend Township"),
    ({"postal_code": "6270"}, lambda r: r.postal_code.startswith("6270")),
    ({"postal_code": "62710"}, lambda r: r.postal_code == "62710"),
]

COMBINED = [
    (
        {
            # Both non-compliant statuses: with failed tests taken out of "overdue", overdue
            # alone selects none of these rows.
            "compliance": ["overdue", "failed_test"],
            "property_type": ["commercial", "industrial"],
            "service_area": ["A", "B"],
        },
        lambda r: (
            r.compliance in ("overdue", "failed_test")
            and r.property_type in ("commercial", "industrial")
            and r.area in "AB"
        ),
    ),
    (
        {"assembly_type": ["RP", "DC"], "hazard": "health", "location_active": "true"},
        lambda r: r.assembly_type in ("RP", "DC") and r.hazard == "health" and r.location_active,
    ),
    (
        {"status": ["active"], "next_test_due_to": due(90), "city": "riverbend"},
        lambda r: (
            r.status == "active"
            and r.next_test_due is not None
            and r.next_test_due.isoformat() <= due(90)
            and r.city.lower() == "riverbend"
        ),
    ),
    (
        {
            "service_type": ["domestic", "irrigation"],
            "last_test_result": ["pass"],
            "postal_code": "627",
        },
        lambda r: (
            r.service_type in ("domestic", "irrigation")
            and r.result == "pass"
            and r.postal_code.startswith("627")
        ),
    ),
    (
        {
            "compliance": ["due_30", "due_60", "due_90", "overdue"],
            "service_area": ["C"],
            "hazard": "non_health",
        },
        lambda r: (
            r.compliance in ("due_30", "due_60", "due_90", "overdue")
            and r.area == "C"
            and r.hazard == "non_health"
        ),
    ),
]


@pytest.mark.parametrize(("params", "match"), SINGLE + COMBINED)
def test_assembly_filter(register, params, match):
    areas, rows = register
    expected = {r.serial for r in rows if match(r)}
    assert filtered(params, areas) == expected


def test_the_data_exercises_the_filters(register):
    """Guards the test itself: each single filter selects some rows but not all."""
    _, rows = register
    for params, match in SINGLE + COMBINED[:2]:
        selected = {r.serial for r in rows if match(r)}
        assert 0 < len(selected) < len(rows), params


def test_no_filter_and_all_choices_give_everything(register):
    areas, rows = register
    everything = {r.serial for r in rows}
    assert filtered({}, areas) == everything
    assert filtered({"service_area": ["A", "B", "C"]}, areas) == everything


def test_filtered_rows_are_not_repeated(register):
    areas, _ = register
    data = QueryDict(
        "property_type=commercial&property_type=industrial&assembly_type=RP"
        f"&service_area={areas['A'].pk}&service_area={areas['B'].pk}"
    )
    queryset = AssemblyFilterSet(data, queryset=Assembly.objects.all()).qs
    serials = list(queryset.values_list("serial_number", flat=True))
    assert len(serials) == len(set(serials))
    assert "DISTINCT" not in str(queryset.query)  # forward relations only: nothing to remove


@pytest.mark.parametrize(
    "params",
    [{"compliance": "soon"}, {"next_test_due_from": "yesterday"}, {"service_area": "99999"}],
)
def test_invalid_filter_values_are_reported(register, params):
    filterset = AssemblyFilterSet(QueryDict(mutable=True) | params, queryset=Assembly.objects.all())
    assert not filterset.is_valid()


@pytest.mark.parametrize(("params", "match"), [SINGLE[0], SINGLE[11], COMBINED[0], COMBINED[2]])
def test_the_listing_applies_the_filters(admin_client, register, params, match):
    areas, rows = register
    query = QueryDict(mutable=True)
    for key, value in params.items():
        values = value if isinstance(value, list) else [value]
        if key == "service_area":
            values = [str(areas[code].pk) for code in values]
        query.setlist(key, values)
    html = admin_client.get(f"{LIST_URL}?{query.urlencode()}").content.decode()
    for row in rows:
        assert (f">{row.serial}<" in html) is match(row), row.serial


# --- locations and contacts ------------------------------------------------------------


def test_location_filters():
    a, b = factories.service_area(), factories.service_area()
    l1 = factories.location(
        service_area=a, property_type="commercial", city="Riverbend", postal_code="62701"
    )
    l2 = factories.location(
        service_area=b, property_type="residential", is_active=False, postal_code="62710"
    )
    l3 = factories.location(
        service_area=None, property_type="irrigation", city="Peoria", postal_code="61602"
    )

    def run(query: str) -> set[int]:
        filterset = LocationFilterSet(QueryDict(query), queryset=Location.objects.all())
        assert filterset.is_valid(), filterset.errors
        return set(filterset.qs.values_list("pk", flat=True))

    assert run(f"service_area={a.pk}") == {l1.pk}
    assert run(f"service_area={a.pk}&service_area={b.pk}") == {l1.pk, l2.pk}
    assert run("property_type=irrigation&property_type=residential") == {l2.pk, l3.pk}
    assert run("is_active=false") == {l2.pk}
    assert run("is_active=true") == {l1.pk, l3.pk}
    assert run("city=riverbend") == {l1.pk, l2.pk}
    assert run("postal_code=627") == {l1.pk, l2.pk}
    assert run("postal_code=627&is_active=true&property_type=commercial") == {l1.pk}


def test_contact_filters():
    location = factories.location()
    owner = factories.contact(email="o@example.com")
    paper = factories.contact(email="p@example.com", prefers_paper=True)
    no_email = factories.contact(email="")
    manager = factories.contact(email="m@example.com")
    factories.role(location, owner, "owner", primary=True)
    factories.role(location, paper, "tenant")
    factories.role(location, manager, "property_manager")
    factories.role(factories.location(), manager, "property_manager")

    def run(query: str) -> set[int]:
        filterset = ContactFilterSet(QueryDict(query), queryset=Contact.objects.all())
        assert filterset.is_valid(), filterset.errors
        return set(filterset.qs.values_list("pk", flat=True))

    assert run("has_email=false") == {no_email.pk}
    assert run("has_email=true") == {owner.pk, paper.pk, manager.pk}
    assert run("prefers_paper=true") == {paper.pk}
    assert run("role=property_manager") == {manager.pk}  # once, though it has two locations
    assert run("role=owner&role=tenant") == {owner.pk, paper.pk}
    assert run("role=tenant&has_email=true&prefers_paper=false") == set()
