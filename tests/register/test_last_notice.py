"""Assembly.last_notice: kept by every delivery path, set-based, never moved backwards."""

from __future__ import annotations

from datetime import timedelta

import bulk_data
import factories
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from sending_data import email_template

from wagtail_batchcomms.emails.sending import send_pending_emails
from wagtail_batchcomms.jobs import worker_id
from wagtail_batchcomms.letters.downloads import mark_letters_mailed
from wagtail_batchcomms.models import (
    Assembly,
    BatchAssembly,
    Channel,
    Communication,
    CommunicationStatus,
    LogKind,
)
from wagtail_batchcomms.register.last_notice import backfill, touch

pytestmark = pytest.mark.django_db


def _site(assemblies: int = 2, **location_fields):
    location = factories.location(**location_fields)
    contact = factories.contact()
    factories.role(location, contact)
    return location, contact, [factories.assembly(location) for _ in range(assemblies)]


def _batch(template, location, assemblies, name="B"):
    batch = bulk_data.batch(name, template)
    BatchAssembly.objects.bulk_create(
        BatchAssembly(batch=batch, assembly=a, location=location) for a in assemblies
    )
    return batch


def _notice(batch, location, contact, *, channel=Channel.EMAIL, **fields):
    values = {
        "batch": batch,
        "location": location,
        "contact": contact,
        "channel": channel,
        "recipient_name": contact.name,
        "email": contact.email,
    }
    values.update(fields)
    return Communication.objects.create(**values)


def _last(assembly):
    assembly.refresh_from_db()
    return assembly.last_notice_id, assembly.last_notice_at


def test_sent_email_marks_the_batch_assemblies_at_its_location(smtp_server):
    location, contact, (a1, a2) = _site()
    other_location, _, (elsewhere,) = _site(1)
    batch = _batch(email_template(), location, [a1, a2])
    BatchAssembly.objects.create(batch=batch, assembly=elsewhere, location=other_location)
    notice = _notice(batch, location, contact)
    send_pending_emails(batch.pk, worker_id())
    notice.refresh_from_db()
    assert notice.status == CommunicationStatus.SENT
    assert _last(a1) == (notice.pk, notice.sent_at)
    assert _last(a2) == (notice.pk, notice.sent_at)
    # In the working list, but at another location: this notice was not about it.
    assert _last(elsewhere) == (None, None)


def test_touch_runs_one_statement_per_call_and_ignores_undelivered():
    location, contact, (a1, a2) = _site()
    batch = _batch(email_template(), location, [a1, a2])
    pending = _notice(batch, location, contact)
    failed = _notice(
        batch, location, contact, channel=Channel.LETTER, status=CommunicationStatus.FAILED
    )
    with CaptureQueriesContext(connection) as queries:
        assert touch([pending.pk, failed.pk]) == 0
    # One UPDATE (SQLite adds a SELECT changes() for the count).
    assert [q["sql"].count("UPDATE") for q in queries if "UPDATE" in q["sql"]] == [1]
    assert _last(a1) == (None, None)


def test_per_assembly_notice_marks_only_its_assembly():
    location, contact, (a1, a2) = _site()
    batch = _batch(email_template(grouping="assembly"), location, [a1, a2])
    now = timezone.now()
    notice = _notice(batch, location, contact, assembly=a1, status="sent", sent_at=now)
    assert touch([notice.pk]) == 1
    assert _last(a1) == (notice.pk, now)
    assert _last(a2) == (None, None)


def test_letters_marked_mailed_mark_their_assemblies(django_user_model):
    sender = factories.user("sender", superuser=True)
    location, contact, (a1,) = _site(1)
    batch = _batch(email_template(contact_methods="letter"), location, [a1])
    letter = _notice(batch, location, contact, channel=Channel.LETTER, email="")
    assert mark_letters_mailed(batch.pk, user=sender) == 1
    letter.refresh_from_db()
    assert _last(a1) == (letter.pk, letter.sent_at)


def test_logs_mark_their_assembly_or_the_locations_active_assemblies():
    location, contact, (a1, a2) = _site()
    removed = factories.assembly(location, status="removed")
    when = timezone.now() - timedelta(days=3)
    call = _notice(None, location, contact, channel="", kind=LogKind.PHONE, occurred_at=when)
    touch([call.pk])
    assert _last(a1) == (call.pk, when)
    assert _last(a2) == (call.pk, when)
    assert _last(removed) == (None, None)
    visit_at = when + timedelta(days=1)
    visit = _notice(
        None,
        location,
        contact,
        channel="",
        kind=LogKind.SITE_VISIT,
        occurred_at=visit_at,
        assembly=a2,
    )
    touch([visit.pk])
    assert _last(a1) == (call.pk, when)
    assert _last(a2) == (visit.pk, visit_at)
    # A log that sends an email counts only once it is sent.
    emailing = _notice(None, location, contact, kind=LogKind.EMAIL, occurred_at=timezone.now())
    touch([emailing.pk])
    assert _last(a1) == (call.pk, when)


def test_never_moves_backwards_and_a_rerun_changes_nothing():
    location, contact, (a1,) = _site(1)
    batch = _batch(email_template(), location, [a1])
    now = timezone.now()
    newer = _notice(batch, location, contact, status="sent", sent_at=now)
    older = _notice(
        batch,
        location,
        contact,
        channel=Channel.LETTER,
        status="sent",
        sent_at=now - timedelta(days=10),
    )
    assert touch([newer.pk]) == 1
    assert touch([older.pk]) == 0
    assert _last(a1) == (newer.pk, now)
    assert touch([newer.pk, older.pk]) == 0
    # Both in one call: the latest wins whatever the order of ids.
    Assembly.objects.filter(pk=a1.pk).update(last_notice=None, last_notice_at=None)
    assert touch([older.pk, newer.pk]) == 1
    assert _last(a1) == (newer.pk, now)


def test_backfill_sets_every_assembly_from_the_record():
    location, contact, (a1, a2) = _site()
    batch = _batch(email_template(), location, [a1])
    now = timezone.now()
    sent = _notice(batch, location, contact, status="sent", sent_at=now)
    note_at = now - timedelta(days=1)
    note = _notice(
        None, location, contact, channel="", kind=LogKind.NOTE, occurred_at=note_at, assembly=a2
    )
    assert backfill() == 2
    assert _last(a1) == (sent.pk, now)
    assert _last(a2) == (note.pk, note_at)
    assert backfill() == 0


def test_touch_takes_any_number_of_ids():
    location, contact, (a1,) = _site(1)
    batch = _batch(email_template(), location, [a1])
    now = timezone.now()
    notice = _notice(batch, location, contact, status="sent", sent_at=now)
    assert touch([*range(10**6, 10**6 + 1200), notice.pk]) == 1
    assert _last(a1) == (notice.pk, now)
