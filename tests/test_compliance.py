"""Compliance status at its date boundaries: the annotation, the filter condition and the
listing's filter agree on every assembly."""

from __future__ import annotations

import datetime

import factories
import pytest
from django.urls import reverse
from django.utils import timezone

from wagtail_batchcomms.models import Assembly, AssemblyQuerySet, ComplianceStatus

pytestmark = pytest.mark.django_db

LIST_URL = reverse("wagtailsnippets_wagtail_batchcomms_assembly:list")
TODAY = timezone.localdate()
LAST_TEST = TODAY - datetime.timedelta(days=300)

#: serial -> (fields, expected status); due dates are set explicitly at the boundaries.
CASES = {
    "DUE-MINUS-400": ({"next_test_due": TODAY - datetime.timedelta(days=400)}, "overdue"),
    "DUE-MINUS-1": ({"next_test_due": TODAY - datetime.timedelta(days=1)}, "overdue"),
    "DUE-TODAY": ({"next_test_due": TODAY}, "due_30"),
    "DUE-PLUS-30": ({"next_test_due": TODAY + datetime.timedelta(days=30)}, "due_30"),
    "DUE-PLUS-31": ({"next_test_due": TODAY + datetime.timedelta(days=31)}, "due_60"),
    "DUE-PLUS-60": ({"next_test_due": TODAY + datetime.timedelta(days=60)}, "due_60"),
    "DUE-PLUS-61": ({"next_test_due": TODAY + datetime.timedelta(days=61)}, "due_90"),
    "DUE-PLUS-90": ({"next_test_due": TODAY + datetime.timedelta(days=90)}, "due_90"),
    "DUE-PLUS-91": ({"next_test_due": TODAY + datetime.timedelta(days=91)}, "compliant"),
    "DUE-PLUS-700": ({"next_test_due": TODAY + datetime.timedelta(days=700)}, "compliant"),
    "NEVER": ({"last_tested_on": None, "last_test_result": "none"}, "never_tested"),
    "NEVER-WITH-DUE": (
        {"last_tested_on": None, "last_test_result": "none", "next_test_due": TODAY},
        "never_tested",
    ),
    "INACTIVE-OVERDUE": (
        {"status": "inactive", "next_test_due": TODAY - datetime.timedelta(days=10)},
        "inactive",
    ),
    "REMOVED-NEVER": (
        {"status": "removed", "last_tested_on": None, "last_test_result": "none"},
        "inactive",
    ),
}


@pytest.fixture
def assemblies():
    location = factories.location()
    made = {}
    for serial, (fields, _) in CASES.items():
        made[serial] = factories.assembly(
            location, serial_number=serial, **{"last_tested_on": LAST_TEST, **fields}
        )
    # Tested, but the due date was never worked out (a bulk import): counts as overdue.
    made["DUE-UNKNOWN"] = factories.assembly(location, serial_number="DUE-UNKNOWN")
    Assembly.objects.filter(pk=made["DUE-UNKNOWN"].pk).update(next_test_due=None)
    return made


EXPECTED = {serial: status for serial, (_, status) in CASES.items()} | {"DUE-UNKNOWN": "overdue"}


def test_the_annotation_gives_each_boundary_its_status(assemblies):
    annotated = dict(
        Assembly.objects.with_compliance().values_list("serial_number", "compliance_status")
    )
    assert annotated == EXPECTED


def test_the_annotated_rank_follows_the_status_order(assemblies):
    for asm in Assembly.objects.with_compliance():
        assert asm.compliance_rank == ComplianceStatus.rank(asm.compliance_status)


@pytest.mark.parametrize("status", ComplianceStatus.values)
def test_filter_condition_selects_what_the_annotation_says(assemblies, status):
    by_condition = set(
        Assembly.objects.in_compliance_status(status).values_list("serial_number", flat=True)
    )
    by_annotation = set(
        Assembly.objects.with_compliance()
        .filter(compliance_status=status)
        .values_list("serial_number", flat=True)
    )
    assert by_condition == by_annotation == {s for s, v in EXPECTED.items() if v == status}
    assert by_condition  # every status has a case


def test_statuses_partition_the_register(assemblies):
    seen: list[str] = []
    for status in ComplianceStatus.values:
        seen += Assembly.objects.in_compliance_status(status).values_list(
            "serial_number", flat=True
        )
    assert sorted(seen) == sorted(EXPECTED)


def test_several_statuses_at_once(assemblies):
    chosen = Assembly.objects.in_compliance_status("overdue", "never_tested")
    assert set(chosen.values_list("serial_number", flat=True)) == {
        s for s, v in EXPECTED.items() if v in ("overdue", "never_tested")
    }


def test_an_explicit_today_moves_the_boundaries(assemblies):
    tomorrow = TODAY + datetime.timedelta(days=1)
    annotated = dict(
        Assembly.objects.with_compliance(today=tomorrow).values_list(
            "serial_number", "compliance_status"
        )
    )
    assert annotated["DUE-TODAY"] == "overdue"
    assert annotated["DUE-PLUS-31"] == "due_30"
    assert annotated["DUE-PLUS-91"] == "due_90"
    assert set(
        Assembly.objects.in_compliance_status("overdue", today=tomorrow).values_list(
            "serial_number", flat=True
        )
    ) == {"DUE-MINUS-400", "DUE-MINUS-1", "DUE-TODAY", "DUE-UNKNOWN"}


@pytest.mark.parametrize("status", ComplianceStatus.values)
def test_the_listing_filter_and_column_agree(admin_client, assemblies, status):
    response = admin_client.get(LIST_URL, {"compliance": status})
    html = response.content.decode()
    label = str(ComplianceStatus(status).label)
    for serial, expected in EXPECTED.items():
        assert (f">{serial}<" in html) is (expected == status), serial
    assert html.count(f">{label}</span>") == sum(v == status for v in EXPECTED.values())


def test_the_listing_sorts_by_compliance(admin_client, assemblies):
    response = admin_client.get(LIST_URL, {"ordering": "compliance_rank"})
    html = response.content.decode()
    positions = {serial: html.index(f">{serial}<") for serial in EXPECTED}
    order = sorted(EXPECTED, key=positions.get)
    ranks = [ComplianceStatus.rank(EXPECTED[serial]) for serial in order]
    assert ranks == sorted(ranks)


def test_queryset_class_is_the_manager_queryset():
    assert isinstance(Assembly.objects.all(), AssemblyQuerySet)
