"""Create Log's "letter now" (the letter pipeline's PDF, kept privately, downloaded through a
permission-checked view, marked as mailed) and one-time communications in the Communication
Log, its exports and the register pages, beside a batch's notices."""

from __future__ import annotations

import csv
import io

import factories
import logs_data
import openpyxl
import pytest
from batch_admin_data import generate, make_batch, org_admin
from django.urls import reverse
from letters_data import read_pdf
from wagtail.models import ModelLogEntry

from wagtail_batchcomms import history, tasks
from wagtail_batchcomms.logs.letters import letter_file_name
from wagtail_batchcomms.models import Communication, CommunicationStatus
from wagtail_batchcomms.storage import letter_storage

LOG = "wagtail_batchcomms_communication:index"
LOG_PERM = "wagtail_batchcomms.log_communication"

pytestmark = pytest.mark.usefixtures("private_root")


@pytest.fixture
def site(db):
    return logs_data.site()


@pytest.fixture
def logger_(db):
    return org_admin("logger", extra=[LOG_PERM])


@pytest.fixture
def web(client, logger_):
    client.force_login(logger_)
    return client


def record(web, site, origin=None, **values) -> Communication:
    origin = origin or site.assembly
    url = reverse("wagtail_batchcomms_logs:create", args=[origin._meta.model_name, origin.pk])
    response = web.post(url, logs_data.form_data(site, **values))
    assert response.status_code == 302, response.context["form"].errors
    return Communication.objects.latest("pk")


def inspect(web, communication):
    return web.get(reverse("wagtail_batchcomms_communication:inspect", args=[communication.pk]))


# --- letter now ------------------------------------------------------------------------------


def test_letter_now_makes_one_pdf_with_the_name_and_address(
    web, site, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as queued:
        letter = record(
            web,
            site,
            kind="letter",
            send_now="on",
            subject="Your test is overdue",
            body="Please book a tester this week.",
        )
    assert letter.status == CommunicationStatus.PENDING and len(queued) == 1
    page = inspect(web, letter).content.decode()
    assert "data-letter-preparing" in page  # the task has not run yet
    # ... and the page refreshes itself until the PDF is there.
    assert "refresh-while-pending.js" in page and "data-refresh-while-pending" in page
    download = reverse("wagtail_batchcomms_logs:letter", args=[letter.pk])
    assert web.get(download).status_code == 409

    assert tasks.make_one_time_letter(letter.pk) == "1 pages"
    assert tasks.make_one_time_letter(letter.pk) == "already made"  # a second run: nothing
    page = inspect(web, letter).content.decode()
    assert "data-letter-download" in page and "data-refresh-while-pending" not in page
    assert "refresh-while-pending.js" not in page
    response = web.get(download)
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"]
    pdf = read_pdf(b"".join(response.streaming_content))
    first_page = pdf.pages[0].extract_text()
    for text in (
        "Olive Owner",
        "1 Owner Way",
        "Lakeside",
        "60001",
        "Your test is overdue",
        "Please book a tester this week.",
    ):
        assert text in first_page, text
    assert ModelLogEntry.objects.filter(action=history.LETTERS_DOWNLOADED).count() == 1

    page = inspect(web, letter).content.decode()
    assert "data-letter-download" in page and "data-mark-mailed-form" in page
    web.post(reverse("wagtail_batchcomms_logs:mark_mailed", args=[letter.pk]))
    letter.refresh_from_db()
    assert letter.status == CommunicationStatus.SENT and letter.sent_by is not None


def test_letter_from_a_template(web, site):
    letter = record(web, site, kind="letter", send_now="on", template=site.template.pk, subject="")
    tasks.make_one_time_letter(letter.pk)
    with letter_storage().open(letter_file_name(letter.pk), "rb") as handle:
        text = read_pdf(handle.read()).pages[0].extract_text()
    assert "Dear Olive Owner" in text and site.location.account_number in text


def test_the_letter_download_is_permission_checked(client, web, site):
    letter = record(web, site, kind="letter", send_now="on", subject="S", body="B")
    tasks.make_one_time_letter(letter.pk)
    url = reverse("wagtail_batchcomms_logs:letter", args=[letter.pk])
    reader = factories.user(
        "viewer", perms=[factories.ADMIN_ACCESS, "wagtail_batchcomms.view_communication"]
    )
    client.force_login(reader)
    response = client.get(url)
    assert response.status_code in (302, 403) and response.get("Content-Type") != "application/pdf"
    assert client.post(
        reverse("wagtail_batchcomms_logs:mark_mailed", args=[letter.pk])
    ).status_code in (302, 403)
    letter.refresh_from_db()
    assert letter.status == CommunicationStatus.PENDING
    # Whoever may download a batch's letters may download this one.
    sender = org_admin("sender")
    client.force_login(sender)
    assert client.get(url).status_code == 200


# --- the Communication Log ----------------------------------------------------------------------


@pytest.fixture
def mixed(web, site, logger_):
    """A generated batch's notices at the site, and two one-time communications."""
    batch = generate(make_batch(logger_, site.template, name="Spring batch"), logger_)
    call = record(web, site, subject='=HYPERLINK("http://evil.example")', outcome="+1 booked")
    email = record(web, site, kind="email", send_now="on", subject="Free text", body="Hello")
    return batch, call, email


def test_the_log_lists_one_time_communications_with_made_by(web, mixed):
    batch, call, email = mixed
    response = web.get(reverse(LOG))
    assert response.status_code == 200
    listed = {row.pk for row in response.context["object_list"]}
    assert {call.pk, email.pk} <= listed
    assert Communication.objects.filter(batch=batch).exists()
    assert set(Communication.objects.filter(batch=batch).values_list("pk", flat=True)) <= listed
    text = response.content.decode()
    assert "Logged: Phone call by logger" in text and "Spring batch" in text
    assert "+1 booked" in text

    logged = web.get(reverse(LOG), {"made_by": "logged"}).context["object_list"]
    assert {row.pk for row in logged} == {call.pk, email.pk}
    batches = web.get(reverse(LOG), {"made_by": "batch"}).context["object_list"]
    assert {row.pk for row in batches} == set(
        Communication.objects.filter(batch=batch).values_list("pk", flat=True)
    )
    assert not web.get(reverse(LOG), {"made_by": "automatic"}).context["object_list"]
    kind = web.get(reverse(LOG), {"kind": "email"}).context["object_list"]
    assert {row.pk for row in kind} == {email.pk}


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_exports_list_logs_with_formulas_as_text(web, mixed, fmt):
    response = web.get(reverse(LOG), {"made_by": "logged", "export": fmt})
    assert response.status_code == 200
    content = b"".join(response.streaming_content) if response.streaming else response.content
    if fmt == "csv":
        rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    else:
        sheet = openpyxl.load_workbook(io.BytesIO(content)).active
        rows = [["" if v is None else v for v in row] for row in sheet.iter_rows(values_only=True)]
    heading, *body = rows
    assert len(body) == 2
    for column in ("Batch", "Made by", "Kind", "When", "Subject", "Outcome", "Notes", "Logged by"):
        assert column in heading, column
    by_subject = {row[heading.index("Kind")]: row for row in body}
    phone = by_subject["Phone call"]
    assert phone[heading.index("Batch")] == ""
    assert phone[heading.index("Made by")] == "Logged: Phone call"
    assert phone[heading.index("Subject")] == '\'=HYPERLINK("http://evil.example")'
    assert phone[heading.index("Outcome")] == "'+1 booked"
    assert phone[heading.index("Logged by")] == "logger"


def test_email_preview_of_a_one_time_email(web, mixed):
    _batch, call, email = mixed
    response = web.get(reverse("wagtail_batchcomms_batch:preview_email", args=[email.pk]))
    assert response.status_code == 200
    assert "Hello" in response.content.decode()
    page = inspect(web, email).content.decode()
    assert "Back to the batch" not in page and "data-email-waiting" in page
    # A phone call has no message to preview.
    assert "Email preview" not in inspect(web, call).content.decode()


@pytest.mark.parametrize("page", ["assembly", "location", "contact"])
def test_register_pages_show_one_time_communications(web, mixed, site, page):
    instance = {"assembly": site.assembly, "location": site.location, "contact": site.owner}[page]
    response = web.get(instance.get_admin_url().replace("/edit/", "/inspect/"))
    text = response.content.decode()
    assert "data-made-by" in text and "Logged" in text
    assert "Free text" in text and "Phone call" in text
    edit = web.get(instance.get_admin_url()).content.decode()
    assert "Free text" in edit


def test_an_assembly_page_shows_a_log_about_its_location_but_not_another_assembly(web, site):
    other = factories.assembly(site.location)
    about_other = record(web, site, assembly=other.pk, subject="About the other one")
    about_all = record(web, site, subject="About the whole site")
    page = web.get(site.assembly.get_admin_url().replace("/edit/", "/inspect/")).content.decode()
    assert "About the whole site" in page and "About the other one" not in page
    listed = web.get(reverse(LOG), {"assembly": site.assembly.pk}).context["object_list"]
    assert {row.pk for row in listed} == {about_all.pk}
    assert about_other.assembly == other
