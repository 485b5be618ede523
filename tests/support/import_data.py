"""Builders for the import tests: register files as CSV or XLSX bytes, uploads, a run taken
through its dry run (the real ``imports.runs`` functions; no worker), and the scheduled
housekeeping with what it queued and wrote in the history."""

from __future__ import annotations

import csv
import io

from django.core.files.uploadedfile import SimpleUploadedFile
from django_q.models import OrmQ
from wagtail.models import ModelLogEntry

from wagtail_batchcomms import history, tasks
from wagtail_batchcomms.imports import runs
from wagtail_batchcomms.imports.columns import DEFAULT_HEADERS
from wagtail_batchcomms.models import ImportRun

#: A flat export's row: a location with its owner and one assembly (our default headers).
BASE_ROW = {
    "account_number": "100-001",
    "location_name": "Riverside Bakery",
    "address_line1": "12 Mill Road",
    "city": "Riverbend",
    "state": "IL",
    "postal_code": "62701",
    "property_type": "commercial",
    "contact_name": "Ada Baker",
    "email": "ada@bakery.example",
    "role": "owner",
    "primary": "yes",
    "serial_number": "SN-0001",
    "manufacturer": "Watts",
    "assembly_type": "RP",
    "size": '3/4"',
    "hazard": "health",
    "service_type": "domestic",
    "last_tested_on": "2025-03-31",
    "last_test_result": "pass",
}


def row(**changes) -> dict:
    return {**BASE_ROW, **changes}


def owned_rows(count: int = 30) -> list[dict]:
    """``count`` assemblies, three per location, each location with its own owner (30: 60
    records to write: 10 locations, 10 contacts, their 10 roles, 30 assemblies)."""
    return [
        row(
            account_number=f"A-{n // 3:03d}",
            contact_name=f"Owner {n // 3}",
            email=f"owner{n // 3}@example.com",
            serial_number=f"S-{n:03d}",
        )
        for n in range(count)
    ]


def csv_bytes(rows: list[dict], headers: tuple[str, ...] | list[str] = DEFAULT_HEADERS) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(headers), extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


def xlsx_bytes(rows: list[dict], headers=DEFAULT_HEADERS, typed: dict | None = None) -> bytes:
    """An XLSX workbook; ``typed`` maps (row index, header) to a typed cell (a date)."""
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.append(list(headers))
    for index, values in enumerate(rows):
        sheet.append([(typed or {}).get((index, h), values.get(h)) for h in headers])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def upload(content: bytes, name: str = "register.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content)


def checked(rows: list[dict], user=None, *, name="register.csv", mapping=None, content=None):
    """A run uploaded, mapped and through its dry run."""
    content = content if content is not None else csv_bytes(rows)
    run = runs.start_import(upload(content, name), user)
    if mapping is not None:
        runs.set_mapping(run, mapping)
    runs.request_check(run, user)
    run.refresh_from_db()
    return run


def imported(rows: list[dict], user=None, **kwargs) -> ImportRun:
    run = checked(rows, user, **kwargs)
    runs.request_import(run, user)
    run.refresh_from_db()
    return run


def housekeeping(capture) -> tuple[dict, list]:
    """The scheduled task, and the tasks it queued (on commit, to django-q2's ORM broker);
    ``capture``: pytest-django's ``django_capture_on_commit_callbacks``."""
    OrmQ.objects.all().delete()
    with capture(execute=True):
        result = tasks.imports_housekeeping()
    return result, [(q.task["func"], list(q.task["args"])) for q in OrmQ.objects.all()]


def requeued(run) -> list[dict]:
    """The history's "queued again" entries of ``run``, oldest first."""
    entries = ModelLogEntry.objects.for_instance(run).filter(action=history.IMPORT_REQUEUED)
    return list(entries.order_by("pk").values_list("data", flat=True))
