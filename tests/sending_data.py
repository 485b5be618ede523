"""Builders for the sending tests and the email benchmark: batches with many email notices.

Bulk inserts (thousands of rows in a second or two) of real rows through the real models.
"""

from __future__ import annotations

import datetime
import itertools

import factories
from django.utils import timezone

from wagtail_batchcomms.models import (
    Batch,
    BatchStatus,
    Channel,
    Communication,
    Contact,
    Location,
    NoticeTemplate,
)

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
    batch = Batch.objects.create(
        name=f"Sending batch {n}",
        template=template,
        template_revision_id=template.live_revision_id,
        due_date=timezone.localdate() + datetime.timedelta(days=30),
        status=status,
        generated_at=timezone.now(),
    )
    locations = Location.objects.bulk_create(
        Location(
            account_number=f"S{n}-{i:06d}",
            address_line1=f"{i} Main Street",
            city="Riverbend",
            state="IL",
            postal_code="62701",
            property_type="commercial",
            is_active=True,
        )
        for i in range(1, count + 1)
    )
    contacts = Contact.objects.bulk_create(
        Contact(name=f"Customer {i}", email=f"{i}@{domain}") for i in range(1, count + 1)
    )
    Communication.objects.bulk_create(
        Communication(
            batch=batch,
            location=location,
            contact=contact,
            role="owner",
            channel=Channel.EMAIL,
            recipient_name=contact.name,
            email=contact.email,
            address_line1=location.address_line1,
            city=location.city,
            state=location.state,
            postal_code=location.postal_code,
        )
        for location, contact in zip(locations, contacts, strict=True)
    )
    return batch


def emails(batch: Batch):
    return Communication.objects.filter(batch=batch, channel=Channel.EMAIL).order_by("pk")
