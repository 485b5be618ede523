"""Returned mail: marking letters as returned (bulk and single), the contact's address flag,
and where it shows (Communication Log, letter page, batch page, contact page, exports)."""

from __future__ import annotations

import csv
import io

import factories
import letters_data as data
import pytest
from django.urls import reverse
from django.utils import timezone
from wagtail.models import ModelLogEntry

from wagtail_batchcomms import history
from wagtail_batchcomms.exceptions import LetterError
from wagtail_batchcomms.letters.downloads import mark_letters_mailed
from wagtail_batchcomms.letters.returned import clear_address_flag, mark_returned
from wagtail_batchcomms.models import Channel, Communication, Contact

pytestmark = pytest.mark.django_db

BULK_URL = reverse(
    "wagtail_bulk_action", args=["wagtail_batchcomms", "communication", "mark_returned"]
)
LOG_URL = reverse("wagtail_batchcomms_communication:index")
RETURNER = [
    "wagtail_batchcomms.mark_returned_communication",
    "wagtail_batchcomms.view_communication",
]


@pytest.fixture
def mailed(superuser):
    """A batch of four letters, three of them mailed, each to its own contact."""
    batch = data.letter_batch(4)
    rows = list(data.letters(batch))
    mark_letters_mailed(batch.pk, user=superuser)
    Communication.objects.filter(pk=rows[3].pk).update(status="pending", sent_at=None)
    return batch, list(data.letters(batch))


@pytest.fixture
def returner(db):
    return factories.user("returner", perms=[factories.ADMIN_ACCESS, *RETURNER])


def test_marks_only_mailed_letters_once_and_records_it(mailed, returner):
    batch, rows = mailed
    email = Communication.objects.create(
        batch=batch,
        location=rows[0].location,
        channel=Channel.EMAIL,
        status="sent",
        recipient_name="e",
        email="e@example.com",
    )
    result = mark_returned([rows[0].pk, rows[1].pk, rows[3].pk, email.pk], user=returner)
    assert (result.marked, result.already, result.not_mailed) == (2, 0, 2)
    marked = Communication.objects.filter(returned_at__isnull=False)
    assert set(marked.values_list("pk", flat=True)) == {rows[0].pk, rows[1].pk}
    assert set(marked.values_list("returned_by", flat=True)) == {returner.pk}
    # A double click: nothing marked twice, nothing logged twice.
    again = mark_returned([rows[0].pk, rows[1].pk], user=returner)
    assert (again.marked, again.already) == (0, 2)
    entries = ModelLogEntry.objects.filter(action=history.LETTERS_RETURNED, object_id=str(batch.pk))
    assert [e.data["letters"] for e in entries] == [2]
    # Nothing is deleted: the letters stay, sent and returned.
    assert data.letters(batch).count() == 4
    assert Communication.objects.get(pk=rows[0].pk).status == "sent"


def test_needs_the_permission(mailed):
    _batch, rows = mailed
    viewer = factories.user("viewer", perms=["wagtail_batchcomms.view_communication"])
    with pytest.raises(LetterError):
        mark_returned([rows[0].pk], user=viewer)
    assert not Communication.objects.filter(returned_at__isnull=False).exists()


def test_flag_sets_the_contacts_once(mailed, returner):
    _batch, rows = mailed
    result = mark_returned([rows[0].pk], user=returner, flag_address=True)
    assert result.flagged == 1
    contact = Contact.objects.get(pk=rows[0].contact_id)
    first = contact.mailing_address_bad_since
    assert first is not None
    assert mark_returned([rows[0].pk], user=returner, flag_address=True).flagged == 0
    contact.refresh_from_db()
    assert contact.mailing_address_bad_since == first
    assert Contact.objects.filter(mailing_address_bad_since__isnull=False).count() == 1
    assert clear_address_flag(contact.pk, user=factories.user("clerk", superuser=True))
    contact.refresh_from_db()
    assert contact.mailing_address_bad_since is None


def test_bulk_action_confirm_and_post(client, mailed, returner):
    _batch, rows = mailed
    client.force_login(returner)
    query = f"?id={rows[0].pk}&id={rows[1].pk}&id={rows[3].pk}&next={LOG_URL}"
    page = client.get(BULK_URL + query).content.decode()
    assert page.count("data-returned-item") == 2
    assert "not a mailed letter" in page
    assert "Flag the contact" in page
    response = client.post(BULK_URL + query, {"flag_address": "on"})
    assert response.status_code == 302 and response["Location"] == LOG_URL
    assert Communication.objects.filter(returned_at__isnull=False).count() == 2
    assert Contact.objects.filter(mailing_address_bad_since__isnull=False).count() == 2
    # Posting the same page again (a double click that got through): nothing more.
    client.post(BULK_URL + query, {"flag_address": "on"})
    assert Communication.objects.filter(returned_at__isnull=False).count() == 2


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        # The Log's search (a recipient's name) and its filters narrow "select all".
        (lambda rows: f"q={rows[1].recipient_name}", lambda rows: {rows[1].pk}),
        (lambda rows: f"contact={rows[2].contact_id}", lambda rows: {rows[2].pk}),
        (lambda rows: "channel=email", lambda rows: set()),
        # No filter: every mailed letter (the unmailed fourth is never markable).
        (lambda rows: "", lambda rows: {rows[0].pk, rows[1].pk, rows[2].pk}),
        # An invalid filter selects nothing rather than everything.
        (lambda rows: "contact=not-a-number", lambda rows: set()),
    ],
)
def test_select_all_applies_the_logs_filters_and_search(client, mailed, returner, query, expected):
    _batch, rows = mailed
    client.force_login(returner)
    url = f"{BULK_URL}?id=all&{query(rows)}&next={LOG_URL}"
    page = client.get(url)
    assert page.status_code == 200
    assert page.content.decode().count("data-returned-item") == len(expected(rows))
    client.post(url, {})
    marked = Communication.objects.filter(returned_at__isnull=False)
    assert set(marked.values_list("pk", flat=True)) == expected(rows)


def test_bulk_action_refused_without_permission(client, mailed):
    _batch, rows = mailed
    viewer = factories.user(
        "viewer", perms=[factories.ADMIN_ACCESS, "wagtail_batchcomms.view_communication"]
    )
    client.force_login(viewer)
    # Wagtail's admin answers a refusal by going back to the dashboard with a message.
    for response in (
        client.get(f"{BULK_URL}?id={rows[0].pk}"),
        client.post(f"{BULK_URL}?id={rows[0].pk}", {"flag_address": "on"}),
    ):
        assert response.status_code == 302 and response["Location"] == reverse("wagtailadmin_home")
    assert not Communication.objects.filter(returned_at__isnull=False).exists()
    # No checkboxes or button for this user.
    page = client.get(LOG_URL).content.decode()
    assert "bulk-action-checkbox" not in page
    detail = reverse("wagtail_batchcomms_communication:inspect", args=[rows[0].pk])
    assert "data-mark-returned" not in client.get(detail).content.decode()


def test_single_letter_button_log_column_filter_and_export(client, mailed, returner):
    _batch, rows = mailed
    client.force_login(returner)
    detail = reverse("wagtail_batchcomms_communication:inspect", args=[rows[0].pk])
    page = client.get(detail).content.decode()
    assert "data-mark-returned" in page
    unmailed = reverse("wagtail_batchcomms_communication:inspect", args=[rows[3].pk])
    assert "data-mark-returned" not in client.get(unmailed).content.decode()
    response = client.post(f"{BULK_URL}?id={rows[0].pk}&next={detail}", {})
    assert response["Location"] == detail
    page = client.get(detail).content.decode()
    assert "Marked as returned by" in page and "data-mark-returned" not in page

    log = client.get(LOG_URL).content.decode()
    assert "bulk-action-checkbox" in log and "Mark as returned" in log
    returned = client.get(LOG_URL, {"returned": "true"}).content.decode()
    assert returned.count('class="bulk-action-checkbox"') == 1
    others = client.get(LOG_URL, {"returned": "false"}).content.decode()
    assert others.count('class="bulk-action-checkbox"') == 3
    export = client.get(LOG_URL, {"export": "csv"})
    text = b"".join(export.streaming_content).decode()
    by_name = {row["Recipient"]: row for row in csv.DictReader(io.StringIO(text))}
    assert by_name[rows[0].recipient_name]["Returned"]
    assert by_name[rows[1].recipient_name]["Returned"] == ""


def test_batch_page_counts_returned_letters(client, mailed, superuser):
    batch, rows = mailed
    client.force_login(superuser)
    url = reverse("wagtail_batchcomms_batch:detail", args=[batch.pk])
    assert "data-returned-letters" not in client.get(url).content.decode()
    mark_returned([rows[0].pk, rows[2].pk], user=superuser)
    page = client.get(url).content.decode()
    assert "data-returned-letters" in page and "2 letters came back" in page
    listing = reverse("wagtail_batchcomms_batch:communications", args=[batch.pk])
    returned = client.get(listing, {"returned": "true"}).content.decode()
    assert rows[0].recipient_name in returned and rows[1].recipient_name not in returned


def test_contact_page_flag_clear_and_edit(client, superuser):
    client.force_login(superuser)
    contact = factories.contact(
        mailing_address_line1="PO Box 1",
        mailing_city="Riverbend",
        mailing_postal_code="62701",
        mailing_address_bad_since=timezone.now(),
    )
    inspect = reverse("wagtailsnippets_wagtail_batchcomms_contact:inspect", args=[contact.pk])
    page = client.get(inspect).content.decode()
    assert "data-address-flag" in page and "Clear flag" in page
    clear = reverse("wagtail_batchcomms_communication:clear_address_flag", args=[contact.pk])
    assert client.post(clear, HTTP_REFERER=inspect)["Location"] == inspect
    contact.refresh_from_db()
    assert contact.mailing_address_bad_since is None
    assert "data-address-flag" not in client.get(inspect).content.decode()

    # Editing the mailing address clears the flag; editing something else does not.
    Contact.objects.filter(pk=contact.pk).update(mailing_address_bad_since=timezone.now())
    edit = reverse("wagtailsnippets_wagtail_batchcomms_contact:edit", args=[contact.pk])
    assert "data-address-flag" in client.get(edit).content.decode()
    form = {
        "name": contact.name,
        "organisation": "",
        "email": contact.email,
        "phone": "",
        "mailing_address_line1": "PO Box 1",
        "mailing_address_line2": "",
        "mailing_city": "Riverbend",
        "mailing_state": "",
        "mailing_postal_code": "62701",
    }
    client.post(edit, {**form, "phone": "555"})
    contact.refresh_from_db()
    assert contact.phone == "555" and contact.mailing_address_bad_since is not None
    client.post(edit, {**form, "mailing_address_line1": "PO Box 2"})
    contact.refresh_from_db()
    assert contact.mailing_address_line1 == "PO Box 2"
    assert contact.mailing_address_bad_since is None
    assert (
        ModelLogEntry.objects.filter(
            action=history.ADDRESS_FLAG_CLEARED, object_id=str(contact.pk)
        ).count()
        == 2
    )


def test_clear_flag_needs_change_permission(client):
    contact = factories.contact(mailing_address_bad_since=timezone.now())
    viewer = factories.user(
        "viewer", perms=[factories.ADMIN_ACCESS, "wagtail_batchcomms.view_contact"]
    )
    client.force_login(viewer)
    clear = reverse("wagtail_batchcomms_communication:clear_address_flag", args=[contact.pk])
    assert client.post(clear)["Location"] == reverse("wagtailadmin_home")
    contact.refresh_from_db()
    assert contact.mailing_address_bad_since is not None
