"""The Assemblies listing's last-notice column and filters, alone and with the others."""

from __future__ import annotations

import csv
import io
import random
from datetime import timedelta

import bulk_data
import factories
import pytest
from django.db import connection
from django.http import QueryDict
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from wagtail_batchcomms.models import (
    Assembly,
    AutomaticNotice,
    BatchAssembly,
    Communication,
    CommunicationType,
    LogKind,
    RuleRun,
)
from wagtail_batchcomms.register.filters import AssemblyFilterSet
from wagtail_batchcomms.register.last_notice import touch

pytestmark = pytest.mark.django_db

LIST_URL = reverse("wagtailsnippets_wagtail_batchcomms_assembly:list")
NOW = timezone.now()


@pytest.fixture
def register():
    """Thirty assemblies: last notices drawn at random (some never), claims of two types."""
    rng = random.Random(20261207)
    template = factories.notice_template()
    first = CommunicationType.objects.create(name="First notice", template=template)
    second = CommunicationType.objects.create(name="Second notice", template=template)
    run = RuleRun.objects.create(run_date=timezone.localdate())
    facts = {}
    for n in range(30):
        location = factories.location(
            property_type=rng.choice(["residential", "commercial"]),
        )
        asm = factories.assembly(location, serial_number=f"N{n:02d}")
        days = rng.choice([None, None, 5, 40, 75, 100, 200, 400])
        at = None if days is None else NOW - timedelta(days=days, hours=1)
        Assembly.objects.filter(pk=asm.pk).update(last_notice_at=at)
        types = [t for t in (first, second) if rng.random() < 0.4]
        for t in types:
            AutomaticNotice.objects.create(
                communication_type=t,
                assembly=asm,
                location=location,
                cycle=timezone.localdate(),
                run=run,
            )
        facts[asm.serial_number] = (days, {t.pk for t in types}, location.property_type)
    return {"facts": facts, "first": first, "second": second}


def _filtered(params: dict) -> set[str]:
    query = QueryDict(mutable=True)
    for key, value in params.items():
        query.setlist(key, value if isinstance(value, list) else [value])
    filterset = AssemblyFilterSet(query, queryset=Assembly.objects.all())
    assert filterset.is_valid(), filterset.errors
    return set(filterset.qs.values_list("serial_number", flat=True))


def _expected(facts, *, never=False, not_in=None, types=(), property_type=None) -> set[str]:
    out = set()
    for serial, (days, claimed, ptype) in facts.items():
        if never and days is not None:
            continue
        if not_in is not None and days is not None and days < not_in:
            continue
        if types and not claimed & set(types):
            continue
        if property_type and ptype != property_type:
            continue
        out.add(serial)
    return out


@pytest.mark.parametrize("days", [30, 60, 90, 180, 365])
def test_not_notified_in_n_days(register, days):
    facts = register["facts"]
    expected = _expected(facts, not_in=days)
    assert _filtered({"last_notice": str(days)}) == expected
    assert 0 < len(expected) < len(facts)


def test_never_notified(register):
    expected = _expected(register["facts"], never=True)
    assert expected and _filtered({"last_notice": "never"}) == expected


def test_notified_by_type(register):
    facts, first, second = register["facts"], register["first"], register["second"]
    assert _filtered({"notified_by": str(first.pk)}) == _expected(facts, types=[first.pk])
    both = _expected(facts, types=[first.pk, second.pk])
    assert _filtered({"notified_by": [str(first.pk), str(second.pk)]}) == both
    assert 0 < len(_expected(facts, types=[first.pk])) < len(both) <= len(facts)


def test_combined_with_each_other_and_the_existing_filters(register):
    facts, first = register["facts"], register["first"]
    params = {"last_notice": "90", "notified_by": str(first.pk), "property_type": "commercial"}
    expected = _expected(facts, not_in=90, types=[first.pk], property_type="commercial")
    assert _filtered(params) == expected
    assert expected


def test_invalid_choices_are_reported(register):
    for params in ({"last_notice": "7"}, {"notified_by": "999999"}):
        query = QueryDict(mutable=True)
        query.update(params)
        assert not AssemblyFilterSet(query, queryset=Assembly.objects.all()).is_valid()


def _delivered_register():
    """An assembly notified by a batch, one by a log, one never."""
    template = factories.notice_template(name="Spring outreach")
    location = factories.location()
    contact = factories.contact(name="=HYPERLINK(1)")
    factories.role(location, contact)
    by_batch = factories.assembly(location, serial_number="LB1")
    batch = bulk_data.batch("=cmd|' /C calc'!A0", template)
    BatchAssembly.objects.create(batch=batch, assembly=by_batch, location=location)
    sent = Communication.objects.create(
        batch=batch,
        location=location,
        contact=contact,
        channel="email",
        status="sent",
        sent_at=NOW - timedelta(days=2),
        recipient_name="x",
    )
    other = factories.location()
    logged = factories.assembly(other, serial_number="LB2")
    log = Communication.objects.create(
        location=other,
        assembly=logged,
        kind=LogKind.PHONE,
        occurred_at=NOW - timedelta(days=1),
        recipient_name="y",
    )
    factories.assembly(other, serial_number="LB3", status="removed")
    touch([sent.pk, log.pk])
    return by_batch, logged


def test_column_sort_and_export(admin_client):
    _delivered_register()
    page = admin_client.get(LIST_URL, {"ordering": "-last_notice_at"}).content.decode()
    assert "Last notice" in page
    assert page.index("LB2") < page.index("LB1") < page.index("LB3")
    assert "Logged" in page and "Never" in page
    ascending = admin_client.get(LIST_URL, {"ordering": "last_notice_at"}).content.decode()
    # Empty values last whichever way.
    assert ascending.index("LB1") < ascending.index("LB2") < ascending.index("LB3")
    response = admin_client.get(LIST_URL, {"export": "csv"})
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    by_serial = {row["Serial number"]: row for row in rows}
    assert by_serial["LB2"]["Last notice was"] == "Logged"
    assert by_serial["LB3"]["Last notice"] == ""
    assert by_serial["LB1"]["Last notice"]
    # A batch name that is a formula is neutralised in the export.
    assert not by_serial["LB1"]["Last notice was"].startswith("=")
    assert "cmd" in by_serial["LB1"]["Last notice was"]


def _queries(client, params) -> int:
    client.get(LIST_URL, params)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(LIST_URL, params).status_code == 200
    return len(queries)


def test_filters_cost_at_most_one_query_per_page(admin_client, register):
    plain = _queries(admin_client, {})
    first = register["first"]
    filtered = _queries(
        admin_client, {"last_notice": "90", "notified_by": str(first.pk), "hazard": "health"}
    )
    # Checking the chosen types is the one extra query (their choices are listed anyway).
    assert filtered <= plain + 1
    # The column joins its notice, batch and type: no query per row.
    _delivered_register()
    assert _queries(admin_client, {}) == plain
