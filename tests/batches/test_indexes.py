"""The communication table's indexes serve the queries they are kept for (migration 0007).

Each key query (taken from the code that runs it where it is a queryset) is EXPLAINed on a
seeded table with sequential scans priced out (``enable_seqscan = off``): the planner then
takes an index whenever one can serve the query, so a query left without one shows a
sequential scan, whatever the table's size. PostgreSQL only: production runs it, and its
planner is what the indexes were fitted to.
"""

from __future__ import annotations

import datetime
import json

import bulk_data
import factories
import pytest
from django.db import connection, transaction
from django.utils import timezone

from wagtail_batchcomms.batches import generation_sql
from wagtail_batchcomms.batches.contact_rules import ContactRules
from wagtail_batchcomms.letters.downloads import pending_letters
from wagtail_batchcomms.letters.returned import returnable
from wagtail_batchcomms.models import (
    Assembly,
    Batch,
    BatchAssembly,
    BatchStatus,
    Channel,
    Communication,
    CommunicationStatus,
)
from wagtail_batchcomms.register.log_filters import communications_about
from wagtail_batchcomms.views.batches.viewsets import annotate_counts
from wagtail_batchcomms.views.register.communications import communications_for
from wagtail_batchcomms.views.rules.dashboard import PROBLEMS

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="the indexes are fitted to PostgreSQL's planner"
    ),
]

TABLE = Communication._meta.db_table


@pytest.fixture
def seeded():
    """Two batches of notices in every channel and status, a few per assembly and logged."""
    user = factories.user("indexes")
    locations = bulk_data.locations("IDX", range(60))
    contacts = bulk_data.contacts((f"Person {i}", f"p{i}@example.com") for i in range(60))
    bulk_data.owners(zip(locations, contacts, strict=True))
    assemblies = [factories.assembly(location) for location in locations[:10]]
    batches = [
        Batch.objects.create(name=f"Batch {n}", status=BatchStatus.GENERATED) for n in range(2)
    ]
    BatchAssembly.objects.bulk_create(
        BatchAssembly(batch=batch, assembly=a, location=a.location)
        for batch in batches
        for a in assemblies
    )
    statuses = list(CommunicationStatus)
    now = timezone.now()
    rows = []
    for i, (location, contact) in enumerate(zip(locations, contacts, strict=True)):
        status = statuses[i % len(statuses)]
        sent = status == CommunicationStatus.SENT
        rows.append(
            Communication(
                batch=batches[i % 2],
                location=location,
                contact=contact,
                channel=Channel.LETTER if i % 3 == 0 else Channel.EMAIL,
                status=status,
                recipient_name=contact.name,
                claimed_by="worker-1" if status == CommunicationStatus.SENDING else "",
                claimed_at=now if status == CommunicationStatus.SENDING else None,
                sent_at=now if sent else None,
                sent_by=user if sent else None,
            )
        )
    # Per-assembly grouping: each contact's notice about each of the ten assemblies.
    rows.extend(
        Communication(
            batch=batches[0],
            location=a.location,
            assembly=a,
            contact=contact,
            channel=channel,
            recipient_name=contact.name,
        )
        for a in assemblies
        for contact in contacts
        for channel in Channel.values
    )
    rows.append(  # Create Log
        Communication(
            location=locations[1],
            contact=contacts[1],
            kind="call",
            logged_by=user,
            recipient_name="logged",
        )
    )
    bulk_data.created(Communication, rows)
    with connection.cursor() as cursor:
        cursor.execute(f'ANALYZE "{TABLE}"')
    return {
        "user": user,
        "batch": batches[0],
        "assembly": assemblies[0],
        "contact": contacts[0],
        "location": locations[-1],  # no assembly: one notice, like most locations
    }


def plan(sql: str, params) -> dict:
    """The JSON plan of ``sql`` with sequential scans priced out."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN (FORMAT JSON) " + sql, params)
        raw = cursor.fetchone()[0]
    return (json.loads(raw) if isinstance(raw, str) else raw)[0]["Plan"]


def scans(node: dict) -> list[tuple[str, str]]:
    """(node type, index name or table) of every scan of the communication table."""
    found = []
    reads = node.get("Relation Name") == TABLE or node.get("Index Name", "").startswith(
        ("batchcomms_comm", f"{TABLE}_")
    )
    # A bitmap heap scan reads the rows its bitmap index scans (below it) found.
    if reads and node["Node Type"] != "Bitmap Heap Scan":
        found.append((node["Node Type"], node.get("Index Name", node.get("Relation Name"))))
    for child in node.get("Plans", []):
        found.extend(scans(child))
    return found


def indexes_used(queryset_or_sql, params=None) -> set[str]:
    if isinstance(queryset_or_sql, str):
        sql = queryset_or_sql
    else:
        sql, params = queryset_or_sql.query.sql_with_params()
    found = scans(plan(sql, params))
    assert found, "the query does not read the communication table"
    assert all(kind != "Seq Scan" for kind, _name in found), found
    return {name for _kind, name in found}


def test_a_batch_s_notices_use_the_state_index(seeded):
    batch = seeded["batch"]
    by_batch = Communication.objects.filter(batch=batch)
    counts = by_batch.order_by().values_list("channel", "status")  # .counts()'s grouping
    assert indexes_used(counts) == {"batchcomms_comm_state"}
    claim = by_batch.filter(channel=Channel.EMAIL, status=CommunicationStatus.PENDING)
    assert indexes_used(claim.order_by("pk").values("pk")) <= {
        "batchcomms_comm_state",
        f"{TABLE}_pkey",
    }
    assert indexes_used(pending_letters(batch.pk)) == {"batchcomms_comm_state"}
    listing = annotate_counts(Batch.objects.filter(pk=batch.pk))
    assert "batchcomms_comm_state" in indexes_used(listing)


def test_sending_rows_use_the_partial_sending_index(seeded):
    cutoff = timezone.now() + datetime.timedelta(minutes=1)
    reaper = Communication.objects.filter(status=CommunicationStatus.SENDING, claimed_at__lt=cutoff)
    assert indexes_used(reaper) == {"batchcomms_comm_sending"}
    heartbeat = Communication.objects.filter(
        claimed_by="worker-1", status=CommunicationStatus.SENDING
    )
    assert indexes_used(heartbeat) == {"batchcomms_comm_sending"}


def test_the_dashboard_s_problems_use_the_partial_problems_index(seeded):
    problems = Communication.objects.filter(channel=Channel.EMAIL, status__in=PROBLEMS)
    assert indexes_used(problems) == {"batchcomms_comm_problems"}


def test_register_pages_use_the_contact_location_and_assembly_indexes(seeded):
    contact_rows, _url = communications_for(seeded["contact"])
    assert indexes_used(contact_rows.order_by("-created_at", "-pk")[:11]) == {
        "batchcomms_comm_contact"
    }
    location_rows, _url = communications_for(seeded["location"])
    assert indexes_used(location_rows.order_by("-created_at", "-pk")[:11]) == {
        "batchcomms_comm_location"
    }
    about = Communication.objects.filter(communications_about(seeded["assembly"]))
    used = indexes_used(about)
    assert "batchcomms_comm_assembly" in used, used


def test_the_log_and_deletions_use_their_indexes(seeded):
    assert indexes_used(Communication.objects.order_by("-created_at", "-pk")[:20]) == {
        f"{TABLE}_created_at_602f7441"
    }
    since = timezone.now() - datetime.timedelta(days=1)
    assert indexes_used(Communication.objects.filter(sent_at__gte=since)) == {
        "batchcomms_comm_sent_at"
    }
    assert indexes_used(returnable().filter(sent_at__gte=since)) == {"batchcomms_comm_sent_at"}
    # What deleting a user, an assembly or a location asks (SET_NULL / PROTECT).
    user = seeded["user"]
    for field, index in (
        ("sent_by", "batchcomms_comm_sent_by"),
        ("logged_by", "batchcomms_comm_logged_by"),
        ("returned_by", "batchcomms_comm_returned_by"),
    ):
        assert indexes_used(Communication.objects.filter(**{f"{field}__in": [user]})) == {index}
    assembly = seeded["assembly"]
    assert indexes_used(Communication.objects.filter(assembly__in=[assembly])) == {
        "batchcomms_comm_assembly"
    }
    assert indexes_used(Communication.objects.filter(location__in=[assembly.location])) == {
        "batchcomms_comm_location"
    }
    assert Assembly.objects.filter(pk=assembly.pk).exists()


def test_generation_probes_use_the_batch_s_indexes(seeded):
    """The skipped report's anti-join finds the batch's notices at a location (or about an
    assembly) through an index, never by reading the table (which index: the planner's
    choice by size)."""
    batch = seeded["batch"]
    by_batch = {
        "batchcomms_comm_state",
        "batchcomms_comm_unique_per_location",
        "batchcomms_comm_unique_per_assembly",
        "batchcomms_comm_assembly",
        "batchcomms_comm_location",
    }
    for grouping in ("location", "assembly"):
        template = factories.notice_template(name=f"By {grouping}", grouping=grouping)
        skipped = generation_sql._skipped_insert_sql(batch.pk, ContactRules.from_template(template))
        assert indexes_used(skipped.text(), skipped.params) <= by_batch


def test_a_chunk_s_probe_uses_the_per_location_unique_index(seeded):
    """Before a plain insert, generation asks whether the range holds notices already."""
    probe = generation_sql._probe_sql(seeded["batch"].pk, 1, 10**9)
    assert indexes_used(probe.text(), probe.params) == {"batchcomms_comm_unique_per_location"}
