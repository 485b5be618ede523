"""Builders for the sending tests and the email benchmark: batches with many email notices.

Bulk inserts (thousands of rows in a second or two) of real rows through the real models.
"""

from __future__ import annotations

import itertools

import bulk_data
import factories

from wagtail_batchcomms.models import Batch, BatchStatus, Channel, Communication, NoticeTemplate

_seq = itertools.count(1)

BODY = [
    ("paragraph", "<p>Dear {{ contact.name }},</p>"),
    (
        "paragraph",
        "<p>The backflow assemblies at account {{ location.account_number }} are due for "
        "their annual test by {{ batch.due_date }}.</p>",
    ),
]


def email_template(**fields) -> NoticeTemplate:
    """A published template that sends email only (fields override, e.g. ``cc``)."""
    defaults = {
        "subject": "Backflow test due for {{ location.account_number }}",
        "body": BODY,
        "contact_methods": "email",
        "first_available_only": False,
    }
    defaults.update(fields)
    return factories.notice_template(**defaults)


def email_batch(
    count: int,
    *,
    template: NoticeTemplate | None = None,
    status: str = BatchStatus.GENERATED,
    domain: str = "customers.example",
) -> Batch:
    """A batch in ``status`` with ``count`` pending email notices, to ``n@domain`` (n = 1..)."""
    template = template or email_template()
    n = next(_seq)
    batch = bulk_data.batch(f"Sending batch {n}", template, status)
    numbers = range(1, count + 1)
    locations = bulk_data.locations(f"S{n}", numbers)
    contacts = bulk_data.contacts((f"Customer {i}", f"{i}@{domain}") for i in numbers)
    Communication.objects.bulk_create(
        bulk_data.notice(batch, Channel.EMAIL, location, contact)
        for location, contact in zip(locations, contacts, strict=True)
    )
    return batch


def emails(batch: Batch):
    return Communication.objects.filter(batch=batch, channel=Channel.EMAIL).order_by("pk")
