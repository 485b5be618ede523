"""Builders for the letter tests and the letters benchmark: batches with many letter notices.

Real rows through the real models, bulk inserted (thousands in a second or two): each letter
has its own location with one assembly in the batch, a contact, and a recipient address
whose postal code and name differ, so that print order (postal code, name) is not id order.
"""

from __future__ import annotations

import datetime
import io
import itertools
import re
from decimal import Decimal

import factories
import pypdf
from django.utils import timezone

from wagtail_batchcomms.models import (
    Assembly,
    Batch,
    BatchAssembly,
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
        "<p>Our records show that the backflow prevention assemblies at account "
        "{{ location.account_number }} are due for their annual test by "
        "<b>{{ batch.due_date }}</b>. Please have a certified tester test each assembly "
        "and send us the report.</p>",
    ),
    (
        "assemblies_table",
        {"heading": "Your assemblies", "columns": ["serial_number", "type", "next_test_due"]},
    ),
    ("signature", {"closing": "Sincerely,", "use_letterhead": True, "name": "", "title": ""}),
]


def letter_template(**fields) -> NoticeTemplate:
    """A published template that sends letters only."""
    defaults = {
        "subject": "Backflow test due for {{ location.account_number }}",
        "body": BODY,
        "contact_methods": "letter",
        "first_available_only": False,
    }
    defaults.update(fields)
    return factories.notice_template(**defaults)


def unrenderable_template() -> NoticeTemplate:
    """A published template whose body exceeds the sandbox's loop limit when rendered.

    Validation refuses such a body now; a revision published before that check (here: saved
    with ``clean=False``) still reaches rendering, which must fail with the reason.
    """
    template = letter_template()
    template.body = [
        (
            "paragraph",
            "<p>{% for i in range(9) %}{% for j in range(9999) %}{% endfor %}{% endfor %}</p>",
        )
    ]
    template.save_revision(clean=False).publish()
    template.refresh_from_db()
    return template


def postal_code(i: int) -> str:
    # Scrambled so that print order differs from creation (id) order.
    return f"6{(i * 7919) % 10000:04d}"


def letter_batch(
    count: int,
    *,
    template: NoticeTemplate | None = None,
    status: str = BatchStatus.GENERATED,
    assemblies_per_letter: int | list[int] = 1,
) -> Batch:
    """A batch in ``status`` with ``count`` pending letters ("Recipient <i>", "<i> Elm Street").

    ``assemblies_per_letter``: batch assemblies listed in each letter (one number for all, or
    one per letter); about 40 make a letter run onto a second page.
    """
    per_letter = (
        assemblies_per_letter
        if isinstance(assemblies_per_letter, list)
        else [assemblies_per_letter] * count
    )
    template = template or letter_template()
    n = next(_seq)
    batch = Batch.objects.create(
        name=f"Letters batch {n}",
        template=template,
        template_revision_id=template.live_revision_id,
        due_date=timezone.localdate() + datetime.timedelta(days=30),
        status=status,
        generated_at=timezone.now(),
    )
    locations = Location.objects.bulk_create(
        Location(
            account_number=f"L{n}-{i:06d}",
            address_line1=f"{i} Elm Street",
            city="Riverbend",
            state="IL",
            postal_code=postal_code(i),
            property_type="commercial",
            is_active=True,
        )
        for i in range(1, count + 1)
    )
    if not all(location.pk for location in locations):  # bulk_create without RETURNING
        locations = list(Location.objects.filter(account_number__startswith=f"L{n}-"))
    contacts = Contact.objects.bulk_create(
        Contact(name=f"Recipient {i}", email="") for i in range(1, count + 1)
    )
    today = timezone.localdate()
    Assembly.objects.bulk_create(
        Assembly(
            serial_number=f"L{n}-{i:06d}-{k}",
            location=location,
            assembly_type="RP",
            size=Decimal("1.00"),
            hazard="health",
            service_type="domestic",
            status="active",
            last_tested_on=today - datetime.timedelta(days=340),
            last_test_result="pass",
            test_frequency_months=12,
            next_test_due=today + datetime.timedelta(days=25),
        )
        for i, location in enumerate(locations, start=1)
        for k in range(per_letter[i - 1])
    )
    BatchAssembly.objects.bulk_create(
        BatchAssembly(batch=batch, assembly=assembly, location_id=assembly.location_id)
        for assembly in Assembly.objects.filter(serial_number__startswith=f"L{n}-")
    )
    Communication.objects.bulk_create(
        Communication(
            batch=batch,
            location=location,
            contact=contact,
            role="owner",
            channel=Channel.LETTER,
            recipient_name=contact.name,
            recipient_organisation=f"Org {i}" if i % 2 else "",
            address_line1=location.address_line1,
            city=location.city,
            state=location.state,
            postal_code=location.postal_code,
        )
        for i, (location, contact) in enumerate(zip(locations, contacts, strict=True), start=1)
    )
    return batch


def letters(batch: Batch):
    return Communication.objects.filter(batch=batch, channel=Channel.LETTER).order_by("pk")


# --- reading PDFs back ------------------------------------------------------------------------


def read_pdf(data: bytes) -> pypdf.PdfReader:
    return pypdf.PdfReader(io.BytesIO(data))


PAGE_LABEL = re.compile(r"Page (\d+) of (\d+)")


def split_letters(reader: pypdf.PdfReader) -> list[list[str]]:
    """The PDF's pages grouped into letters by their "Page i of n" labels (page texts)."""
    result: list[list[str]] = []
    for page in reader.pages:
        text = page.extract_text()
        match = PAGE_LABEL.search(text)
        assert match, f"a page without a page label: {text[:200]!r}"
        page_no, total = int(match[1]), int(match[2])
        if page_no == 1:
            result.append([])
        assert result and len(result[-1]) == page_no - 1, "page labels out of sequence"
        result[-1].append(text)
        assert page_no <= total
    return result
