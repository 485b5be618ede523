"""Builders for the letter tests and the letters benchmark: batches with many letter notices.

Real rows through the real models, bulk inserted (thousands in a second or two): each letter
has its own location with one assembly in the batch, a contact, and a recipient address
whose postal code and name differ, so that print order (postal code, name) is not id order.
"""

from __future__ import annotations

import csv
import io
import itertools
import re

import bulk_data
import factories
import pypdf

from wagtail_batchcomms.letters import chunks
from wagtail_batchcomms.letters import downloads as letter_service
from wagtail_batchcomms.models import (
    Batch,
    BatchAssembly,
    BatchStatus,
    Channel,
    Communication,
    DownloadStatus,
    LetterDownload,
    NoticeTemplate,
)
from wagtail_batchcomms.storage import letter_storage

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
    template = template or letter_template()
    n = next(_seq)
    batch = bulk_data.batch(f"Letters batch {n}", template, status)
    numbers = range(1, count + 1)
    locations = bulk_data.locations(
        f"L{n}", numbers, street="Elm Street", postal_code=bulk_data.scrambled_postal_code
    )
    contacts = bulk_data.contacts((f"Recipient {i}", "") for i in numbers)
    BatchAssembly.objects.bulk_create(
        BatchAssembly(batch=batch, assembly=assembly, location_id=assembly.location_id)
        for assembly in bulk_data.assemblies(locations, assemblies_per_letter)
    )
    Communication.objects.bulk_create(
        bulk_data.notice(
            batch,
            Channel.LETTER,
            location,
            contact,
            recipient_organisation=f"Org {i}" if i % 2 else "",
        )
        for i, location, contact in zip(numbers, locations, contacts, strict=True)
    )
    return batch


def letters(batch: Batch):
    return Communication.objects.filter(batch=batch, channel=Channel.LETTER).order_by("pk")


def ready_download(user, count: int = 3, status: str = BatchStatus.GENERATED) -> LetterDownload:
    """A letter download of a new ``letter_batch(count)``, requested by ``user`` and rendered
    here (no worker), READY to be downloaded."""
    batch = letter_batch(count, status=status)
    download = letter_service.request_letter_download(batch.pk, user=user)
    assert chunks.run_download_here(download.pk) == DownloadStatus.READY
    download.refresh_from_db()
    return download


# --- reading PDFs back ------------------------------------------------------------------------


def read_pdf(data: bytes) -> pypdf.PdfReader:
    return pypdf.PdfReader(io.BytesIO(data))


def read_download(download: LetterDownload) -> tuple[pypdf.PdfReader, list[dict[str, str]]]:
    """A ready download's merged PDF and its CSV mailing list's rows, from private storage."""
    storage = letter_storage()
    with storage.open(download.file, "rb") as handle:
        reader = read_pdf(handle.read())
    with storage.open(download.mailing_list, "rb") as handle:
        rows = list(csv.DictReader(io.StringIO(handle.read().decode("utf-8-sig"))))
    return reader, rows


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
