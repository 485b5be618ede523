"""The notice ladder on assembly and location pages: automatic notices of the current and the
previous due cycle with their notices' status, batch notices and logs, in date order, in a
bounded number of queries."""

from __future__ import annotations

import re
from datetime import timedelta

import bulk_data
import factories
import pytest
from dateutil.relativedelta import relativedelta
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from wagtail_batchcomms.models import (
    AutomaticNotice,
    BatchAssembly,
    Communication,
    CommunicationType,
    LogKind,
    RuleRun,
)
from wagtail_batchcomms.views.register.ladder import ladder

pytestmark = pytest.mark.django_db

NOW = timezone.now()
TODAY = timezone.localdate()


def _claim(ctype, assembly, *, days_ago, cycle, sent=True, review=False):
    moment = NOW - timedelta(days=days_ago)
    run = RuleRun.objects.create(run_date=(moment).date(), started_at=moment)
    batch = bulk_data.batch(f"{ctype.name} {days_ago}", ctype.template)
    batch.communication_type, batch.rule_run, batch.awaiting_review = ctype, run, review
    batch.save()
    BatchAssembly.objects.create(batch=batch, assembly=assembly, location=assembly.location)
    AutomaticNotice.objects.create(
        communication_type=ctype,
        assembly=assembly,
        location=assembly.location,
        cycle=cycle,
        run=run,
        batch=batch,
        created_at=moment,
    )
    if sent:
        Communication.objects.create(
            batch=batch,
            location=assembly.location,
            channel="email",
            status="sent",
            sent_at=moment,
            created_at=moment,
            recipient_name="Owner",
        )
    return batch


def _history(assembly, notices: int = 1):
    template = factories.notice_template()
    first = CommunicationType.objects.create(name="First notice", template=template)
    second = CommunicationType.objects.create(name="Second notice", template=template)
    due = assembly.next_test_due
    previous = due - relativedelta(months=12)
    _claim(first, assembly, days_ago=400, cycle=previous)  # the previous cycle
    _claim(first, assembly, days_ago=20, cycle=due)
    _claim(second, assembly, days_ago=2, cycle=due, sent=False, review=True)
    _claim(first, assembly, days_ago=1200, cycle=due - relativedelta(months=36))  # too old
    outreach = bulk_data.batch("Spring outreach", template)
    BatchAssembly.objects.create(batch=outreach, assembly=assembly, location=assembly.location)
    for i in range(notices):
        Communication.objects.create(
            batch=outreach,
            location=assembly.location,
            channel="letter",
            status="sent",
            sent_at=NOW - timedelta(days=10),
            returned_at=NOW - timedelta(days=3) if i == 0 else None,
            recipient_name=f"R{i}",
            created_at=NOW - timedelta(days=11),
        )
    Communication.objects.create(
        location=assembly.location,
        assembly=assembly,
        kind=LogKind.PHONE,
        occurred_at=NOW - timedelta(days=5),
        recipient_name="Owner",
    )


@pytest.fixture
def assembly():
    location = factories.location()
    return factories.assembly(
        location,
        last_tested_on=TODAY - timedelta(days=340),
        test_frequency_months=12,
    )


def test_rows_in_date_order_with_their_status(assembly):
    _history(assembly)
    rows = ladder(assembly)
    kinds = [row["kind"] for row in rows]
    assert kinds == ["automatic", "automatic", "batch", "log", "automatic"]
    whens = [row["when"] for row in rows]
    assert whens == sorted(whens)
    assert rows[0]["tags"] == rows[1]["tags"] == [("Email: Sent", "")]
    assert rows[0]["cycle"] < rows[1]["cycle"] == assembly.next_test_due
    assert rows[2]["tags"] == [("Returned", "w-status--primary")]
    assert rows[-1]["tags"] == [("Awaiting review", "w-status--primary")]
    # The claim three cycles back is outside the current and previous cycle.
    assert sum(row["what"] == "First notice" for row in rows) == 2


def _page_queries(client, url) -> tuple[int, str]:
    client.get(url)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries), response.content.decode()


@pytest.mark.parametrize("page", ["inspect", "edit"])
def test_assembly_pages_show_it_in_bounded_queries(admin_client, assembly, page):
    url = reverse(f"wagtailsnippets_wagtail_batchcomms_assembly:{page}", args=[assembly.pk])
    _empty, html = _page_queries(admin_client, url)
    assert "No notices in the current or the previous due cycle." in html
    _history(assembly, notices=1)
    few, html = _page_queries(admin_client, url)
    assert len(re.findall(r"data-ladder-row=", html)) == 5
    assert 'data-ladder-row="automatic"' in html and "Awaiting review" in html
    Communication.objects.bulk_create(
        Communication(
            location=assembly.location,
            assembly=assembly,
            kind=LogKind.NOTE,
            occurred_at=NOW - timedelta(days=1),
            recipient_name=f"N{i}",
        )
        for i in range(15)
    )
    many, html = _page_queries(admin_client, url)
    assert len(re.findall(r"data-ladder-row=", html)) == 20
    # The ladder's own cost does not grow with the history.
    assert many == few


def test_location_page_merges_its_assemblies(admin_client, assembly):
    other = factories.assembly(assembly.location, last_tested_on=TODAY - timedelta(days=100))
    _history(assembly)
    ctype = CommunicationType.objects.get(name="Second notice")
    _claim(ctype, other, days_ago=4, cycle=other.next_test_due)
    url = reverse(
        "wagtailsnippets_wagtail_batchcomms_location:inspect", args=[assembly.location_id]
    )
    _queries, html = _page_queries(admin_client, url)
    assert len(re.findall(r"data-ladder-row=", html)) == 6
    assert other.serial_number in html
    edit = reverse("wagtailsnippets_wagtail_batchcomms_location:edit", args=[assembly.location_id])
    _queries, html = _page_queries(admin_client, edit)
    assert len(re.findall(r"data-ladder-row=", html)) == 6
