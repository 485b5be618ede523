"""Bulk builders shared by the large-data helpers (``sending_data``, ``letters_data``,
``ops_data``) and tests: thousands of real rows in a few ``bulk_create`` calls.

``bulk_create`` skips ``save()``, so what ``save()`` would work out (an assembly's next test
due) is set here; the primary keys come back from the database (RETURNING, on SQLite 3.35+
and PostgreSQL), which ``created`` checks.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal

from django.db.models import Model
from django.utils import timezone

from wagtail_batchcomms.models import (
    Assembly,
    Batch,
    BatchStatus,
    Communication,
    Contact,
    Location,
    LocationContact,
    NoticeTemplate,
)


def created(model: type[Model], objects: Iterable[Model]) -> list[Model]:
    """``model.objects.bulk_create(objects)``, in the order given, every row with its pk."""
    rows = model.objects.bulk_create(objects)
    assert all(row.pk for row in rows), f"{model.__name__}: bulk_create returned no ids"
    return rows


def scrambled_postal_code(i: int) -> str:
    """A postal code for row ``i`` that sorts in another order than ``i``: print order
    (postal code, name) then differs from creation (id) order."""
    return f"6{(i * 7919) % 10000:04d}"


def locations(
    prefix: str,
    numbers: Iterable[int],
    *,
    street: str = "Main Street",
    postal_code: Callable[[int], str] = lambda i: "62701",
) -> list[Location]:
    """One active commercial location per number ``i``: account ``<prefix>-<i:06d>``, at
    ``<i> <street>``, Riverbend IL."""
    return created(
        Location,
        (
            Location(
                account_number=f"{prefix}-{i:06d}",
                address_line1=f"{i} {street}",
                city="Riverbend",
                state="IL",
                postal_code=postal_code(i),
                property_type="commercial",
                is_active=True,
            )
            for i in numbers
        ),
    )


def contacts(people: Iterable[tuple[str, str]]) -> list[Contact]:
    """One contact per ``(name, email)``; an empty email is a contact on paper."""
    return created(Contact, (Contact(name=name, email=email) for name, email in people))


def owners(pairs: Iterable[tuple[Location, Contact]]) -> list[LocationContact]:
    """Each contact the primary owner of its location."""
    return created(
        LocationContact,
        (
            LocationContact(location=location, contact=contact, role="owner", is_primary=True)
            for location, contact in pairs
        ),
    )


def assemblies(
    locations: Sequence[Location], per_location: int | Sequence[int] = 1
) -> list[Assembly]:
    """``per_location`` active RP assemblies at each location (one number for all, or one
    per location), serial ``<account number>-<k>``, tested 340 days ago, due in 25 days."""
    counts = [per_location] * len(locations) if isinstance(per_location, int) else per_location
    today = timezone.localdate()
    return created(
        Assembly,
        (
            Assembly(
                serial_number=f"{location.account_number}-{k}",
                location=location,
                assembly_type="RP",
                size=Decimal("1.00"),
                manufacturer="Watts",
                hazard="health",
                service_type="domestic",
                status="active",
                last_tested_on=today - datetime.timedelta(days=340),
                last_test_result="pass",
                test_frequency_months=12,
                next_test_due=today + datetime.timedelta(days=25),
            )
            for location, count in zip(locations, counts, strict=True)
            for k in range(count)
        ),
    )


def batch(name: str, template: NoticeTemplate, status: str = BatchStatus.GENERATED) -> Batch:
    """A batch in ``status`` pinned to the template's live revision, due in 30 days, as
    generation leaves it (its rows are added by the caller)."""
    return Batch.objects.create(
        name=name,
        template=template,
        template_revision_id=template.live_revision_id,
        due_date=timezone.localdate() + datetime.timedelta(days=30),
        status=status,
        generated_at=timezone.now(),
    )


def notice(batch: Batch, channel: str, location: Location, contact: Contact, **fields):
    """A pending notice (unsaved) to ``contact`` at ``location``'s address, as generation
    writes it for an owner."""
    return Communication(
        batch=batch,
        location=location,
        contact=contact,
        role="owner",
        channel=channel,
        recipient_name=contact.name,
        email=contact.email,
        address_line1=location.address_line1,
        city=location.city,
        state=location.state,
        postal_code=location.postal_code,
        **fields,
    )
