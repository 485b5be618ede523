"""Providers' tracking webhooks: signed Postmark payloads posted to anymail's real tracking
view reach our receiver, which appends the events to the communication, keeps its latest
delivery status, ignores repeats and unknown messages, and flags the contact's email on a
hard bounce, after which generation sends a letter (or skips with "Email address bounced")."""

from __future__ import annotations

from collections import Counter

import factories
import pytest
from anymail_data import addresses, post_postmark, postmark_event, provider_answers, use_anymail
from django.urls import reverse
from django.utils import timezone
from wagtail.models import ModelLogEntry

from wagtail_batchcomms import history
from wagtail_batchcomms.batches import generation
from wagtail_batchcomms.batches.generation import preview_generation
from wagtail_batchcomms.batches.lifecycle import create_batch, start_generation
from wagtail_batchcomms.emails.sending import send_pending_emails
from wagtail_batchcomms.jobs import worker_id
from wagtail_batchcomms.models import (
    Assembly,
    Channel,
    Communication,
    CommunicationStatus,
    Contact,
    DeliveryEvent,
    SkippedRecipient,
)

pytestmark = pytest.mark.django_db

BOTH_FIRST_AVAILABLE = {"contact_methods": "both", "first_available_only": True}
EMAIL_ONLY = {"contact_methods": "email", "first_available_only": False}


def generate(user, template, name: str):
    batch = create_batch(
        user=user,
        name=name,
        template=template,
        due_date=timezone.localdate(),
        assemblies=Assembly.objects.all(),
    )
    preview = preview_generation(batch)
    batch = start_generation(batch.pk, user=user)
    generation.generate(batch.pk, batch.task_token)
    return batch, preview


@pytest.fixture
def sent_email(settings, superuser):
    """One contact at one location, emailed through anymail (test backend) and sent."""
    use_anymail(settings)
    location = factories.location()
    contact = factories.contact(email="Owner@Customers.example")
    factories.role(location, contact)
    factories.assembly(location)
    template = factories.notice_template(**BOTH_FIRST_AVAILABLE)
    batch, _preview = generate(superuser, template, "First notice")
    with provider_answers(lambda message: dict.fromkeys(addresses(message), "sent")):
        send_pending_emails(batch.pk, worker_id())
    row = Communication.objects.get(batch=batch)
    assert row.channel == Channel.EMAIL and row.status == CommunicationStatus.SENT
    assert row.provider_message_id
    return row


def test_unsigned_webhook_is_refused(client, sent_email):
    response = post_postmark(
        client, postmark_event(sent_email.provider_message_id, sent_email.email), signed=False
    )
    assert response.status_code == 400
    assert not DeliveryEvent.objects.exists()


def test_delivered_then_bounced_appends_events_and_keeps_the_send_record(client, sent_email):
    sent_at = sent_email.sent_at
    delivered = postmark_event(sent_email.provider_message_id, sent_email.email, "Delivery")
    assert post_postmark(client, delivered).status_code == 200
    sent_email.refresh_from_db()
    assert sent_email.delivery_status == "delivered"

    bounce = postmark_event(sent_email.provider_message_id, sent_email.email)
    assert post_postmark(client, bounce).status_code == 200

    sent_email.refresh_from_db()
    assert sent_email.delivery_status == "bounced"
    # The send record is untouched: still sent, same time, same answer.
    assert (sent_email.status, sent_email.sent_at) == (CommunicationStatus.SENT, sent_at)
    events = list(sent_email.delivery_events.order_by("occurred_at"))
    assert [e.event_type for e in events] == ["delivered", "bounced"]
    bounced = events[1]
    assert bounced.raw_event_type == "Bounce/HardBounce"
    assert bounced.reject_reason == "bounced"
    assert "unable to deliver" in bounced.description
    assert bounced.mta_response.startswith("smtp;550 5.1.1")
    assert bounced.esp_name == "Postmark"

    # A late report of an earlier event does not replace the latest status.
    old = postmark_event(
        sent_email.provider_message_id,
        sent_email.email,
        "Delivery",
        DeliveredAt="2026-12-07T09:00:00Z",
        Details="a retried delivery report",
    )
    assert post_postmark(client, old).status_code == 200
    sent_email.refresh_from_db()
    assert sent_email.delivery_status == "bounced"
    assert sent_email.delivery_events.count() == 3

    # In the communication's history.
    entry = ModelLogEntry.objects.filter(action=history.DELIVERY_EVENT).get()
    assert entry.object_id == str(sent_email.pk)
    assert entry.message.startswith("Email bounced: Owner@Customers.example; The server")


def test_repeated_event_is_recorded_once(client, sent_email):
    bounce = postmark_event(sent_email.provider_message_id, sent_email.email)
    for _attempt in range(3):
        assert post_postmark(client, bounce).status_code == 200
    assert DeliveryEvent.objects.count() == 1
    assert ModelLogEntry.objects.filter(action=history.DELIVERY_EVENT).count() == 1
    assert ModelLogEntry.objects.filter(action=history.EMAIL_FLAGGED).count() == 1


def test_unknown_message_id_is_ignored(client, sent_email):
    response = post_postmark(client, postmark_event("not-one-of-ours", sent_email.email))
    assert response.status_code == 200
    assert not DeliveryEvent.objects.exists()
    assert Contact.objects.get(pk=sent_email.contact_id).email_bounced_since is None


def test_soft_bounce_and_complaint_do_not_flag_the_contact(client, sent_email):
    soft = postmark_event(sent_email.provider_message_id, sent_email.email, Type="SoftBounce")
    complaint = postmark_event(sent_email.provider_message_id, sent_email.email, "SpamComplaint")
    assert post_postmark(client, soft).status_code == 200
    assert post_postmark(client, complaint).status_code == 200
    sent_email.refresh_from_db()
    assert sent_email.delivery_status == "complained"
    assert Contact.objects.get(pk=sent_email.contact_id).email_bounced_since is None


def test_hard_bounce_flags_the_contact_and_the_next_generation_sends_a_letter(
    client, sent_email, superuser
):
    bounce = postmark_event(sent_email.provider_message_id, sent_email.email)
    assert post_postmark(client, bounce).status_code == 200
    contact = Contact.objects.get(pk=sent_email.contact_id)
    assert contact.email_bounced_since is not None
    flagged = ModelLogEntry.objects.get(action=history.EMAIL_FLAGGED)
    assert flagged.object_id == str(contact.pk)

    # Both methods, first available only: a letter instead of the email.
    template = factories.notice_template(**BOTH_FIRST_AVAILABLE)
    batch, preview = generate(superuser, template, "Second notice")
    made = Counter(Communication.objects.filter(batch=batch).values_list("channel", flat=True))
    assert made == {"letter": 1}
    assert (preview.emails, preview.letters) == (0, 1)

    # Email only: skipped, with the reason; the dry run says the same.
    template = factories.notice_template(**EMAIL_ONLY)
    batch, preview = generate(superuser, template, "Email-only notice")
    assert not Communication.objects.filter(batch=batch).exists()
    reasons = list(SkippedRecipient.objects.filter(batch=batch).values_list("reason", flat=True))
    assert reasons == ["email_bounced"]
    assert preview.skipped == {"email_bounced": 1}
    assert SkippedRecipient(reason="email_bounced").get_reason_display() == "Email address bounced"


def test_a_bounce_of_an_address_the_contact_no_longer_has_flags_nothing(client, sent_email):
    Contact.objects.filter(pk=sent_email.contact_id).update(email="new@customers.example")
    bounce = postmark_event(sent_email.provider_message_id, sent_email.email)
    assert post_postmark(client, bounce).status_code == 200
    assert Contact.objects.get(pk=sent_email.contact_id).email_bounced_since is None
    assert DeliveryEvent.objects.count() == 1  # still recorded on the communication


def test_bounce_of_a_copy_is_recorded_but_flags_nothing(client, sent_email):
    bounce = postmark_event(sent_email.provider_message_id, "office@utility.example")
    assert post_postmark(client, bounce).status_code == 200
    sent_email.refresh_from_db()
    assert sent_email.delivery_status == ""
    assert sent_email.delivery_events.get().recipient == "office@utility.example"
    assert Contact.objects.get(pk=sent_email.contact_id).email_bounced_since is None


def test_clear_flag_and_editing_the_email_clear_it(admin_client, sent_email, superuser):
    Contact.objects.filter(pk=sent_email.contact_id).update(email_bounced_since=timezone.now())
    contact = Contact.objects.get(pk=sent_email.contact_id)

    page = admin_client.get(
        reverse("wagtailsnippets_wagtail_batchcomms_contact:inspect", args=[contact.pk])
    )
    assert b"data-email-flag" in page.content

    url = reverse("wagtail_batchcomms_communication:clear_email_flag", args=[contact.pk])
    assert admin_client.post(url).status_code == 302
    contact.refresh_from_db()
    assert contact.email_bounced_since is None
    entry = ModelLogEntry.objects.get(action=history.EMAIL_FLAG_CLEARED)
    assert entry.data == {"by": "admin"}

    # Editing the email in the contact form clears a new flag too.
    Contact.objects.filter(pk=contact.pk).update(email_bounced_since=timezone.now())
    edit = reverse("wagtailsnippets_wagtail_batchcomms_contact:edit", args=[contact.pk])
    form = admin_client.get(edit).context["form"]
    data = {name: value for name, value in form.initial.items() if value is not None}
    data.update(email="fixed@customers.example", name=contact.name)
    data.update(_formset_management(form))
    response = admin_client.post(edit, data)
    assert response.status_code == 302, response.context["form"].errors
    contact.refresh_from_db()
    assert contact.email == "fixed@customers.example"
    assert contact.email_bounced_since is None
    assert ModelLogEntry.objects.filter(action=history.EMAIL_FLAG_CLEARED).count() == 2


def _formset_management(form) -> dict:
    data = {}
    for prefix, formset in form.formsets.items():
        data[f"{prefix}-TOTAL_FORMS"] = "0"
        data[f"{prefix}-INITIAL_FORMS"] = "0"
        data[f"{prefix}-MIN_NUM_FORMS"] = "0"
        data[f"{prefix}-MAX_NUM_FORMS"] = "1000"
        assert formset is not None
    return data


def test_communication_page_shows_the_reports(admin_client, client, sent_email):
    post_postmark(client, postmark_event(sent_email.provider_message_id, sent_email.email))
    url = reverse("wagtail_batchcomms_communication:inspect", args=[sent_email.pk])
    page = admin_client.get(url).content.decode()
    assert 'data-delivery-status="bounced"' in page
    assert 'data-delivery-event="bounced"' in page
    assert sent_email.provider_message_id in page
    listing = admin_client.get(
        reverse("wagtail_batchcomms_communication:index"), {"delivery_status": "bounced"}
    ).content.decode()
    assert f"communication_{sent_email.pk}_title" in listing
    other = admin_client.get(
        reverse("wagtail_batchcomms_communication:index"), {"delivery_status": "delivered"}
    ).content.decode()
    assert f"communication_{sent_email.pk}_title" not in other


def test_exports_carry_the_delivery_reported(admin_client, client, sent_email):
    """The Communication Log's and the batch's exports (CSV and XLSX) have a Delivery column
    with what the provider reported."""
    import csv
    import io

    import openpyxl

    post_postmark(client, postmark_event(sent_email.provider_message_id, sent_email.email))
    urls = (
        reverse("wagtail_batchcomms_communication:index"),
        reverse("wagtail_batchcomms_batch:communications", args=[sent_email.batch_id]),
    )
    for url in urls:
        for fmt in ("csv", "xlsx"):
            response = admin_client.get(url, {"export": fmt})
            assert response.status_code == 200, (url, fmt)
            body = b"".join(response.streaming_content) if response.streaming else response.content
            if fmt == "csv":
                rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
            else:
                sheet = openpyxl.load_workbook(io.BytesIO(body)).active
                rows = [list(row) for row in sheet.iter_rows(values_only=True)]
            heading, *data = rows
            assert "Delivery" in heading, (url, fmt, heading)
            assert [row[heading.index("Delivery")] for row in data] == ["Bounced"], (url, fmt)


@pytest.mark.parametrize(
    ("event", "fields", "status", "flags"),
    [
        # A permanent failure of a bad mailbox: a hard bounce.
        ("failed", {"severity": "permanent", "reason": "bounce"}, "bounced", True),
        ("failed", {"severity": "permanent", "reason": "suppress-bounce"}, "bounced", True),
        # A temporary failure: anymail reports it as deferred; nothing is flagged.
        ("failed", {"severity": "temporary", "reason": "generic"}, "deferred", False),
        # A permanent failure for another reason (policy, size...): not the address.
        ("failed", {"severity": "permanent", "reason": "generic"}, "bounced", False),
        ("delivered", {}, "delivered", False),
        ("complained", {}, "complained", False),
    ],
)
def test_mailgun_events_signed_with_its_key(
    client, sent_email, settings, event, fields, status, flags
):
    """Mailgun's webhooks (HMAC-signed JSON) through anymail's real view: the same events,
    the same rule for what flags the contact."""
    from anymail_data import MAILGUN_SIGNING_KEY, mailgun_event, post_mailgun

    settings.ANYMAIL = {**settings.ANYMAIL, "MAILGUN_WEBHOOK_SIGNING_KEY": MAILGUN_SIGNING_KEY}
    # Mailgun's send response names the message "<...@domain>" (anymail keeps it as is).
    sent_email.provider_message_id = "<20261207.1234.5678@mg.riverbend.example>"
    Communication.objects.filter(pk=sent_email.pk).update(
        provider_message_id=sent_email.provider_message_id
    )
    payload = mailgun_event(sent_email.provider_message_id, sent_email.email, event, **fields)
    assert post_mailgun(client, payload).status_code == 200
    sent_email.refresh_from_db()
    assert sent_email.delivery_status == status
    assert sent_email.status == CommunicationStatus.SENT  # the send record stays
    recorded = DeliveryEvent.objects.get(communication=sent_email)
    assert recorded.esp_name.lower() == "mailgun" and recorded.raw_event_type.startswith(event)
    flagged = Contact.objects.get(pk=sent_email.contact_id).email_bounced_since is not None
    assert flagged is flags

    # A forged signature is refused and records nothing.
    forged = mailgun_event(sent_email.provider_message_id, sent_email.email, "failed")
    forged["signature"]["signature"] = "0" * 64
    assert post_mailgun(client, forged).status_code == 400
    assert DeliveryEvent.objects.filter(communication=sent_email).count() == 1
